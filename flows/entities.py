"""What students type: find, validate and mask their personal data.

Students write on WhatsApp: no accents, typos, numbers split with spaces,
several data in one message ("mi id es 234567 y mi nss 2617 03 12458"). The
help desk needs a few of these values to open a ticket (student ID, full
name, NSS, CURP, the date the application was saved), must never keep a
password a student pastes by mistake, and must not write NSS/CURP in clear
to the logs.

Design rules:

* Every public function is **total on str input**: no exception for empty,
  huge, emoji, right-to-left, zero-width or control-character text. The
  conversation must go on whatever the student sends. (The two check-digit
  helpers are arithmetic on an already validated value and raise
  ``ValueError`` on a malformed one; the ``*_problem`` functions never do.)
* Finders return *candidates*; validators say what is wrong with one, as a
  short code the flows turn into a friendly question ("te faltó un dígito").
* Matching is done on a "folded" copy of the text (lower case, accents
  removed, invisible characters dropped) that has exactly one character per
  kept character, so positions map back to the student's own text.

Pure module: standard library only, nothing from ``bot`` or ``knowledge``.
"""
from __future__ import annotations

import difflib
import re
from typing import Any
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CURP_ALPHABET",
    "CURP_STATES",
    "REDACTED_SECRET",
    "curp_check_digit",
    "curp_problem",
    "find_curp_candidates",
    "find_name",
    "find_nss_candidates",
    "find_secrets",
    "find_student_id_candidates",
    "looks_like_first_name",
    "looks_like_name",
    "mask_personal",
    "mentions_date",
    "normalise_student_id",
    "nss_check_digit",
    "nss_problem",
    "parse_answer_date",
    "parse_date",
    "redact_secrets",
    "student_id_problem",
    "without_secret_phrases",
]

_TZ = ZoneInfo("America/Hermosillo")

#: What replaces a password in stored and logged text.
REDACTED_SECRET = "[contraseña oculta]"

# --------------------------------------------------------------------------
# Text helpers
# --------------------------------------------------------------------------

_KEEP_CONTROLS = "\n\t"


def _clean_with_map(text: str) -> tuple[str, list[int]]:
    """Drop invisible format characters; turn other controls into spaces.

    Zero-width spaces, bidi marks and soft hyphens (category Cf) are removed
    because WhatsApp and copy-paste insert them inside numbers and words,
    which would otherwise split "1234\u200b5678903" or hide "contra\u200bseña".
    Returns the cleaned text and, for each of its characters, the index of
    the character it came from in ``text``.
    """
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii() and (ch.isprintable() or ch in _KEEP_CONTROLS):
            out.append(ch)
            index.append(i)
            continue
        cat = unicodedata.category(ch)
        if cat == "Cf":
            continue
        if cat == "Cc":
            ch = "\n" if ch in "\r\x0b\x0c\x85" else " "
        out.append(ch)
        index.append(i)
    return "".join(out), index


def _clean(text: str) -> str:
    return _clean_with_map(text)[0]


def _fold_char(ch: str) -> str:
    """One character, lower case and without accent; unchanged if that is not 1:1."""
    if ch.isascii():
        return ch.lower()
    base = unicodedata.normalize("NFD", ch)[:1] or ch
    low = base.lower()
    return low if len(low) == 1 else ch


def _fold_same_length(text: str) -> str:
    """Lower-case, accent-free copy of ``text`` with the same length."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


def _fold(word: str) -> str:
    """Comparison key for a word: lower case, no accents."""
    return _fold_same_length(word)


def _dedupe(items: list[str]) -> list[str]:
    """Keep first occurrences: a student repeating a number is one candidate."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _is_ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


# --------------------------------------------------------------------------
# NSS
# --------------------------------------------------------------------------


def nss_check_digit(first10: str) -> int:
    """Luhn check digit of the first ten NSS digits (IMSS rule).

    Weights 1,2,1,2,... from the left; a product over 9 loses 9; the digit is
    ``(10 - sum % 10) % 10``. Raises ``ValueError`` unless given exactly ten
    ASCII digits: callers validate first (see :func:`nss_problem`).
    """
    if len(first10) != 10 or not _is_ascii_digits(first10):
        raise ValueError("expected exactly 10 digits")
    total = 0
    for i, ch in enumerate(first10):
        product = int(ch) * (1 if i % 2 == 0 else 2)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


_NSS_SEPARATORS = re.compile(r"[\s.\-]+")


def nss_problem(value: str) -> str | None:
    """None if ``value`` is a valid NSS, else "digits", "length" or "check".

    Spaces, dashes and dots are ignored because students copy the NSS as it
    is printed ("1234-56-7890-3"). "digits" comes first so that a value with
    letters gets the more useful message.
    """
    digits = _NSS_SEPARATORS.sub("", _clean(value))
    if digits and not _is_ascii_digits(digits):
        return "digits"
    if len(digits) != 11:
        return "length"
    if nss_check_digit(digits[:10]) != int(digits[10]):
        return "check"
    return None


# --------------------------------------------------------------------------
# Digit runs: NSS, student IDs and phone numbers share one scanner so that
# they never claim the same digits twice.
# --------------------------------------------------------------------------

# Digit groups joined by one separator: "2617 03 12458", "644-420-7351",
# "+52 (644) 420 7351". ". " and ", " end a chain: they end sentences/lists.
_CHAIN = re.compile(
    r"(?<![0-9])(?:\+ ?)?[0-9]+(?:(?: ?- ?|\.|[ \u00a0]|\) ?| ?\()[0-9]+)*(?![0-9])"
)
_GROUP = re.compile(r"[0-9]+")
_PHONE_CUE = re.compile(
    r"(?<![a-z])(?:tel|telefono|tels|cel|celular|whats|whatsapp|wsp|wpp|movil|lada|"
    r"llamar|llamame|marcar|marcame|contacto)(?![a-z])"
)
_NSS_CUE = re.compile(
    r"(?<![a-z])(?:nss|imss|seguro|seguridad\s+social|afiliacion)(?![a-z])"
)
_POSTAL_CUE = re.compile(
    r"(?:(?<![a-z])c\.?\s?p\.?|codigo\s+postal|cod\.?\s*postal|postal)\s*(?:es\s*)?[:=#]?\s*$"
)


