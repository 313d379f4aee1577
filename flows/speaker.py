"""Who is writing: the student, or a parent writing for them ("soy mamá de un alumno").

Parents often write on the student's behalf: "mi hijo no sabe su NSS", "es para mi hija",
"le escribo por mi hijo". The bot still speaks tú to the writer, but about the student's data
and steps it says "tu hijo(a)" (the ``*_relative`` variants of messages.yaml, ``answer_relative``
of a topic, ``privacy_notice_relative`` of desk.yaml). :func:`note` remembers it in the state
(``state["relative"]``) until the writer says they are the student ("ya soy yo, el alumno").

A student talking about their family is not a relative speaking: "mi mamá me dijo que…", "mi papá
trabaja y tengo IMSS por él", "¿el seguro cubre a mi hijo?" (the student's own child). So only a
parent's words about their child count, and the child's coverage asked by the insured is left out.
Pure: no I/O; the text is folded here (accents and case do not matter).
"""
from __future__ import annotations

import re
from typing import Any

from flows import intents

#: The key of the conversation state that says a relative is writing for the student.
STATE_KEY = "relative"

_KID = r"(?:hij[oa]|hijit[oa])"
_PARENT = r"(?:mama|mami|papa|papi|madre|padre|tutor|tutora|mama o papa|papa o mama)"
_STUDENT = r"(?:alumn[oa]|estudiante)"
#: What the student has or does in the procedure, said of them in the third person ("su NSS").
_THEIR = (r"(?:nss|numero|curp|solicitud|matricula|id|datos|contrasena|seguro|vigencia|constancia|"
          r"clinica|umf|correo|tramite|cia|registro|alta|reporte|cuenta)")
#: A parent's child told doing (or not managing) the procedure ("mi hijo no sabe …", "mi hija ya guardó").
#: Not "está", "tiene", "necesita": "mi hijo está enfermo" is as likely the student's own child.
_KID_DOES = (r"(?:sabe|puede|encuentra|hizo|guardo|registro|lleno|metio|envio|mando|saco|le sale|"
             r"aparece|le aparece|sigue|se equivoco|puso|intento|me dice|me dijo|"
             r"estudia|entro|ingreso|se inscribio|se reinscribio)")

_RELATIVE = re.compile("|".join((
    # "soy mamá de un alumno", "soy la mamá de Juan", "soy su papá", "soy el papá"
    rf"\bsoy (?:la |el |su )?{_PARENT} (?:de|del)\b(?! familia)",
    rf"\bsoy (?:su|la|el) {_PARENT}\b",
    r"\bsomos (?:sus|los) (?:papas|padres)\b",
    # "le escribo por mi hijo", "de parte de mi hija", "es para mi hija", "pregunto por mi hijo"
    rf"\b(?:escribo|pregunto|consulto|vengo|hablo|llamo) (?:por|de parte de|en nombre de|a nombre de) mi {_KID}\b",
    rf"\b(?:de parte|en nombre|a nombre|por parte) de mi {_KID}\b",
    rf"(?<!tambien )(?<!igual )\bes para mi {_KID}\b(?! (?:tambien|igual)\b)",
    rf"\b(?:es )?sobre el (?:seguro|tramite) de mi {_KID}\b",
    # "mi hijo estudia en el ITSON", "mi hija es alumna", "… él estudia en ITSON", "el seguro de la escuela"
    rf"\bmi {_KID}\b.*\b(?:itson|{_STUDENT}|estudia|universidad|semestre|carrera|escuela)\b",
    # "mi hijo no sabe su NSS", "mi hija ya guardó su solicitud", "¿dónde tiene que hacer mi hijo la solicitud?"
    rf"\bmi {_KID}\b(?: \w+){{0,8}} sus? {_THEIR}\b",
    rf"\bmi {_KID}\b(?: \w+){{0,3}} la solicitud\b",
    # "el NSS de mi hija", "la solicitud de mi hijo"
    rf"\b{_THEIR}(?: \w+){{0,2}} de mi {_KID}\b",
    # "mi hijo no puede entrar al CIA", "mi hija ya guardó …", "mi hijo este ya hizo lo del seguro"
    rf"\bmi {_KID}(?: \w+){{0,2}} (?:no |ya |todavia no |aun no |tampoco |nomas |solo )?{_KID_DOES}\b",
    rf"\bmi {_KID} se llama\b",
    # the parent and the student together: "mi hija … ¿qué hacemos?", "no sabemos si tiene seguro"
    rf"\bmi {_KID}\b.*\b(?:sabemos|hacemos|hicimos|checamos|fuimos|podemos|debemos|tramitamos|registramos)\b",
    # "mi hija … la tengo como beneficiaria en mi trabajo", "está asegurado como beneficiario mío"
    rf"\bmi {_KID}\b.*\b(?:(?:la|lo) tengo (?:como beneficiari|en mi|asegurad)|beneficiari[oa] mi[oa])",
)))
#: The insured asking about their own child ("¿el seguro cubre a mi hijo?", "mi hija está enferma,
#: ¿me la cubre mi seguro?", "¿puedo meter a mi hijo?"): the child is not the student here.
_OWN_CHILD = re.compile(
    rf"\b(?:cubre|cubren|cubriria|cubrir|cubrira|asegurar|afiliar|incluir|agregar|meter|inscribir|poner) "
    rf"(?:a )?mis? {_KID}"
    rf"|\bmis? {_KID}s?\b.*\b(?:me (?:lo|la) cubre|mi seguro|mi nss|mi solicitud|mi vigencia)\b"
    rf"|\b(?:seguro|usar el seguro|sirve) (?:para|a) mis? {_KID}"
    rf"|\bmis {_KID}s\b")
