"""Short answers to the bot's own questions: yes, no, menu, "I don't know".

These are read before topics, and only when the bot has just asked
something: "sí" means nothing on its own, but after "¿ya guardaste tu
solicitud?" it moves the procedure on.
"""
from __future__ import annotations

import re

from knowledge.matcher import fold

_WORD = re.compile(r"[a-z0-9]+")

#: Words that mean yes when they open a short answer.
YES_CORE = frozenset({
    "si", "sii", "sip", "sep", "simon", "claro", "ya", "aja", "yes", "yep", "yeah", "ok",
    "okay", "oki", "okey", "va", "sale", "arre", "dale", "correcto", "exacto", "afirmativo",
    "andale", "listo", "perfecto", "confirmo", "enviar", "envialo", "mandalo", "obvio",
    "efectivamente", "cierto", "vale", "yap", "acuerdo", "seguimos", "continuar", "sigamos",
    "adelante", "hecho", "orale", "tabien", "stabien", "acepto", "aceptado",
})
#: Phrases that mean yes as a whole ("está bien", "así es"), whatever their first word.
YES_PHRASES = (
    "esta bien", "todo bien", "todo esta bien", "asi es", "asi esta bien", "asi esta", "todo correcto",
    "esta correcto", "es correcto", "son correctos", "de acuerdo", "por supuesto", "con gusto", "me parece",
    "sale y vale", "todo ok", "todo en orden", "asi mero", "eso es", "esta perfecto",
    "ta bien", "sta bien", "ta bueno", "esta bueno", "ta correcto", "esta bn", "ta bn",
)
#: Emojis that answer yes on their own.
YES_EMOJI = frozenset("👍👌✅☑✔🆗🙆")
NO = frozenset({"no", "nel", "nop", "nope", "nah", "negativo", "nada", "tampoco", "nunca", "ninguno", "ninguna"})
NOT_YET = ("todavia no", "aun no", "aun tampoco", "no todavia", "ni idea", "todavia nada")
MENU = frozenset({"menu", "inicio", "0", "regresar", "volver", "principal", "start", "empezar"})
DONT_KNOW = (
    "no se", "no lo se", "nose", "no lo tengo", "no me lo se", "no me la se", "no lo conozco", "no me acuerdo",
    "ni idea", "no tengo", "no lo encuentro", "no lo recuerdo", "no recuerdo", "ni se", "idk",
    "dont know", "no sabria", "no la tengo", "no la se", "no la conozco", "no la encuentro", "no la recuerdo",
    "no los tengo", "no las tengo",
    # a parent writing for the student ("no la tiene a la mano", "no lo sabemos")
    "no lo sabe", "no la sabe", "no se lo sabe", "no se la sabe", "no lo tiene", "no la tiene",
    "no lo sabemos", "no la sabemos", "no lo tenemos", "no la tenemos", "no sabemos",
)
THANKS = ("gracias", "grax", "thanks", "thank", "bye", "adios", "grcs", "gracis")


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def is_menu_command(text: str) -> bool:
    """ "menu", "inicio", "0", "volver al menu": back to the main menu."""
    w = words(text)
    if not w or len(w) > 4:
        return False
    if w == ["0"]:
        return True
    return any(x in MENU and x != "0" for x in w) and all(
        x in MENU or x in {"al", "a", "el", "ir", "quiero", "ver", "de", "nuevo", "porfa", "mostrar"}
        for x in w
    )


#: "no me importa tu menú", "no quiero menú", "tu menú no me sirve", "sin menú": the menu refused.
_NO_MENU = re.compile(
    r"\b(?:no (?:me )?(?:quiero|ocupo|necesito|interesa|importa|sirve|sirven|gusta|ayuda|mandes|pongas|muestres|pidas)"
    r"|ni (?:quiero|ocupo)|olvidate de|basta de|deja de (?:mandarme|mandar|poner)|ya no (?:me )?(?:mandes|pongas)"
    r"|sin|para (?:que|q) (?:quiero|ocupo)|al diablo con|que me importa)(?: \w+){0,3}? (?:menu|menus|opciones)\b"
    r"|\b(?:menu|menus|opciones)(?: \w+){0,2} no (?:me )?(?:sirve|sirven|importa|interesa|ayuda|ayudan)\b")