@dataclass(frozen=True)
class _Number:
    kind: str  # "nss" | "student_id" | "student_id6" | "phone"
    start: int
    end: int
    digits: str


def _is_phone_context(folded: str, start: int, prev_end: int, has_plus: bool) -> bool:
    """A phone if written "+52 ..." or right after "cel"/"tel"/"whatsapp"."""
    if has_plus:
        return True
    window = folded[max(prev_end, start - 30, 0):start]
    phone = [m.end() for m in _PHONE_CUE.finditer(window)]
    if not phone:
        return False
    nss = [m.end() for m in _NSS_CUE.finditer(window)]
    return not nss or phone[-1] > nss[-1]


def _six_digit_ok(cleaned: str, folded: str, start: int, end: int) -> bool:
    """Whether a lone 6-digit group can be a student ID.

    Not when glued to letters (the date inside a CURP), not an amount,
    a time or a date piece, not a postal code ("cp 85000").
    """
    before = cleaned[start - 1] if start > 0 else " "
    after = cleaned[end] if end < len(cleaned) else " "
    after2 = cleaned[end + 1] if end + 1 < len(cleaned) else " "
    if before.isalnum() or before in "/$:%#" or after.isalnum() or after in "/:%":
        return False
    if after in ".," and after2.isascii() and after2.isdigit():
        return False
    return not _POSTAL_CUE.search(folded[max(0, start - 24):start])


def _scan_numbers(cleaned: str, folded: str) -> list[_Number]:
    """Classify every digit chain of ``cleaned`` (``folded`` is its twin)."""
    found: list[_Number] = []
    prev_end = 0
    for chain in _CHAIN.finditer(folded):
        groups = [
            (chain.start() + g.start(), chain.start() + g.end(), g.group())
            for g in _GROUP.finditer(chain.group())
        ]
        total = sum(len(g[2]) for g in groups)
        has_plus = chain.group().startswith("+")
        if 10 <= total <= 13 and _is_phone_context(folded, groups[0][0], prev_end, has_plus):
            found.append(_Number("phone", groups[0][0], chain.end(),
                                 "".join(g[2] for g in groups)))
            prev_end = chain.end()
            continue
        segments: list[list[tuple[int, int, str]]] = []
        acc: list[tuple[int, int, str]] = []
        for g in groups:
            if len(g[2]) >= 11:
                if acc:
                    segments.append(acc)
                    acc = []
                segments.append([g])
                continue
            if acc and sum(len(a[2]) for a in acc) + len(g[2]) > 12:
                segments.append(acc)
                acc = []
            acc.append(g)
        if acc:
            segments.append(acc)
        for seg in segments:
            digits = "".join(s[2] for s in seg)
            start, end = seg[0][0], seg[-1][1]
            if len(digits) == 11 and digits.startswith("00000"):
                found.append(_Number("student_id", start, end, digits))
            elif 10 <= len(digits) <= 12:
                found.append(_Number("nss", start, end, digits))
            elif len(seg) == 1 and len(digits) == 6 and _six_digit_ok(cleaned, folded, start, end):
                found.append(_Number("student_id6", start, end, digits))
        prev_end = chain.end()
    return found


def find_nss_candidates(text: str) -> list[str]:
    """Digit runs of 10-12 digits that may be an NSS, digits only, in order.

    Ten and twelve are kept so the bot can say "le falta/sobra un dígito".
    Student IDs (11 digits starting 00000) and phone numbers ("+52 ...",
    "cel 644 ...") are not candidates. Repeats are returned once.
    """
    cleaned = _clean(text)
    folded = _fold_same_length(cleaned)
    return _dedupe([n.digits for n in _scan_numbers(cleaned, folded) if n.kind == "nss"])


# --------------------------------------------------------------------------
# Student ID (ITSON)
# --------------------------------------------------------------------------

_ID_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_student_id(value: str) -> str | None:
    """The 11-digit form the CIA shows ("00000" + 6 digits), or None.

    Students often type only the six significant digits; both are accepted
    (the exact rule is unconfirmed, see the domain notes).
    """
    compact = _ID_SEPARATORS.sub("", _clean(value))
    if not _is_ascii_digits(compact):
        return None
    if len(compact) == 6:
        return "00000" + compact
    if len(compact) == 11 and compact.startswith("00000"):
        return compact
    return None


def student_id_problem(value: str) -> str | None:
    """None if ``value`` is a student ID in either accepted form, else "format"."""
    return None if normalise_student_id(value) is not None else "format"


def find_student_id_candidates(text: str) -> list[str]:
    """Student IDs in ``text``, normalised to 11 digits, in order.

    "00000" + 6 digits, or a lone 6-digit number that is not part of a
    longer number, a date, an amount, a CURP or a postal code.
    """
    cleaned = _clean(text)
    folded = _fold_same_length(cleaned)
    out: list[str] = []
    for n in _scan_numbers(cleaned, folded):
        if n.kind == "student_id":
            out.append(n.digits)
        elif n.kind == "student_id6":
            out.append("00000" + n.digits)
    return _dedupe(out)


# --------------------------------------------------------------------------
# CURP
# --------------------------------------------------------------------------

CURP_ALPHABET = "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ"

#: RENAPO state codes; NE = born abroad ("nacido en el extranjero").
CURP_STATES = frozenset(
    "AS BC BS CC CH CL CM CS DF DG GR GT HG JC MC MN MS NE NL NT OC PL QR QT "
    "SL SP SR TC TL TS VZ YN ZS".split()
)

_CURP_FORMAT = re.compile(
    r"[A-ZÑ]{4}[0-9]{6}[A-ZÑ][A-ZÑ]{2}[B-DF-HJ-NP-TV-ZÑ]{3}[0-9A-ZÑ][0-9]"
)
_CURP_TOKEN = re.compile(r"[A-Za-zÑñ0-9]+")
_CURP_START = re.compile(r"[A-ZÑ]{4}[0-9]{6}")