#: Cues of a parent that hold whatever else the message says ("soy mamá de un alumno", "… y la
#: tengo en mi seguro": "mi seguro" is the parent's there).
_STRONG = re.compile("|".join((
    rf"\bsoy (?:la |el |su )?{_PARENT} (?:de|del)\b(?! familia)",
    rf"\bsoy (?:su|la|el) {_PARENT}\b",
    rf"\b(?:escribo|pregunto|consulto) (?:por|de parte de|en nombre de|a nombre de) mi {_KID}\b",
    # "mi hija estudia en ITSON y la tengo en mi seguro del IMSS como beneficiaria"
    rf"\bmi {_KID}\b.*\b(?:la|lo) tengo (?:como beneficiari|en mi|asegurad)",
)))
#: The student says it is them writing now ("ya soy yo, el alumno", "soy la estudiante").
_SELF = re.compile("|".join((
    r"\bya soy yo\b",
    rf"\bsoy yo\b(?: \w+){{0,3}} {_STUDENT}\b",
    rf"\b(?:yo )?soy (?:el |la |su )?{_STUDENT}\b",
    rf"\b(?:te |le )?(?:escribe|habla) (?:el |la )?{_STUDENT}\b",
    rf"\bahora (?:te |le )?(?:escribe|habla) (?:yo|mi {_KID})\b",
    rf"\bsoy (?:yo )?(?:el|la|su) {_KID}\b",
)))


def speaks_for_student(text: str) -> bool | None:
    """Whether ``text`` says a relative is writing for the student (True), that the student is the
    one writing (False, "ya soy yo, el alumno"), or neither (None: most messages)."""
    folded = " ".join(intents.words(text))
    if not folded:
        return None
    if _SELF.search(folded):
        return False
    if _STRONG.search(folded):
        return True
    if _RELATIVE.search(folded) and not _OWN_CHILD.search(folded):
        return True
    return None


def note(state: dict[str, Any], text: str) -> bool:
    """Remember in ``state`` who is writing, when ``text`` says it; otherwise leave it as it was.
    True when the student takes over from a relative ("ya soy yo, el alumno"): worth a word."""
    said = speaks_for_student(text)
    if said:
        state[STATE_KEY] = True
    elif said is False:
        return bool(state.pop(STATE_KEY, None))
    return False


def is_relative(state: dict[str, Any] | None) -> bool:
    """Whether a relative is writing for the student in this conversation."""
    return bool((state or {}).get(STATE_KEY))


#: The words that say who writes, and nothing else ("soy la mamá de un alumno de ITSON").
_ANNOUNCE = re.compile(
    rf"\b(?:yo )?(?:soy|somos) (?:la |el |su |sus |los )?(?:{_PARENT}|papas|padres)"
    rf"(?: (?:de|del) (?:un |una |mi |la |el )?(?:{_STUDENT}|{_KID}|muchach[oa]|joven))?"
    rf"|\b(?:le |te |les )?(?:escribo|pregunto|consulto|vengo|hablo)(?: (?:por|de parte de|en nombre de|a nombre de))? mi {_KID}"
    rf"|\b(?:es )?(?:para|de parte de|en nombre de|a nombre de|por parte de) mi {_KID}"
    rf"|\bmi {_KID}")
#: Greetings and filler around an announcement, and where the student studies.
_FILLER = frozenset("""
    hola buenas buen buenos dia dias tarde tardes noche noches que tal disculpe disculpa oiga oye joven
    senorita senor mire perdon una un de del el la en y es este esta pues a le por favor gracias
    itson campus obregon navojoa guaymas empalme centro nainari universidad primer segundo semestre
    nuevo ingreso alumno alumna estudiante ella el quien que va estudia
""".split())
#: Words of the insurance: with one of them the message asks something besides who writes.
_ASKS = frozenset("nss curp seguro solicitud vigencia vigente cia imss clinica umf error tramite"
                  " facultativo requisitos datos reporte".split())


def only_announces(text: str) -> bool:
    """Whether ``text`` only says that a relative writes ("es para mi hija", "soy la mamá de Diego"),
    with nothing asked yet: the greeting's place, not "con eso no te puedo ayudar"."""
    if not speaks_for_student(text):
        return False
    rest = _ANNOUNCE.sub(" ", " ".join(intents.words(text))).split()
    if any(w in _ASKS for w in rest) or "?" in text or intents.is_question(" ".join(rest)):
        return False
    return len([w for w in rest if w not in _FILLER]) <= 2


#: Around "ya soy yo, el alumno": greetings, courtesy, who it is.
_TAKEOVER_FILLER = _FILLER | frozenset("ya yo soy ahora aqui mero hola ok va listo si bueno ahorita "
                                       "te le escribe habla hijo hija alumno alumna estudiante".split())


def only_takes_over(text: str) -> bool:
    """Whether ``text`` only says the student is the one writing now ("ya soy yo, el alumno",
    "hola, ahora te escribe mi hijo"), with nothing else asked or given."""
    if speaks_for_student(text) is not False:
        return False
    rest = _SELF.sub(" ", " ".join(intents.words(text))).split()
    return "?" not in text and all(w in _TAKEOVER_FILLER for w in rest)