def refuses_menu(text: str) -> bool:
    """ "no me importa tu menú", "no quiero menú": the student does not want the menu (not a greeting
    asking for it)."""
    return bool(_NO_MENU.search(" ".join(words(text))))


_REPEATS = re.compile(r"([a-z])\1{2,}")


def _squash(word: str) -> str:
    """A word typed with a letter held down: "siiii" -> "si", "nooo" -> "no"."""
    return _REPEATS.sub(r"\1", word)


#: What a student puts before a yes or a no while they think ("mmm creo que no", "pues la verdad sí").
_HEDGE = re.compile(r"^(?:(?:m|mm|eh|ehh|ah|este|pues|yo|la verdad|creo que|pienso que|me parece que|siento que)\s+)+")


def _unhedged(folded: str) -> str:
    """The answer behind a hedge ("mmm creo que no" -> "no"); the text itself when nothing follows."""
    rest = _HEDGE.sub("", folded + " ").strip()
    return rest or folded


def yes_no(text: str) -> bool | None:
    """True for a short yes, False for a short no, None for anything else.

    The first word decides ("si, ya quedó", "no, todavía"); a question or a
    thank-you is not an answer ("ok gracias" closes, "¿si la guardo?" asks).
    """
    folded = " ".join(_squash(x) for x in words(text))
    if folded == "nose" or folded.startswith("nose "):
        folded = "no se" + folded[4:]  # "nose" is how "no sé" is typed
    folded = _unhedged(folded)
    w = folded.split()
    if not w:
        stripped = "".join(ch for ch in text if not ch.isspace() and ch not in "\ufe0f\u200d")
        if stripped and all(ch in YES_EMOJI or 0x1F3FB <= ord(ch) <= 0x1F3FF for ch in stripped):
            return True
        return None
    if len(w) > 6:
        return None
    if len(w) > 2 and ("?" in text or is_question(text)):
        return None  # "¿si la guardo?", "ok y eso dónde": a question, not an answer
    if any(folded.startswith(p) or f" {p}" in folded for p in NOT_YET):
        return False
    if w[:2] == ["ya", "no"]:
        # "ya no trabajo ahí" (no longer): news, not an answer; "ya no" alone is a no.
        return False if len(w) == 2 else None
    if len(w) >= 3 and w[0] == "no" and w[1] == "se" and (w[2] in QUESTION_WORDS or w[2] == "si"):
        # "no sé cuál es mi NSS", "no sé cómo llenarla", "no sé si sigo activa": a question
        # of its own, not a no.
        return None
    if w[0] in NO or (len(w) <= 3 and any(x in NO for x in w)):
        return False
    padded = f" {folded} "
    if w[0] in YES_CORE and any(f" {p} " in padded for p in _NEGATIVE_NEWS):
        # "ya revisé, sin derecho", "ya, y no salgo": "ya" says they looked, the rest is a no.
        return False
    if (any(t in folded for t in THANKS) and w[0] not in ("si", "yes", "claro")
            and not any(f" {p} " in padded for p in YES_PHRASES)):
        return None  # "ok gracias" closes; "todo bien, gracias" is still a yes
    if w[0] in YES_CORE or (len(w) <= 3 and any(x in YES_CORE for x in w)):
        return True
    if any(f" {p} " in padded for p in YES_PHRASES) and "?" not in text and not any(x in NO for x in w):
        return True
    return None


#: "ahorita lo hago", "al rato lo reviso y te aviso", "todavía no, ahorita entro": the student will do it soon.
_SOON = re.compile(
    r"^(?:(?:ok|okey|va|sale|bueno|si|ah|ya|pues|todavia no|aun no|no)(?: (?:lo|la) (?:hago|he hecho))?\s+)*"
    r"(?:ahorita|al rato|mas al rato|luego|mas tarde|en un rato|en rato|despues|orita|horita)(?: mismo)?"
    r"(?: (?:lo|la|le|me|te))?"
    r"(?: (?:hago|reviso|checo|entro|intento|veo|saco|mando|busco|lleno|guardo|hare|meto|consigo|termino|sigo))?"
    r"(?: (?:y )?(?:te |les )?(?:aviso|digo|escribo|cuento))?$"
)