def curp_check_digit(first17: str) -> str:
    """RENAPO check digit of the first 17 CURP characters.

    Sum of ``index(c) * (18 - i)`` over the alphabet
    "0123456789ABCDEFGHIJKLMNÑOPQRSTUVWXYZ", digit ``(10 - sum % 10) % 10``.
    Raises ``ValueError`` on fewer than 17 characters or one outside the
    alphabet; only :func:`curp_problem` is meant for raw input.
    """
    if len(first17) < 17:
        raise ValueError("expected 17 characters")
    total = 0
    for i, ch in enumerate(first17[:17].upper()):
        pos = CURP_ALPHABET.find(ch)
        if pos < 0:
            raise ValueError(f"character not allowed in a CURP: {ch!r}")
        total += pos * (18 - i)
    return str((10 - total % 10) % 10)


def curp_problem(value: str) -> str | None:
    """None if ``value`` is a valid CURP, else the first problem found.

    Codes, in the order checked: "length" (not 18 characters), "format"
    (wrong shape), "date" (impossible birth date), "sex" (not H, M or X),
    "state" (unknown state code), "check" (check digit). X is accepted as
    sex (non-binary, since 2023), which python-stdnum rejects, so the rules
    are implemented here. Inner spaces are ignored: students copy the CURP
    in pieces.
    """
    curp = "".join(_clean(value).split()).upper()
    if len(curp) != 18:
        return "length"
    if not _CURP_FORMAT.fullmatch(curp):
        return "format"
    year = int(curp[4:6]) + (1900 if curp[16].isdigit() else 2000)
    try:
        date(year, int(curp[6:8]), int(curp[8:10]))
    except ValueError:
        return "date"
    if curp[10] not in "HMX":
        return "sex"
    if curp[11:13] not in CURP_STATES:
        return "state"
    if curp_check_digit(curp[:17]) != curp[17]:
        return "check"
    return None


def find_curp_candidates(text: str) -> list[str]:
    """Tokens that look like a CURP, upper-cased, in order.

    A token qualifies when it starts with 4 letters + 6 digits and has 16 to
    20 characters: the near misses are kept so the bot can say "tu CURP
    tiene 17 caracteres" instead of ignoring it.
    """
    cleaned = _clean(text)
    out: list[str] = []
    for m in _CURP_TOKEN.finditer(cleaned):
        token = m.group().upper()
        if 16 <= len(token) <= 20 and _CURP_START.match(token):
            out.append(token)
    return _dedupe(out)


def _curp_spans(cleaned: str) -> list[tuple[int, int]]:
    return [
        (m.start(), m.end())
        for m in _CURP_TOKEN.finditer(cleaned)
        if 16 <= len(m.group()) <= 20 and _CURP_START.match(m.group().upper())
    ]


