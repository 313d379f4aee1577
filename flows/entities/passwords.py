"""Passwords a student pastes by mistake: found, redacted, never stored.

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import re

from flows.entities.curp import _CURP_START
from flows.entities.names import _FUNCTION_WORDS
from flows.entities.text import _clean_with_map, _fold, _fold_same_length

#: What replaces a password in stored and logged text.
REDACTED_SECRET = "[contraseña oculta]"


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


#: "clave del CIA", "clave de acceso": a weak cue that can only mean the password.
_LOGIN_CLAVE = re.compile(r"\s+(?:(?:de|del|de la|mi|para)\s+){0,2}(?:cia|itson|acceso|portal|entrada|ingreso)(?![a-z])")


#: "error", "código", "mensaje" just before a weak cue: "error clave 404" names an error code.
_ERROR_BEFORE = re.compile(r"(?:error|errores|codigo|mensaje|aviso|falla)\W+(?:\w+\W+)?$")


def _secret_spans_clean(cleaned: str, folded: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cues = list(_SECRET_CUE.finditer(folded))
    if not cues:
        return spans
    # "clave", "nip" and "pin" also name error codes and card PINs; only the
    # unambiguous words make every odd-looking token of the message suspect.
    strong = any(c.group() not in _WEAK_SECRET_CUES or _LOGIN_CLAVE.match(folded, c.end()) for c in cues)
    n = len(cleaned)
    for cue in cues:
        if cue.group() in _WEAK_SECRET_CUES and _ERROR_BEFORE.search(folded, max(0, cue.start() - 40), cue.start()):
            continue  # "me sale error clave 404": an error's code, not a password
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


#: "13-feb", "13-Feb-2026", "feb-13": a date typed short, not a password.
_DATE_LIKE = re.compile(
    r"(?i)(?:\d{1,2}[-/.]?(?:ene|feb|mar|abr|may|jun|jul|ago|sep|set|oct|nov|dic)[a-z]*(?:[-/.]\d{2,4})?"
    r"|(?:ene|feb|mar|abr|may|jun|jul|ago|sep|set|oct|nov|dic)[a-z]*[-/.]?\d{1,2}(?:[-/.]\d{2,4})?)"
)


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
    if _TIME_LIKE.fullmatch(core) or _CURP_START.match(core.upper()) or _DATE_LIKE.fullmatch(core.rstrip(".,!?")):
        return []
    lower = any(ch.islower() for ch in core)
    digit = any(ch.isdigit() for ch in core)
    upper = any(ch.isupper() for ch in core)
    symbol = any(not ch.isalnum() for ch in core.rstrip(".,!?"))
    if not (lower and digit and (upper or symbol or core[-1] in "!?")):
        return []
    start = cleaned.index(stripped)
    return [(start, start + len(stripped))]


#: A message about logging in, or about remembering a value: no word "contraseña", but the
#: value typed next to it is the password ("ya intenté con Tigre#99 y no me deja entrar").
_LOGIN_CONTEXT = re.compile(
    r"(?<![a-z])(?:entr(?:o|e|ar|a|ando)|ingres\w*|acced\w*|acceso|inici\w* (?:de )?sesion|login|logue\w*"
    r"|intente con|probe con|me acorde|ya me acorde|recorde|usuario|user)(?![a-z])"
)
#: The words that introduce the value typed: "intenté *con* X", "*es* X", "*puse* X".
_TYPED_WITH = re.compile(r"(?<![a-z])(?:con|es|era|puse|pongo|meti|tecle\w*)\s+$")


def _login_secret(cleaned: str, folded: str) -> list[tuple[int, int]]:
    """In a message about logging in, a value that can only be a password.

    A token with a lower-case letter, a digit and a symbol ("Tigre#99"), or
    letters and digits right after "con", "es" or "puse" ("intenté con
    Sonora2024"). Error codes ("ERR-500", upper case), e-mails, links, times
    and CURPs are not.
    """
    if not _LOGIN_CONTEXT.search(folded):
        return []
    spans: list[tuple[int, int]] = []
    for tok in _TOKEN.finditer(cleaned):
        word = tok.group()
        if not any(ch.islower() for ch in word):
            continue
        inner = _mixed_token_span(word, folded[tok.start():tok.end()])
        if inner is None and _TYPED_WITH.search(folded, max(0, tok.start() - 12), tok.start()):
            inner = _letters_and_digits_span(word)
        if inner is not None:
            spans.append((tok.start() + inner[0], tok.start() + inner[1]))
    return spans


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
    "clave"/"nip"/"pin", which also name error codes. Without a cue word,
    only a message that is nothing but a password (:func:`_bare_secret`) or a
    value that can only be one in a message about logging in
    (:func:`_login_secret`): ordinary messages must reach the bot unchanged.
    """
    cleaned, index = _clean_with_map(text)
    folded = _fold_same_length(cleaned)
    out: list[tuple[int, int]] = []
    spans = _secret_spans_clean(cleaned, folded) or _bare_secret(cleaned) or _login_secret(cleaned, folded)
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