#: "¿y ahora qué sigue?", "¿qué hago ahora?", "siguiente paso": where the procedure goes next.
_NEXT = re.compile(
    r"\b(?:(?:que|q) (?:mas )?sigue|y ahora (?:que|q)|ahora (?:que|q) (?:hago|sigue)|(?:que|q) hago ahora"
    r"|que debo hacer ahora|siguiente paso|cual es el siguiente|y luego (?:que|q)|y despues (?:que|q)|que toca)\b"
    r"|^(?:y|ok y|okey y|listo y|va y|ya y|bueno y) (?:luego|despues|ahora)$"  # "¿y luego?", "listo, ¿y después?"
    r"|\s(?:y|ok y|entonces) (?:luego|despues)$"  # "ya entré y dice vigente, ¿y luego?"
)


#: "¿ya me atendieron?", "¿ya quedó lo de mi NSS?", "¿qué pasó con mi reporte?": whether a report was seen to.
_REPORT_STATUS = re.compile(
    r"\bya (?:me |lo |la )?(?:atendieron|contestaron|respondieron|resolvieron|arreglaron|corrigieron|vieron|revisaron"
    r"|recibieron|quedo|esta listo|se envio|lo mandaste|lo enviaste)\b|\b(?:alguien|nadie) (?:me )?(?:vio|reviso|contesto)\b"
    r"|\b(?:que paso|como va|como vamos|avance|novedades?) (?:con |de )?(?:mi|el) (?:reporte|folio|caso|ticket)\b")


def asks_report_status(text: str) -> bool:
    """ "¿ya me atendieron?", "¿qué pasó con mi reporte?": whether the student's report was seen to."""
    return bool(_REPORT_STATUS.search(" ".join(words(text))))


#: "regresa al paso anterior", "atrás", "volver": the guide's previous step.
_BACK = re.compile(
    r"^(?:(?:oye|porfa|mejor|ok|va) )?(?:regresa(?:me)?|regresar|regresemos|vuelve|volver|volvamos|atras|ir atras)"
    r"(?: (?:al|a|el|un))?(?: paso)?(?: anterior| atras)?(?: porfa| por favor)?$|^(?:el )?paso anterior$|^anterior$")


def goes_back(text: str) -> bool:
    """ "regresa al paso anterior", "atrás": the student wants the guide's previous step."""
    return bool(_BACK.search(" ".join(words(text))))


def asks_next(text: str) -> bool:
    """ "¿y ahora qué sigue?": the student asks for the next step of the procedure."""
    return bool(_NEXT.search(" ".join(_squash(x) for x in words(text))))


#: "¿y eso dónde?", "¿en qué página?", "pásame el link": the whole message asks only where.
_WHERE_ONLY = re.compile(
    r"^(?:y |pero |ok |oye |va |ah |entonces |osea )*(?:eso |esa |ese |lo |la |el )?(?:y )?"
    r"(?:en |a |por )?(?:donde|onde|en que pagina|que pagina|cual pagina|cual es la pagina|cual es el link|cual es el enlace"
    r"|el link|link|enlace|me pasas el link|pasame el link|me pasas la pagina|me das el link|tienes el link"
    r"|donde (?:lo |la |le )?(?:hago|veo|saco|reviso|checo|encuentro|busco|consigo|tramito|entro|hago eso|pido|solicito)"
    # a parent's "¿y dónde lo pide ella?": the same verbs for someone else
    r"|donde (?:lo |la |le )?(?:hace|hacen|ve|ven|saca|sacan|revisa|revisan|checa|checan|encuentra|busca|consigue"
    r"|tramita|tramitan|entra|entran|pide|piden|solicita|solicitan)"
    r"|donde (?:es|esta|queda|se hace|se saca|se ve|se revisa|entro)"
    r"|(?:es )?(?:la pagina|el sitio|la pagina web)(?: del imss| de imss| del itson)?|(?:es )?(?:en )?(?:internet|linea)"
    # "¿lo saco en la página del IMSS o del ITSON?": where, asked as a choice of two places
    r"|(?:lo |la )?(?:\w+ )?(?:en |de )?(?:la pagina |el portal |el sitio |la app )?(?:del |de |en el |en la |el |la )?"
    r"(?:imss|itson|cia|escuela|uni|universidad) o (?:en |de )?(?:la pagina |el portal |el sitio |la app )?(?:del |de |en el |en la |el |la )?"
    r"(?:imss|itson|cia|escuela|uni|universidad))"
    r"(?: (?:eso|esa|ese|exactamente|porfa|por favor|xfa|o que|o como|en internet|en linea|en la pagina|en la pagina del imss"
    r"|en el imss|del imss|en el cia|en la escuela|voy|entonces|mero|ella|el|ellos|mi hijo|mi hija|tu hijo|tu hija))*$"
)