# --------------------------------------------------------------------------
# Full name
# --------------------------------------------------------------------------

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
    """.split()
)

_LETTERS = "A-Za-zÀ-ÖØ-öø-ÿĀ-ž"
_NAME_WORD = re.compile(rf"[{_LETTERS}]+(?:['’\-][{_LETTERS}]+)*")
_NAME_CUE = re.compile(
    r"(?<![a-z])(?:me\s+llamo|mi\s+nombre\s+completo\s+es|mi\s+nombre\s+es|"
    r"nombre\s+completo\s*(?:es\s*)?[:=]?|mi\s+nombre\s*[:=]|nombre\s*[:=]|"
    r"(?:el\s+)?nombre\s+(?:correcto\s+)?es|(soy))"
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
        if key in _NOT_NAME:
            return None
        core += 1
    if not 2 <= core <= 6:
        return None
    return words


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
    for cue in _NAME_CUE.finditer(folded):
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
        if cue.group(1):  # "soy": stricter, it also introduces non-names
            core = sum(1 for w in words if _fold(w) not in _CONNECTORS)
            if core > 5:
                continue
        return " ".join(_title_word(w, i == 0) for i, w in enumerate(words))
    return None


# --------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------

_SECRET_CUE = re.compile(
    r"(?<![a-z0-9])(?:contrasenia|contrasena|contrasenna|contrasen|contracenia|contracena|c0ntrasena|"
    r"contra|password|passwd|pasword|paswd|passwrd|psswd|pass|pwd|psw|clave|nip|pin)(?![a-z0-9])"
)
_WEAK_SECRET_CUES = frozenset({"clave", "nip", "pin"})
#: Words that may sit between the cue and the value ("contraseña del CIA es X").
_SECRET_FILLER = frozenset(
    """del de la el mi mis tu su cia itson portal correo institucional cuenta actual
    nueva nuevo anterior vieja viejo""".split()
)
#: A relative clause between the cue and the value ("la contraseña que tengo es
#: X", "la contra q uso es X"): skipped like filler, never a value by itself.
_SECRET_RELATIVE = frozenset(
    """que q k tengo tenia uso use usaba puse pongo meti tecleo teclee escribo escribi
    registre elegi escogi cree creo me le dieron asignaron di""".split()
)
_SECRET_EXPLICIT = frozenset({"es", "era", "seria", "sera", "is", "queda", "quedo"})
#: A password written before its cue: "Cocorit88 es mi contraseña".
_SECRET_BEFORE_CUE = re.compile(r"(?:^|\s)(\S+)\s+(?:es|era|seria|sera)\s+(?:(?:mi|la|tu|su|el)\s+)?$")
#: A value that is one of these is a sentence going on, not a password.
_COMMON_WORDS = _FUNCTION_WORDS | _SECRET_FILLER | frozenset(
    """la las los del de y incorrecta incorrecto correcta correcto invalida invalido
    erronea erroneo mala malo misma mismo igual larga corta segura facil dificil
    diferente distinta otra vez siempre nunca tampoco todavia aun ahorita ahora
    caduco caducada expiro expirada vencida bloqueada bloqueado sirve funciona jala
    olvide olvido perdi recuerdo acuerdo cambie cambio cambiar restablecer
    recuperar entrar ingresar acceder poner escribir meter dar pasar
    mia tuya suya secreta temporal provisional generica
    matricula nss curp id numero correo usuario nombre fecha nacimiento
    contrasena password
    """.split()
)
_TOKEN = re.compile(r"\S+")
_QUOTES = {'"': '"', "'": "'", "“": "”", "«": "»", "‘": "’"}
_EDGE_PUNCT = ".,;:!?¡¿\"'“”«»‘’()[]{}"
_TIME_LIKE = re.compile(r"\d{1,2}(?::\d{2})?(?:am|pm|a\.m\.|p\.m\.|hrs?|h)?[.,!?]*", re.I)


def _has_symbol(core: str) -> bool:
    return any(not ch.isalnum() and not ch.isspace() for ch in core)


def _password_like(value: str, explicit: bool) -> bool:
    """Whether the token after a cue is a password rather than a word."""
    core = value.strip(_EDGE_PUNCT)
    if not core or not any(ch.isalnum() for ch in core):
        return False
    if _fold(core) in _COMMON_WORDS:
        return False
    if any(ch.isdigit() for ch in core) or _has_symbol(core):
        return True
    if any(ch.isupper() for ch in core[1:]) and any(ch.islower() for ch in core):
        return True
    return explicit


_TRAILING_PUNCT = ".,;:)]}\"'”»’"
_LEADING_PUNCT = "([{\"'“«‘¿¡"
_CUE_PREFIX = re.compile(r"(?:contrasen(?:i|n)?a|contra|password|passwd|pass|pwd|psw|clave|nip|pin)[:=]+")


def _mixed_token_span(token: str, folded_token: str) -> tuple[int, int] | None:
    """Where a token mixing letters, digits and a symbol sits inside ``token``.

    Sentence punctuation around the token does not count as its symbol (so
    "BOXW310820HNERXN09," is not a password), a glued cue is left out
    ("pass:abc12!" keeps "pass:"), and e-mails, URLs, times and CURP-shaped
    values are never passwords.
    """
    start, end = 0, len(token)
    cue = _CUE_PREFIX.match(folded_token)
    if cue:
        start = cue.end()
    while start < end and token[start] in _LEADING_PUNCT:
        start += 1
    while end > start and token[end - 1] in _TRAILING_PUNCT:
        end -= 1
    core = token[start:end]
    if not core or "@" in core or "://" in core or core.lower().startswith(("http", "www.")):
        return None
    if _TIME_LIKE.fullmatch(core) or _CURP_START.match(core.upper()):
        return None
    if (
        any(ch.isalpha() for ch in core)
        and any(ch.isdigit() for ch in core)
        and _has_symbol(core)
    ):
        return start, end
    return None


def _secret_spans_clean(cleaned: str, folded: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cues = list(_SECRET_CUE.finditer(folded))
    if not cues:
        return spans
    # "clave", "nip" and "pin" also name error codes and card PINs; only the
    # unambiguous words make every odd-looking token of the message suspect.
    strong = any(c.group() not in _WEAK_SECRET_CUES for c in cues)
    n = len(cleaned)
    for cue in cues:
        if cue.group() not in _WEAK_SECRET_CUES:
            before = _SECRET_BEFORE_CUE.search(folded, max(0, cue.start() - 60), cue.start())
            if before is not None:
                word = cleaned[before.start(1):before.end(1)]
                if _password_like(word, explicit=False):
                    spans.append((before.start(1), before.end(1)))
        pos = cue.end()
        explicit = False
        sep = pos
        while sep < n and cleaned[sep].isspace():
            sep += 1
        if sep < n and cleaned[sep] in ":=":
            explicit = True
            sep += 1
        elif sep == pos:  # "contraseña?" or "contraseñas": no value follows
            continue
        pos = sep
        for _ in range(6):
            while pos < n and cleaned[pos].isspace():
                pos += 1
            tok = _TOKEN.match(cleaned, pos)
            if tok is None:
                break
            word = tok.group()
            key = _fold(word)
            bare = key.rstrip(":=")
            if bare in _SECRET_FILLER or bare in _SECRET_EXPLICIT or bare in _SECRET_RELATIVE or not bare:
                if bare in _SECRET_EXPLICIT or key.endswith((":", "=")) or not bare:
                    explicit = True
                pos = tok.end()
                continue
            start, end = tok.start(), tok.end()
            closing = _QUOTES.get(word[0])
            if closing is not None:
                close = cleaned.find(closing, start + 1, min(n, start + 80))
                if close > start + 1:
                    end = close + 1
                    value = cleaned[start + 1:close]
                    if value.strip():
                        spans.append((start, end))
                    break
            if _password_like(word, explicit):
                spans.append((start, end))
            break
    if not strong:
        return spans
    for tok in _TOKEN.finditer(cleaned):
        inner = _mixed_token_span(tok.group(), folded[tok.start():tok.end()])
        if inner is None:
            inner = _letters_and_digits_span(tok.group())
        if inner is not None:
            spans.append((tok.start() + inner[0], tok.start() + inner[1]))
    return spans


#: A word of letters and digits, as passwords usually are ("Sonora2024", "bichi2023").
_ALNUM_WORD = re.compile(r"[A-Za-zÑñ]+[0-9]+[A-Za-zÑñ0-9]*|[0-9]+[A-Za-zÑñ]+[A-Za-zÑñ0-9]*")


def _letters_and_digits_span(token: str) -> tuple[int, int] | None:
    """Where a word mixing letters and digits sits in ``token``, in a message that talks about a password.

    However the sentence puts it ("me pide contraseña y pongo Sonora2024",
    "la cambié a Cocorit2024", "ya intenté con Sonora2024 como contraseña"),
    such a word next to the word "contraseña" is the password. CURPs, ordinal
    and unit numbers ("2do", "15hrs"), e-mails and links are not.
    """
    start, end = 0, len(token)
    while start < end and token[start] in _LEADING_PUNCT:
        start += 1
    while end > start and token[end - 1] in _TRAILING_PUNCT:
        end -= 1
    core = token[start:end]
    if not 6 <= len(core) <= 40 or not _ALNUM_WORD.fullmatch(core):
        return None
    if _CURP_START.match(core.upper()) or _TIME_LIKE.fullmatch(core) or re.fullmatch(r"\d+[a-z]{1,4}", core.lower()):
        return None
    if _SECRET_CUE.fullmatch(_fold(core)):  # "c0ntraseña" is the word, not the password
        return None
    return start, end


def _bare_secret(cleaned: str) -> list[tuple[int, int]]:
    """A message that is nothing but a password ("Cajeme2024!"), with no cue word.

    Conservative: the whole message is one token of 6 to 40 characters
    with a lower-case letter, a digit, and an upper-case letter or a symbol;
    never an e-mail, a link, a time or a CURP. Words, numbers, NSS, CURPs
    and IDs do not qualify; neither does a password inside a sentence
    without a cue ("Yaqui2024! es mi equipo favorito").
    """
    stripped = cleaned.strip()
    if not 6 <= len(stripped) <= 40 or any(ch.isspace() for ch in stripped):
        return []
    core = stripped
    if "@" in core or "://" in core or core.lower().startswith(("http", "www.")):
        return []
    if _TIME_LIKE.fullmatch(core) or _CURP_START.match(core.upper()):
        return []
    lower = any(ch.islower() for ch in core)
    digit = any(ch.isdigit() for ch in core)
    upper = any(ch.isupper() for ch in core)
    symbol = any(not ch.isalnum() for ch in core.rstrip(".,!?"))
    if not (lower and digit and (upper or symbol or core[-1] in "!?")):
        return []
    start = cleaned.index(stripped)
    return [(start, start + len(stripped))]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def find_secrets(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of ``text`` that look like a password, sorted.

    A value after a cue word (contraseña, contra, pass, clave, nip, pin...)
    counts when it has a digit, a symbol or mixed case, or when the student
    introduced it explicitly ("es", ":"); a common word never counts, so
    "olvidé la contraseña de mi correo" and "mi contraseña del cia no sirve"
    are left alone. When a cue is present, any token mixing letters, digits
    and a symbol ("Yaqui2024!") is caught too, unless the only cues are
    "clave"/"nip"/"pin", which also name error codes. Without a cue nothing
    is flagged: ordinary messages must reach the bot unchanged.
    """
    cleaned, index = _clean_with_map(text)
    folded = _fold_same_length(cleaned)
    out: list[tuple[int, int]] = []
    spans = _secret_spans_clean(cleaned, folded) or _bare_secret(cleaned)
    for s, e in _merge(spans):
        out.append((index[s], index[e - 1] + 1))
    return out


