"""Masking personal data (NSS, CURP, student IDs, phones, passwords) for logs.

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import re
import unicodedata

from flows.entities.curp import _curp_spans, spaced_curp_spans
from flows.entities.ids import _scan_numbers
from flows.entities.passwords import redact_secrets
from flows.entities.text import _clean, _fold_same_length


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


def mask_personal(text: str, *, emails: bool = True) -> str:
    """``text`` safe for logs: NSS, CURP, student IDs, phones, e-mails and passwords hidden.

    NSS-like runs keep their first 2 digits ("26*********"), CURPs their
    first 4 characters (also when written in groups: "BOXW ****** ********"),
    student IDs become "00000******" (or "******"), phone numbers keep their
    last 2 digits, passwords become "[contraseña oculta]". Escapes,
    percent-encoding and fullwidth or other non-ASCII digits are undone and
    invisible characters dropped first, so none of them can carry a number
    or a password past the masking. E-mails keep their first character and
    domain; ``emails=False`` leaves them (a report's detail, where the right
    e-mail may be the very correction staff must make).
    """
    cleaned = _clean(_unhide(text))
    redacted, _ = redact_secrets(cleaned)
    replacements: list[tuple[int, int, str]] = []
    for s, e in _curp_spans(redacted):
        replacements.append((s, e, redacted[s:s + 4] + "*" * (e - s - 4)))
    for s, e in spaced_curp_spans(redacted):  # the same span as a whole CURP is applied once
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
    masked = _apply(redacted, replacements)
    if not emails:
        return masked
    # An e-mail address keeps its first character and its domain: "p***@gmail.com".
    return EMAIL.sub(lambda m: m.group(1)[0] + "***@" + m.group(2), masked)


#: An e-mail address: its local part and its domain.
EMAIL = re.compile(r"([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)")


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