def asks_only_where(text: str) -> bool:
    """ "¿y eso dónde? ¿en la página del IMSS?": where (or the link) of what was just answered,
    nothing else (a message that names a thing of its own, "¿dónde saco mi NSS?", does not)."""
    parts = [p for p in re.split(r"[?¿,.!]+", text) if words(p)]
    return bool(parts) and all(_WHERE_ONLY.search(" ".join(words(p))) for p in parts)


#: The same said inside a longer message: "ahorita estoy en clase, al rato te escribo".
_LATER = re.compile(
    r"\b(?:al rato|mas tarde|luego|despues|en un rato|ahorita) (?:te |les )?(?:la |lo |las |los )?(?:escribo|aviso|mando|paso|los mando"
    r"|los paso|lo hago|lo reviso|sigo|regreso|contesto)\b"
    r"|\bahorita no (?:puedo|estoy|tengo (?:tiempo|mis datos|los datos|a la mano|la compu))\b"
    r"|\bestoy en (?:clase|el trabajo|la chamba|el camion|la calle)\b|\bno estoy en (?:la compu|mi casa|casa)\b"
    r"|\bno tengo (?:mis datos|los datos|tiempo) (?:ahorita|ahora|aqui|a la mano)\b"
    r"|\b(?:hoy|ahorita|ahora) no (?:traigo|tengo a la mano|tengo aqui)\b|\bno (?:la |lo |los )?traigo (?:aqui|ahorita|conmigo)\b"
)


#: "pásame con la mesa de ayuda", "quiero hablar con una persona": a person asked for in so many words.
_PERSON = re.compile(
    r"\b(?:pasame|pasa me|comunicame|contactame|conectame|comunica me) con\b"
    r"|\b(?:hablar|platicar|comunicarme|contactar) (?:con|a) (?:una persona|alguien|un asesor|una asesora|la mesa|un humano"
    r"|los de la mesa|soporte)\b|\b(?:quiero|necesito) (?:una persona|un asesor|una asesora|un humano)\b"
    r"|\b(?:talk|speak) (?:to|with) (?:a person|someone|a human|an agent)\b"
)


def asks_for_a_person(text: str) -> bool:
    """ "pásame con la mesa de ayuda": a person asked for, whatever else the message says."""
    return bool(_PERSON.search(" ".join(words(text))))


#: Common English words that Spanish messages do not use (nor its abbreviations: "q", "x").
_ENGLISH = frozenset("""the i im i'm is are do does how what where when which who my me you your can could need
    get apply applied insurance student exchange have has am to for and of it this that with from at
    don't dont there please thanks thank hello hi hey will would should does did not yet already""".split())


def written_in_english(text: str) -> bool:
    """ "hi! i'm an exchange student, how do i apply?": most of the message is English."""
    w = [x for x in re.findall(r"[a-z']+", text.lower()) if len(x) > 0]
    if len(w) < 4:
        return False
    return sum(x in _ENGLISH for x in w) >= max(3, len(w) * 0.4)


def will_do_soon(text: str) -> bool:
    """ "ahorita lo hago", "al rato lo reviso y te aviso", "ahorita no tengo mis datos": not an
    answer yet, nor a question (nor an emergency: "ahorita" is also a cue of one)."""
    folded = " ".join(_squash(x) for x in words(text))
    return bool(_SOON.match(folded)) or (not is_question(text) and bool(_LATER.search(folded)))


#: "antes sí pero ya no", "ya no, renuncié al trabajo", "tenía pero me dieron de baja": no longer.
_NO_LONGER = re.compile(
    r"^ya no\b|\b(?:pero|y) ya no\b|\bya no (?:tengo|trabajo|estoy|cuento)\b|\bme dieron de baja\b|\brenuncie\b"
)


