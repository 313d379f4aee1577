"""A student's full name, as they write it.

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import re

from flows.entities.text import _clean, _fold, _fold_same_length

#: Lower-case particles that belong inside Mexican names ("María de la Luz").
_CONNECTORS = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "da", "di"})

#: Function words, common verbs and greetings: they make a sentence, not a
#: name, and they are never a password either.
_FUNCTION_WORDS = frozenset(
    """
    a al ante aqui aca ahi alla asi aun bajo con contra cual cuales cuando cuanto
    cuantos como donde desde durante e el ella ellas ellos en entre era eran eres es
    esa esas ese eso esos esta estas este esto estos fue fui ha han hasta hay he
    hola le les lo me mas mi mis muy nada ni no nos nosotros o os otra otro para
    pero poco por porque pues que quien quienes se ser si sin sino sobre solo
    son soy su sus tambien tan te ti tu tus u un una uno unos unas usted ustedes
    ya yo
    tengo tiene tienen tenia quiero quisiera queria necesito ocupo puedo puede
    pueden podria podrian estoy estan estaba ando anda hice hago hace hizo sigo
    sale salio aparece aparezco dice dijo tuve pude intente intento hacer
    ver vi guarde registre envie mande saber sabe
    ayuda ayudar ayudame apoyo favor gracias muchas buenas buenos buen buena dia dias
    tardes noches saludos ok okay oki vale claro bien mal gusto perdon disculpa
    i im i'm dont don't know my the is am are you your do does what how where when can hi hello
    thanks please an from at in student exchange
    """.split()
)

#: Words that are never part of a name: the function words above plus the
#: vocabulary of this help desk. A name ends where one of them starts.
_NOT_NAME = _FUNCTION_WORDS | frozenset(
    """
    solicitud seguro facultativo imss itson cia nss curp id matricula numero
    alumno alumna estudiante estudio estudiando carrera semestre ingenieria
    licenciatura lic ing maestria doctorado nuevo nueva ingreso problema error
    vigencia clinica umf constancia registro mensaje pregunta duda dudas tramite
    correo telefono cel celular contrasena password pass usuario
    mama papa hijo hija hermano hermana nombre llamo completo apellido apellidos
    primer segundo campus unidad navojoa guaymas empalme nainari cajeme
    hermosillo sonora escuela universidad instituto tecnologico
    enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre
    noviembre diciembre lunes martes miercoles jueves viernes sabado domingo
    hoy ayer antier anteayer manana semana pasado pasada mes fecha
    tantito tantita momento momentito ratito rato ahorita orita horita luego despues
    espera esperame perame esperate aguanta aguantame deja dejame dejeme busco buscar
    buscarlo buscarla buscando reviso revisar checo checar retomar retoma reporte reportar
    caso acento acentos lleva falta faltan corrige corregir corrijo cambia cambiar escribe
    escribi escrito bueno pues listo igual seguir sigamos continuar
    """.split()
)
#: Verbs with a pronoun attached ("búscalo", "pásamelo", "decirle"): never part of a name.
#: Seven letters at least: "Karla" and "Perla" are names.
_VERB_WITH_PRONOUN = re.compile(r"^\w{3,}(?:ar|er|ir)(?:lo|la|los|las|le|les|me|te|se)$")

_LETTERS = "A-Za-zÀ-ÖØ-öø-ÿĀ-ž"
_NAME_WORD = re.compile(rf"[{_LETTERS}]+(?:['’\-][{_LETTERS}]+)*")
_NAME_CUE = re.compile(
    r"(?<![a-z])(?:me\s+llamo|(?P<third>se\s+llama|su\s+nombre\s+(?:completo\s+)?es)|my\s+name\s+is|"
    r"mi\s+nombre\s+completo\s+es|mi\s+nombre\s+es|"
    r"nombre\s+completo\s*(?:es\s*)?[:=]?|mi\s+nombre\s*[:=]|(?<=\by\s)mi\s+nombre(?=\s+[a-z])|nombre\s*[:=]|"
    r"(?:el\s+)?nombre\s+(?:correcto\s+)?es|(?P<soy>soy|i\s+am|im))"
    r"(?![a-z])\s*[:=]?\s*"
)
_NAME_STOP = re.compile(
    r"[,;.\n\r!?()\[\]{}<>:\"0-9@/|+*#=_]|\s+y\s+mi(?![a-z])|(?<![a-z])(?:mi\s+id|id|nss|curp)(?![a-z])"
)
_MAX_NAME_WORDS = 10  # including connectors


def _title_word(word: str, first: bool) -> str:
    """Capitalise each part of "perez-lopez"/"o'connor"; keep particles lower."""
    if not first and _fold(word) in _CONNECTORS:
        return word.lower()
    parts = re.split(r"(['’\-])", word)
    return "".join(p[:1].upper() + p[1:].lower() for p in parts)


def _name_words(words: list[str]) -> list[str] | None:
    """Validate words of a candidate name; None if they do not form a name."""
    if not words or len(words) > _MAX_NAME_WORDS:
        return None
    core = 0
    for w in words:
        if not _NAME_WORD.fullmatch(w):
            return None
        key = _fold(w)
        if key in _CONNECTORS:
            continue
        if key in _NOT_NAME or _VERB_WITH_PRONOUN.search(key):
            return None
        core += 1
    if not 2 <= core <= 6:
        return None
    return words


def title_name(text: str) -> str:
    """A name written the way it is spelled: "laura garcia ruiz de leon" → "Laura Garcia Ruiz de Leon"."""
    return " ".join(_title_word(w, i == 0) for i, w in enumerate(text.split()))


def looks_like_name(text: str) -> bool:
    """Whether ``text`` (an answer to "¿cuál es tu nombre completo?") is a name.

    2 to 6 alphabetic words (accents, ñ, apostrophes, hyphens allowed) plus
    particles like "de la"; no digits; no word that only sentences have
    ("hola", "que", "no", "tengo"...), so "no se cual es" is not a name.
    """
    cleaned = _clean(text).strip()
    if len(cleaned) > 200:
        return False
    cleaned = cleaned.rstrip(".").strip()
    return _name_words(cleaned.split()) is not None


def looks_like_first_name(text: str) -> bool:
    """Whether ``text`` is one name-shaped word ("Juan"): a name, but not a full one."""
    words = _clean(text).strip().rstrip(".").split()
    if len(words) != 1 or not _NAME_WORD.fullmatch(words[0]):
        return False
    return _fold(words[0]) not in _NOT_NAME and len(words[0]) >= 2


def find_name(text: str) -> str | None:
    """A full name given with a cue ("me llamo", "mi nombre es", "soy", "nombre:").

    The name ends at punctuation, digits, " y mi ", "id", "nss", "curp", a new
    line, or the first word that cannot be part of a name ("me llamo Juan
    Pérez y necesito ayuda"). After "soy" 2-5 words are required, so "soy
    estudiante de ingeniería" is not a name. Returned title-cased with
    particles lower-case: "María de la Luz Pérez".
    """
    cleaned = _clean(text)
    folded = _fold_same_length(cleaned)
    found: list[tuple[int, str]] = []
    for cue in _NAME_CUE.finditer(folded):
        rank = 1
        if cue.group("third"):
            # "se llama …": the student's name after "mi hijo", a relative's after "mi mamá".
            kin = [m.group() for m in _KIN.finditer(folded[max(0, cue.start() - 24):cue.start()])]
            if kin and kin[-1] not in ("hijo", "hija"):
                continue
            rank = 0 if kin else 2
        start = cue.end()
        window_end = min(len(cleaned), start + 200)
        stop = _NAME_STOP.search(folded, start, window_end)
        end = stop.start() if stop else window_end
        words: list[str] = []
        for w in cleaned[start:end].split():
            key = _fold(w)
            if not _NAME_WORD.fullmatch(w) or (key in _NOT_NAME and key not in _CONNECTORS):
                break
            words.append(w)
        while words and _fold(words[-1]) in _CONNECTORS:
            words.pop()
        if _name_words(words) is None:
            continue
        if cue.group("soy"):  # "soy": stricter, it also introduces non-names
            core = sum(1 for w in words if _fold(w) not in _CONNECTORS)
            if core > 5:
                continue
        found.append((rank, " ".join(_title_word(w, i == 0) for i, w in enumerate(words))))
    return min(found, key=lambda f: f[0])[1] if found else None


#: Who a third-person "se llama" is about: the nearest of these before it (a child is the student).
_KIN = re.compile(r"(?<![a-z])(?:hijo|hija|mama|papa|madre|padre|hermano|hermana|esposo|esposa|novio|novia|tio|tia|"
                  r"abuelo|abuela|primo|prima|amigo|amiga|maestro|maestra)(?![a-z])")