_SECRET_CLAUSE = re.compile(
    r"(?:(?<![a-z])(?:y|e|,)\s*)?(?:(?<![a-z])(?:mi|la|tu|su|el)\s+)?"
    r"(?<![a-z])(?:contrasenia|contrasena|contrasenna|contra|password|passwd|pass|pwd|psw|clave|nip|pin)"
    r"(?:\s+(?:" + "|".join(sorted(_SECRET_FILLER | _SECRET_RELATIVE)) + r"))*\s*(?:es|era|is|:|=)?\s*"
    + re.escape(_fold_same_length(REDACTED_SECRET))
    + r"|" + re.escape(_fold_same_length(REDACTED_SECRET))
    + r"\s+(?:es|era|seria|sera)\s+(?:(?:mi|la|tu|su|el)\s+)?"
    r"(?:contrasenia|contrasena|contrasenna|contra|password|passwd|pass|pwd|psw)(?![a-z])"
    r"(?:\s+(?:" + "|".join(sorted(_SECRET_FILLER)) + r")(?![a-z]))*",
)


def without_secret_phrases(redacted: str) -> str:
    """``redacted`` (from :func:`redact_secrets`) without the redacted passwords
    and the words that introduced them: "… y mi contraseña del cia es
    [contraseña oculta]" leaves nothing behind to be read as a name or a question.
    """
    if REDACTED_SECRET not in redacted:
        return redacted
    folded = _fold_same_length(redacted)
    parts: list[str] = []
    last = 0
    for m in _SECRET_CLAUSE.finditer(folded):
        parts.append(redacted[last:m.start()])
        parts.append(" ")
        last = m.end()
    parts.append(redacted[last:])
    return "".join(parts).replace(REDACTED_SECRET, " ")


def redact_secrets(text: str) -> tuple[str, bool]:
    """``text`` with every password span replaced by "[contraseña oculta]".

    The flag tells the caller to warn the student never to send it. Text
    already redacted when it was stored (``bot.inbound.redact_payload``)
    still raises the flag: the student did send a password.
    """
    spans = find_secrets(text)
    if not spans:
        return text, REDACTED_SECRET in text
    parts: list[str] = []
    last = 0
    for s, e in spans:
        parts.append(text[last:s])
        parts.append(REDACTED_SECRET)
        last = e
    parts.append(text[last:])
    return "".join(parts), True


# --------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------

_MONTHS = {
    "enero": 1, "ene": 1, "febrero": 2, "feb": 2, "febr": 2, "marzo": 3, "mar": 3,
    "abril": 4, "abr": 4, "mayo": 5, "may": 5, "junio": 6, "jun": 6,
    "julio": 7, "jul": 7, "agosto": 8, "ago": 8, "septiembre": 9, "setiembre": 9,
    "sep": 9, "sept": 9, "set": 9, "octubre": 10, "oct": 10, "noviembre": 11,
    "nov": 11, "diciembre": 12, "dic": 12,
    # how months are shortened by hand
    "enro": 1, "fbro": 2, "febo": 2, "mzo": 3, "marz": 3, "abl": 4, "abri": 4,
    "agto": 8, "agos": 8, "octu": 10, "novi": 11, "dici": 12,
}
_FULL_MONTHS = [m for m in _MONTHS if len(m) > 4]
_NUMBER_WORDS = {
    "un": 1, "una": 1, "uno": 1, "primero": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
}
_WEEKDAYS = {
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4,
    "sabado": 5, "domingo": 6,
}
_WD = r"(lunes|martes|miercoles|jueves|viernes|sabado|domingo)"
_NUMWORD = r"(?:\d{1,3}|un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)"