def no_longer(text: str) -> bool:
    """The student had it and no longer does: a no to "¿ya tienes …?"."""
    return not is_question(text) and bool(_NO_LONGER.search(" ".join(_squash(x) for x in words(text))))


#: "¡ya salí vigente!", "ya aparezco con derecho": the student tells they are covered.
_COVERED = re.compile(
    r"^(?:(?:ya|por fin|al fin|listo|yei|siii*|si)\s+)+(?:me\s+)?(?:sali|salio|salgo|sale|aparezco|aparece|estoy|quede|soy)"
    r"\s+(?:vigente|con derecho|activ[oa]|asegurad[oa])\b|^(?:ya\s+)?tengo\s+(?:mi\s+)?vigencia\b"
    r"|^(?:(?:si|siii*|ya)\s+)+aparezco$"  # "sí, ya aparezco" (to "¿ya apareces vigente?", or unasked while waiting)
    # "ya entré y dice vigente", "en la constancia ya me sale con derecho" (not "no dice vigente")
    r"|(?<!\bno )\b(?:dice|sale|aparece|me sale|me aparece)\s+(?:que\s+)?(?:ya\s+)?(?:estoy\s+)?(?:vigente|con derecho)\b"
)


def tells_covered(text: str) -> bool:
    """ "¡ya salí vigente!": news that the coverage is active (not a question about it)."""
    # A question only when it is "¿y luego?" after the news ("ya salí vigente, ¿qué sigue?").
    return (not is_question(text) or asks_next(text)) and bool(_COVERED.search(" ".join(words(text))))


#: "espera", "ahí voy", "un momento": the student holds the conversation for a moment.
_HOLD_ONE = (r"(?:espera(?:me|te)?|esperame tantito|perame|un momento|un segundo|un seg|tantito|ahi voy|ahorita voy"
             r"|deja(?:me)? (?:ver|checo|reviso|busco|buscarlo|buscarla|lo busco|la busco|checar|checarlo|checarla|revisar)"
             r"|ahorita no se"
             r"|dame un (?:momento|segundo|seg)|permiteme|ahorita te digo|ahorita lo busco|ahorita la busco"
             r"|ahorita checo|voy|mmm+|emm+)")
_HOLD = re.compile(
    rf"^(?:(?:oye|oiga|ok|va|mmm+|emm+|ehh*|aja)\s+)?{_HOLD_ONE}(?:\s+{_HOLD_ONE})*"
    r"(?:\s+(?:porfa|por favor|plis|tantito|un momento))?$"
)


def holds(text: str) -> bool:
    """ "espera", "ahí voy", "déjame ver": a pause, not a question nor an answer."""
    return bool(_HOLD.match(" ".join(words(text))))


#: "¿qué correo pongo?", "me pide confirmar mi correo": which e-mail to give (a form's field).
_WHICH_EMAIL = re.compile(
    r"\b(?:que|cual) correo (?:pongo|uso|doy|escribo|meto|le pongo|va)\b|\bconfirmar (?:mi|el|un) correo\b"
    r"|\bme pide (?:un|mi|el|otro) correo\b|\bcorreo (?:personal|institucional) o\b"
)


def asks_which_email(text: str) -> bool:
    joined = " ".join(words(text))
    # "¿a qué correo les escribo?" is the desk's address (contacto), not which one to give.
    return bool(_WHICH_EMAIL.search(joined)) and not _TO_WHICH_EMAIL.search(joined)


_TO_WHICH_EMAIL = re.compile(r"\b(?:a|al) (?:que|cual) correo\b")


def long_yes(text: str) -> bool:
    """A yes of more words than :func:`yes_no` reads ("ya la saqué y sí salgo con derecho y con
    el ITSON"): it starts with "sí" or "ya", asks nothing, and no "no" follows."""
    w = [_squash(x) for x in words(text)]
    if len(w) > 2 and w[0] in ("ok", "oki", "okey", "okay", "va", "ah", "aja", "sale") and w[1] in ("si", "ya"):
        w = w[1:]  # "ok ya la encontré, estaba en otro menú"
    if len(w) <= 6 or w[0] not in ("si", "ya", "claro", "listo", "lista") or is_question(text):
        return False
    padded = " " + " ".join(w) + " "
    return not any(x in NO for x in w) and not any(f" {p} " in padded for p in _NEGATIVE_NEWS)