#: 2026-02-09, as a computer writes it (year first: never day/month).
_DATE_ISO = re.compile(r"(?<![0-9/:.\-])(20[0-9]{2})([/.\-])([0-9]{1,2})\2([0-9]{1,2})(?![0-9/:]|[.\-][0-9])")
_DATE_NUM3 = re.compile(
    r"(?<![0-9/:.\-])([0-9]{1,2})([/.\-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})(?![0-9/:]|[.\-][0-9])"
)
_DATE_NUM2 = re.compile(
    r"(?<![0-9/:.\-])([0-9]{1,2})([/\-])([0-9]{1,2})(?![0-9/:]|[.\-][0-9])"
    # "de 2-5 días hábiles", "de 8-10 am" are ranges, not dates
    r"(?!\s*(?:a\.?\s?m|p\.?\s?m|hrs?|horas?|dias?|semanas?|mes|meses|min|minutos?)(?![a-z]))"
)
_DATE_DAY_MONTH = re.compile(
    r"(?<![0-9a-z:])([0-9]{1,2}|primero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)"
    r"(?:ro|ero|er|do|o|°|º)?\s*(?:de\s+|del\s+|-|/)?([a-z]{3,11})(?![a-z])\.?"
    r"(?:\s*(?:de|del|,)?\s*([0-9]{4})(?![0-9]))?"
)
_DATE_MONTH_DAY = re.compile(
    r"(?<![a-z])([a-z]{3,11})\.?\s+([0-9]{1,2})(?![0-9:/])(?:\s*(?:de|del|,)?\s*([0-9]{4})(?![0-9]))?"
)
_WEEKDAY_DAY = re.compile(
    rf"(?<![a-z]){_WD}(?:\s+pasado)?\s+([0-9]{{1,2}})(?![0-9:/])"
)
_DAY_NUMBER = re.compile(r"(?<![a-z])(?:el\s+)?dia\s+([0-9]{1,2})(?![0-9:/])")
_HACE = re.compile(
    # "hace 15 días", and durations that say the same: "ya van como dos semanas",
    # "ya tiene como 2 semanas", "llevo 10 días esperando"
    r"(?<![a-z])(?:hace|ya\s+(?:van|va|tiene|tienen|son|paso|pasaron|llevo|lleva|llevamos|tengo)|van|llevo|lleva|llevamos|pasaron)\s+(?:(?:como|unos|unas|aprox|aproximadamente|mas\s+o\s+menos|casi|"
    rf"ya|al\s+menos|mas\s+de|apenas)\s+)*(un\s+par\s+de|{_NUMWORD})\s+"
    r"(dias?|semanas?|mes(?:es)?)(?![a-z])"
)
_ANTIER = re.compile(
    r"(?<![a-z])(?:antier|antiayer|anteayer|antes\s+de\s+ayer|antes\s+de\s+antier)(?![a-z])"
)
_AYER = re.compile(r"(?<![a-z])ayer(?![a-z])")
_LAST_WEEK = re.compile(r"(?<![a-z])(?:la\s+)?semana\s+pasada(?![a-z])")
_LAST_MONTH = re.compile(r"(?<![a-z])(?:el\s+)?mes\s+pasado(?![a-z])")
_WEEKDAY = re.compile(rf"(?<![a-z])(?:(el|este|el\s+pasado)\s+)?{_WD}(?![a-z])")
_TODAY = re.compile(
    r"(?<![a-z])(?:hoy|ahorita|acabo\s+de|acabamos\s+de|hace\s+(?:un\s+)?rato|"
    r"hace\s+(?:un|una|unos|unas|pocos|pocas|\d{1,2})\s+(?:minutos?|horas?|momento)|"
    r"hace\s+un\s+momento|esta\s+(?:manana|tarde|noche))(?![a-z])"
    # "ahorita que saqué la constancia ...": when they checked, not when they saved
    r"(?!\s+(?:que|q|k)\s+(?:(?:la|lo|me|le)\s+)?(?:saque|revise|consulte|entre|vi|cheque|checo|busque|descargue|"
    r"intente|reviso|consulto|saco|veo|busco|descargo|intento|imprimi|imprimo|baje|bajo)(?![a-z]))"
)


#: "la guardé hoy que entré al CIA": saved today, whatever clause follows.
_SAVED_TODAY = re.compile(r"(?<![a-z])guard\w*\s+(?:(?:la|lo|mi|solicitud)\s+)*hoy(?![a-z])")


def _month_from_word(word: str) -> int | None:
    """Month number from a Spanish name or abbreviation, typos tolerated."""
    month = _MONTHS.get(word)
    if month is not None or len(word) < 5:
        return month
    close = difflib.get_close_matches(word, _FULL_MONTHS, n=1, cutoff=0.8)
    return _MONTHS[close[0]] if close else None


def _day_from_word(word: str) -> int | None:
    if word.isascii() and word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def _local_today(now: datetime) -> date:
    if now.tzinfo is None or now.utcoffset() is None:
        return now.date()
    return now.astimezone(_TZ).date()


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _infer_year(day: int, month: int, today: date) -> date | None:
    """Day-month without year: this year, unless that is > 2 days ahead.

    Students talk about when they applied, which is in the past; two days of
    slack absorb a time-zone or typing slip without jumping back a year.
    """
    this_year = _safe_date(today.year, month, day)
    if this_year is not None and this_year <= today + timedelta(days=2):
        return this_year
    return _safe_date(today.year - 1, month, day)


def _with_year(day: int, month: int, year_text: str | None, today: date) -> date | None:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    if year_text:
        year = int(year_text)
        if year < 100:
            year += 2000
        if not 1900 <= year <= 2100:
            return None
        return _safe_date(year, month, day)
    return _infer_year(day, month, today)


def _minus_months(today: date, months: int) -> date:
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    day = today.day
    while day > 28 and _safe_date(year, month + 1, day) is None:
        day -= 1
    return date(year, month + 1, day)


def _recent_day_number(day: int, weekday: int | None, today: date) -> date | None:
    """Most recent date <= today with that day of month.

    With a weekday ("el viernes 11"), the one of the two most recent that
    falls on it wins; if neither does, the student probably mistyped the
    weekday and the most recent date is kept.
    """
    if not 1 <= day <= 31:
        return None
    found: list[date] = []
    for back in range(0, 14):
        start = _minus_months(today.replace(day=1), back)
        candidate = _safe_date(start.year, start.month, day)
        if candidate is not None and candidate <= today:
            found.append(candidate)
            if len(found) == 2:
                break
    if not found:
        return None
    if weekday is not None:
        for candidate in found:
            if candidate.weekday() == weekday:
                return candidate
    return found[0]


def _previous_weekday(weekday: int, today: date, *, include_today: bool) -> date:
    back = (today.weekday() - weekday) % 7
    if back == 0 and not include_today:
        back = 7
    return today - timedelta(days=back)