#: "todavía no la he revisado", "no he checado": the student has not looked yet.
_NOT_CHECKED = re.compile(
    r"\b(?:no|aun no|todavia no)\s+(?:la\s+|lo\s+)?(?:he|e)\s+(?:revisado|checado|visto|sacado|consultado|"
    r"descargado|bajado|entrado)\b|\b(?:aun|todavia)\s+no\s+(?:la\s+|lo\s+)?(?:reviso|checo|veo|saco|consulto)\b"
)
#: "no encuentro mi clínica", "no me deja", "no pude": trying did not work.
_FAILED = re.compile(
    r"\bno\s+(?:me\s+|le\s+|la\s+|lo\s+)?(?:puedo|pude|pudimos|encuentro|encontre|deja|dejo|sale|salio|aparece|"
    r"aparecio|carga|abre|funciona|jala|puede|pudo|encuentra|encontro)\b"
    # "sigue sin salir", "sigo sin verla", "sigue igual" after being told what to check
    r"|\b(?:sigue|sigo) (?:sin (?:salir|aparecer|verse|verla|verlo|ver|encontrar\w*|funcionar|jalar|cargar)|igual)\b"
)


#: "todavía no lo intento", "aún no lo hago", "no lo he intentado": not tried yet.
_NOT_TRIED = re.compile(
    r"\b(?:todavia|aun) no (?:lo |la |me )?(?:intento|hago|he intentado|he hecho|trato|entro|doy de alta)\b"
    r"|\bno lo he (?:intentado|hecho)\b|\bno (?:me )?he dado de alta\b"
)


def bare_not_yet(text: str) -> bool:
    """ "todavía no", "no, aún no", "aún no": nothing more."""
    folded = " ".join(_squash(x) for x in words(text))
    return folded in ("todavia no", "aun no", "no todavia", "no todavia no", "no aun no", "aun no todavia",
                      "todavia no gracias", "no aun")


def not_tried_yet(text: str) -> bool:
    """The student has not tried the step yet ("todavía no lo intento"): neither yes nor no."""
    return bool(_NOT_TRIED.search(" ".join(words(text))))


def not_checked_yet(text: str) -> bool:
    """The student has not looked yet ("todavía no la he revisado"): neither yes nor no."""
    return bool(_NOT_CHECKED.search(" ".join(words(text))))


def reports_failure(text: str) -> bool:
    """An attempt that did not work ("no encuentro mi clínica en la lista")."""
    return bool(_FAILED.search(" ".join(words(text))))


#: Words that may follow a "no" that only closes the conversation ("no, gracias", "no, es todo").
_CLOSING = frozenset({"gracias", "grax", "es", "todo", "eso", "era", "seria", "mas", "asi", "esta", "bien", "ya",
                      "por", "ahora", "el", "momento", "muchas", "ok"}) | NO


def closes(text: str) -> bool:
    """ "no", "no gracias", "nada más", "no, es todo": nothing more to ask."""
    w = [_squash(x) for x in words(text)]
    return bool(w) and w[0] in NO and len(w) <= 4 and all(x in _CLOSING for x in w)


#: What, after a "ya", makes the answer a no.
_NEGATIVE_NEWS = ("sin derecho", "no tengo", "no salgo", "no sale", "no me sale", "no aparezco", "no aparece",
                  "que no", "y no", "no hay", "todavia no", "aun no", "no estoy")

#: Not knowing, as opposed to not having ("no tengo" is a no).
NOT_SURE = ("no se", "no lo se", "nose", "ni idea", "ni se", "no sabria", "idk", "dont know", "no estoy segur",
            "no tengo idea", "no me acuerdo")


def says_not_sure(text: str) -> bool:
    """ "no sé", "nose", "ni idea": the student does not know the answer (not a no)."""
    folded = " " + " ".join(words(text)) + " "
    return any(f" {p}" in folded for p in NOT_SURE)