def _explicit_date(folded: str, today: date) -> date | None:
    """Dates that name a month: numeric d/m(/y) or "9 de feb"; first one wins."""
    found: list[tuple[int, date]] = []
    for m in _DATE_ISO.finditer(folded):
        d = _safe_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_NUM3.finditer(folded):
        d = _with_year(int(m.group(1)), int(m.group(3)), m.group(4), today)
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_NUM2.finditer(folded):
        d = _with_year(int(m.group(1)), int(m.group(3)), None, today)
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_DAY_MONTH.finditer(folded):
        day = _day_from_word(m.group(1))
        month = _month_from_word(m.group(2))
        if day is None or month is None:
            continue
        d = _with_year(day, month, m.group(3), today)
        if d is not None:
            found.append((m.start(), d))
    for m in _DATE_MONTH_DAY.finditer(folded):
        month = _month_from_word(m.group(1))
        if month is None:
            continue
        d = _with_year(int(m.group(2)), month, m.group(3), today)
        if d is not None:
            found.append((m.start(), d))
    if not found:
        return None
    return min(found, key=lambda item: item[0])[1]


def _relative_date(folded: str, today: date) -> date | None:
    """Relative phrases, most specific first ("hoy" is often just "now")."""
    m = _HACE.search(folded)
    if m:
        amount_text = m.group(1)
        amount = 2 if amount_text.startswith("un par") else _day_from_word(amount_text)
        unit = m.group(2)
        if amount is not None and amount <= 400:
            if unit.startswith("dia"):
                return today - timedelta(days=amount)
            if unit.startswith("semana"):
                return today - timedelta(days=7 * amount)
            return _minus_months(today, min(amount, 24))
    m = _WEEKDAY_DAY.search(folded)
    if m:
        d = _recent_day_number(int(m.group(2)), _WEEKDAYS[m.group(1)], today)
        if d is not None:
            return d
    m = _DAY_NUMBER.search(folded)
    if m:
        d = _recent_day_number(int(m.group(1)), None, today)
        if d is not None:
            return d
    if _ANTIER.search(folded):
        return today - timedelta(days=2)
    if _AYER.search(folded):
        return today - timedelta(days=1)
    if _LAST_WEEK.search(folded):
        return today - timedelta(days=7)
    if _LAST_MONTH.search(folded):
        return _minus_months(today, 1)
    m = _WEEKDAY.search(folded)
    if m:
        include_today = (m.group(1) or "").strip() == "este"
        return _previous_weekday(_WEEKDAYS[m.group(2)], today, include_today=include_today)
    if _TODAY.search(folded) or _SAVED_TODAY.search(folded):
        return today
    return None