#: "más o menos", "a medias": a step half done, which is not done.
PARTLY = ("mas o menos", "a medias", "no del todo", "no completamente", "no completo", "no bien del todo",
          "masomenos", "mas menos", "medio medio", "no muy bien")


def says_partly(text: str) -> bool:
    """ "más o menos" to "¿pudiste…?": half of it, so not yet (the no's help is what it needs)."""
    w = words(text)
    folded = " " + " ".join(w) + " "
    return len(w) <= 6 and any(f" {p} " in folded for p in PARTLY)


def says_dont_know(text: str) -> bool:
    folded = " " + " ".join(words(text)) + " "
    return any(f" {p} " in folded for p in DONT_KNOW)


def option_key(text: str, last: int | None = None) -> str | None:
    """A menu choice typed as a number ("2", "2.", "opcion 2", "la 2", "dos", "la tercera"),
    or, with the menu's ``last`` number, "la última"."""
    w = words(text)
    if last and w and w[-1] in ("ultima", "ultimo") and len(w) <= 3 and all(x in _OPTION_FILLERS for x in w[:-1]):
        return str(last)
    digits = [x for x in w if x.isdigit()]
    if len(digits) == 1 and len(w) <= 3 and len(digits[0]) <= 2:
        return str(int(digits[0]))
    spelled = [_OPTION_WORDS[x] for x in w if x in _OPTION_WORDS]
    if len(spelled) == 1 and len(w) <= 3 and all(x in _OPTION_WORDS or x in _OPTION_FILLERS for x in w):
        return str(spelled[0])
    return None


#: Options written out: "dos", "la tercera", "el quinto" ("una" is left out: "la una" is an hour).
_OPTION_WORDS = {
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
    "diez": 10, "once": 11, "primera": 1, "primero": 1, "segunda": 2, "segundo": 2, "tercera": 3,
    "tercero": 3, "cuarta": 4, "cuarto": 4, "quinta": 5, "quinto": 5, "sexta": 6, "sexto": 6,
    "septima": 7, "septimo": 7, "octava": 8, "octavo": 8, "novena": 9, "noveno": 9, "decima": 10, "decimo": 10,
}
_OPTION_FILLERS = frozenset({"opcion", "la", "el", "numero", "op", "quiero", "dame", "porfa"})


_CONNECTORS = frozenset({"y", "e", "tambien", "la", "el", "las", "los", "opcion", "opciones", "porfa", "quiero", "ver", "numero"})


def option_keys(text: str) -> list[str]:
    """Two or three menu choices in one message ("3 y 6", "la 2, la 5"), in the order typed;
    empty for anything else."""
    w = words(text)
    keys = [str(int(x)) if x.isdigit() else str(_OPTION_WORDS[x]) for x in w
            if (x.isdigit() and len(x) <= 2) or x in _OPTION_WORDS]
    if not 2 <= len(keys) <= 3 or len(set(keys)) != len(keys):
        return []
    if any(not (x.isdigit() or x in _OPTION_WORDS or x in _CONNECTORS) for x in w):
        return []
    return keys


def bare_number(text: str) -> str | None:
    """Only a number ("1", "2.", "opción 3", "la 4"): a menu choice even with no menu on screen."""
    w = words(text)
    key = option_key(text)
    if key is None or len(w) > 2 or any(not x.isdigit() and x not in ("opcion", "la", "el", "numero", "op") for x in w):
        return None
    return key


#: Words that open a question ("q es el nss", "donde lo tramito").
QUESTION_WORDS = frozenset({
    "que", "q", "k", "ke", "como", "cmo", "komo", "donde", "dnd", "adonde", "cuando", "cuanto", "cuantos",
    "cuantas", "cual", "cuales", "quien", "porque", "xq", "pq", "what", "how", "where", "when", "why", "which",
})


def is_question(text: str) -> bool:
    """A question rather than a statement: a question mark, or a question word first."""
    if "?" in text or "¿" in text:
        return True
    w = words(text)
    if len(w) > 2 and w[0] in _ACK_FIRST and w[1] in ("y", "pero", "entonces", "oye", "ahora"):
        w = w[1:]  # "ok y cómo me doy de alta?": an acknowledgement, then the question
    if len(w) > 3 and w[0] in ("y", "pero", "oye") and w[1] == "si":
        return True  # "y si el miércoles no sale, qué hago": a what-if
    # "y entonces qué hago", "pero entonces cómo": connectors before the question word.
    for _ in range(2):
        if len(w) > 1 and w[0] in ("y", "oye", "pero", "entonces", "osea"):
            w = w[1:]
    if 1 < len(w) <= 4 and w[-1] in ("donde", "dnd", "como", "cuando", "cual"):
        return True  # "y eso dónde", "ok pero cuándo": asked last
    return bool(w) and w[0] in QUESTION_WORDS


#: Acknowledgements a question may start with ("ok y …", "va, pero …").
_ACK_FIRST = frozenset({"ok", "oki", "okey", "okay", "va", "bueno", "ah", "aja", "sale", "listo", "perfecto", "entendido"})


#: Stems of asking when the desk will answer a report ("¿cuándo me contestan?").
_REPLY_STEMS = ("contest", "respond", "respuest", "atiend", "atiende", "atendieron", "atendio", "escrib", "revisaron", "reporte", "ticket",
                "me hablan", "me marcan", "resuelv", "resolvi", "sigo esperando", "nadie", "folio", "avance",
                "novedad", "me llaman", "me pueden llamar")


def asks_about_reply(text: str) -> bool:
    """After a ticket: "¿cuánto tardan en contestarme?", "¿ya vieron mi reporte?"."""
    joined = " " + " ".join(words(text)) + " "
    return any(f" {s}" in joined for s in _REPLY_STEMS)


#: Asking to be taken through the procedure ("guíame paso a paso", "¿por dónde empiezo?"):
#: the main menu's first option, in words.
_GUIDE = re.compile(r"\b(?:guia(?:me|rme|nos)|me guias|me guies|me guie|me puedes guiar|me guiarias|guiar(?:me)? paso|paso a paso"
                    r"|desde cero|de principio a fin)\b")
_START = re.compile(
    r"\b(?:(?:por|x|pa|para) )?(?:donde|como|quiero|queremos|me ayudas a|ayudame a|voy a)"
    r" (?:lo |la )?(?:empiezo|empezar|empiezo|comienzo|comenzar|inicio|iniciar|arranco|arrancar)\b"
)
#: "¿qué hago primero?", "¿cuál es el primer paso?": where to begin, in other words.
_FIRST_STEP = re.compile(
    r"^(?:y |ok |oye |pero |entonces |bueno )*(?:(?:que|q|k) (?:hago|tengo que hacer|debo hacer|hay que hacer) primero"
    r"|(?:cual es|cual seria|y) el primer paso|(?:que|q) es lo primero(?: que (?:hago|tengo que hacer))?"
    r"|(?:por|x) (?:donde|cual) (?:empiezo|comienzo|inicio|le empiezo|le comienzo))$"
)
_NOT_GUIDE = re.compile(r"\b(?:llen\w*|formulario|campos?|captur\w*)\b")


#: "ok sigamos", "quiero continuar con el paso a paso", "va, continua": on with the guide where it is.
_CONTINUE = re.compile(
    r"^(?:ok |oki |va |sale |bueno |ya |si |listo |entonces )*(?:quiero |podemos |vamos a )?"
    r"(?:sigamos|seguimos|continuemos|continuamos|continua|continuar|seguir|sigue|siguele|le seguimos|dale)"
    r"(?: (?:con|en) (?:el|la|lo) (?:paso a paso|tramite|solicitud|guia|proceso|pasos|que sigue|siguiente))?"
    r"(?: (?:porfa|por favor|pues|entonces))?$"
)


def continues(text: str) -> bool:
    """ "ok sigamos con la solicitud": the student wants the guide to go on from where it is."""
    return bool(_CONTINUE.search(" ".join(words(text))))


def wants_guide(text: str) -> bool:
    """ "quiero empezar el trámite", "guíame paso a paso porfa", "x donde empiezo?"."""
    w = words(text)
    folded = " ".join(w)
    if not w or _NOT_GUIDE.search(folded):
        return False
    if _GUIDE.search(folded):
        # "quiero sacar el seguro facultativo, ¿me puedes guiar?": asked outright, whatever else.
        return len(w) <= 12
    return len(w) <= 7 and bool(_START.search(folded) or _FIRST_STEP.search(folded))