_EN_NUMBERS = {"a": "1", "an": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
               "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "couple": "2"}
_EN_WEEKDAYS = {"monday": "lunes", "tuesday": "martes", "wednesday": "miercoles", "thursday": "jueves",
                "friday": "viernes", "saturday": "sabado", "sunday": "domingo"}
_DATE_WORDS: tuple[tuple[re.Pattern[str], Any], ...] = (
    # Spanish diminutives and colloquial forms
    (re.compile(r"\bsemanita(s)?\b", re.I), r"semana\1"),
    (re.compile(r"\bdiit(a|o)s\b", re.I), "dias"),
    (re.compile(r"\bahorit(a|ita)\b", re.I), "hoy"),
    (re.compile(r"\bhoy(?:\s+mismo)?\b", re.I), "hoy"),
    # English, for Spanglish messages
    (re.compile(r"\bthe day before yesterday\b", re.I), "antier"),
    (re.compile(r"\byesterday\b", re.I), "ayer"),
    (re.compile(r"\b(?:just\s+)?today\b|\bthis morning\b|\btonight\b", re.I), "hoy"),
    (re.compile(r"\b(?:like\s+|about\s+)?(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|couple)"
                r"(?:\s+of)?\s+days?\s+ago\b", re.I),
     lambda m: f"hace {_EN_NUMBERS.get(m.group(1).lower(), m.group(1))} dias"),
    (re.compile(r"\b(?:like\s+|about\s+)?(\d+|an?|one|two|three|couple)(?:\s+of)?\s+weeks?\s+ago\b", re.I),
     lambda m: f"hace {_EN_NUMBERS.get(m.group(1).lower(), m.group(1))} semanas"),
    (re.compile(r"\blast week\b", re.I), "hace una semana"),
    (re.compile(r"\blast (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
     lambda m: f"el {_EN_WEEKDAYS[m.group(1).lower()]} pasado"),
    (re.compile(r"\b(?:on\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I),
     lambda m: f"el {_EN_WEEKDAYS[m.group(1).lower()]}"),
)


def _spanish_date_words(text: str) -> str:
    """Diminutives ("una semanita") and English ("4 days ago") in plain Spanish."""
    for pattern, replacement in _DATE_WORDS:
        text = pattern.sub(replacement, text)
    return text


def parse_date(text: str, now: datetime) -> date | None:
    """The date a student refers to ("el 9 de feb", "antier", "el lunes"), or None.

    ``now`` is the moment of the message; its local date in
    America/Hermosillo is "hoy". An explicit day and month wins over any
    relative word ("el lunes pasado 9 de feb"). Numeric dates are day/month,
    Mexican order. A bare weekday is the most recent one strictly before
    today (students talk about the past); "este lunes" may be today.
    """
    cleaned = _clean(text)
    if not cleaned:
        return None
    cleaned = _spanish_date_words(cleaned)
    folded = _fold_same_length(cleaned)
    today = _local_today(now)
    try:
        explicit = _explicit_date(folded, today)
        if explicit is not None:
            return explicit
        return _relative_date(folded, today)
    except (ValueError, OverflowError):  # dates at the edge of the calendar
        return None


_BARE_DAY = re.compile(r"\s*(?:el\s+)?(?:dia\s+)?([0-9]{1,2})\s*(?:de\s+este\s+mes|de\s+este)?\s*[.!]*\s*")
_TOMORROW = re.compile(
    r"(?<![a-z])(?<!esta )(?<!la )(?<!en la )(?:(pasado\s+)?manana)(?![a-z])|(?<![a-z])tomorrow(?![a-z])"
)


def parse_answer_date(text: str, now: datetime) -> tuple[date | None, str | None]:
    """The answer to "¿qué día guardaste tu solicitud?": (date, None) or (None, problem).

    Besides :func:`parse_date`, a bare day of the month ("el 9") is read
    as its most recent date. Problems: "invalid" for a date that does not
    exist ("el 30 de febrero"), "future" comes back as the date itself
    ("mañana" is tomorrow), for the caller to say it has not come yet.
    """
    found = parse_date(text, now)
    if found is not None:
        return found, None
    cleaned = _fold_same_length(_clean(text))
    today = _local_today(now)
    m = _BARE_DAY.fullmatch(cleaned)
    if m:
        day = _recent_day_number(int(m.group(1)), None, today)
        return (day, None) if day is not None else (None, "invalid")
    m = _TOMORROW.search(cleaned)
    if m:
        return today + timedelta(days=2 if m.group(1) else 1), None
    for dm in _DATE_DAY_MONTH.finditer(cleaned):
        day, month = _day_from_word(dm.group(1)), _month_from_word(dm.group(2))
        if day is not None and month is not None:
            return None, "invalid"
    for dm in _DATE_NUM2.finditer(cleaned):
        if 1 <= int(dm.group(3)) <= 12:
            return None, "invalid"
    if _DATE_ISO.search(cleaned):
        return None, "invalid"
    return None, None


_MENTION_NOW = datetime(2024, 12, 31, 12, 0, tzinfo=_TZ)  # leap year: 29/02 is valid


def mentions_date(text: str) -> bool:
    """Whether ``text`` contains a date :func:`parse_date` can read."""
    return parse_date(text, _MENTION_NOW) is not None


# --------------------------------------------------------------------------
# Masking for logs
# --------------------------------------------------------------------------


def _mask_digits_keep_last(segment: str, keep: int = 2) -> str:
    total = sum(ch.isdigit() for ch in segment)
    seen = 0
    out: list[str] = []
    for ch in segment:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep else "*")
        else:
            out.append(ch)
    return "".join(out)


_ESCAPED = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|\\x[0-9a-fA-F]{2})+")
_PERCENT = re.compile(r"(?:%[0-9a-fA-F]{2})+")
_PLUS_BETWEEN = re.compile(r"(?<=[0-9A-Za-z])\+(?=[0-9A-Za-z])")
#: A CURP written in groups ("BOXW 310820 HNERXN09", "BOXW-310820-H-NE-RXN-09"): its 18 characters
#: with at most two of space, dot or dash between them. Checked afterwards against the CURP's shape.
_SPACED_CURP = re.compile(r"(?<![A-Za-zÑñ0-9])[A-Za-zÑñ](?:[ .\-]{0,2}[A-Za-zÑñ0-9]){17}(?![A-Za-zÑñ0-9])")


def _unescape(match: re.Match[str]) -> str:
    try:
        decoded = match.group().encode("latin-1").decode("unicode_escape").encode("utf-16", "surrogatepass")
        return decoded.decode("utf-16")
    except (UnicodeError, ValueError):
        return match.group()


def _unpercent(match: re.Match[str]) -> str:
    try:
        return bytes.fromhex(match.group().replace("%", "")).decode("utf-8")
    except (UnicodeError, ValueError):
        return match.group()


def _unhide(text: str) -> str:
    """What a log line says once its disguises are undone, so masking sees the data in it.

    JSON and Python escapes (``contrase\\u00f1a``), percent-encoding (URLs, ``+`` for a space
    between characters), fullwidth letters and digits (``１２３``) and every other decimal digit
    (Arabic-Indic, mathematical) become the plain characters they stand for.
    """
    if "\\" in text:
        text = _ESCAPED.sub(_unescape, text)
    if "%" in text:
        text = _PERCENT.sub(_unpercent, text)
    if "+" in text:
        text = _PLUS_BETWEEN.sub(" ", text)
    if text.isascii():
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:  # fullwidth forms of ASCII
            ch = chr(code - 0xFEE0)
        elif not ch.isascii() and ch.isdecimal():
            ch = str(unicodedata.decimal(ch, 0))
        out.append(ch)
    return "".join(out)


def _spaced_curp_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _SPACED_CURP.finditer(text):
        compact = re.sub(r"[ .\-]", "", m.group()).upper()
        if _CURP_START.match(compact) and re.fullmatch(r"[A-ZÑ]{4}[0-9]{6}[HMX][A-ZÑ]{5}[0-9A-Z][0-9]", compact):
            spans.append((m.start(), m.end()))
    return spans


def _mask_after_four(text: str) -> str:
    """A CURP's first four characters kept, every other letter or digit a ``*``, separators kept."""
    kept = 0
    out = []
    for ch in text:
        if ch.isalnum():
            kept += 1
            out.append(ch if kept <= 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_personal(text: str) -> str:
    """``text`` safe for logs: NSS, CURP, student IDs, phones and passwords hidden.

    NSS-like runs keep their first 2 digits ("26*********"), CURPs their
    first 4 characters (also when written in groups: "BOXW ****** ********"),
    student IDs become "00000******" (or "******"), phone numbers keep their
    last 2 digits, passwords become "[contraseña oculta]". Escapes,
    percent-encoding and fullwidth or other non-ASCII digits are undone and
    invisible characters dropped first, so none of them can carry a number
    or a password past the masking.
    """
    cleaned = _clean(_unhide(text))
    redacted, _ = redact_secrets(cleaned)
    replacements: list[tuple[int, int, str]] = []
    for s, e in _curp_spans(redacted):
        replacements.append((s, e, redacted[s:s + 4] + "*" * (e - s - 4)))
    for s, e in _spaced_curp_spans(redacted):  # the same span as a whole CURP is applied once
        replacements.append((s, e, _mask_after_four(redacted[s:e])))
    if replacements:
        redacted = _apply(redacted, replacements)
        replacements = []
    folded = _fold_same_length(redacted)
    for n in _scan_numbers(redacted, folded):
        if n.kind == "nss":
            masked = n.digits[:2] + "*" * (len(n.digits) - 2)
        elif n.kind == "student_id":
            masked = "00000******"
        elif n.kind == "student_id6":
            masked = "******"
        else:
            masked = _mask_digits_keep_last(redacted[n.start:n.end])
        replacements.append((n.start, n.end, masked))
    return _apply(redacted, replacements)


def _apply(text: str, replacements: list[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    last = 0
    for s, e, new in sorted(replacements):
        if s < last:
            continue
        parts.append(text[last:s])
        parts.append(new)
        last = e
    parts.append(text[last:])
    return "".join(parts)
