"""Digit runs: the NSS (11 digits, Luhn check digit), ITSON student IDs, and the scanner they
share with phone numbers.

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flows.entities.curp import spaced_curp_spans
from flows.entities.text import _clean, _dedupe, _fold_same_length, _is_ascii_digits


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
            elif (len(seg) == 1 and 7 <= len(digits) <= 9 and digits.startswith("0")
                  and len(digits.lstrip("0")) == 6):
                # "00234567": the ID with some of its leading zeros.
                found.append(_Number("student_id6", start, end, digits.lstrip("0")))
            elif len(seg) == 2 and len(digits) == 6 and _ID_CUE.search(folded, max(0, start - 20), start):
                # "mi id es 234 567": the ID written in two groups, after its name.
                found.append(_Number("student_id6", start, end, digits))
        prev_end = chain.end()
    return found


#: The ID named just before its digits ("id", "matrícula", "expediente").
_ID_CUE = re.compile(r"(?:\bid|matricula|expediente|numero de estudiante)\b[\s:#.]*(?:es\s+)?$")


_DIGITS_AND_O = re.compile(r"(?<![0-9A-Za-z])[0-9Oo]{11}(?![0-9A-Za-z])")


def letter_o_as_zero(text: str) -> str:
    """``text`` with an NSS typed with the letter O for a zero ("2318O456784") written with the
    zero, when the result is an NSS whose check digit is right (then the O was surely a zero;
    the summary shows it for the student to confirm). Anything else is left as typed."""
    def fix(m: re.Match[str]) -> str:
        token = m.group(0)
        digits = token.replace("O", "0").replace("o", "0")
        if token == digits or sum(c.isdigit() for c in token) < 8 or nss_problem(digits) is not None:
            return token
        return digits

    return _DIGITS_AND_O.sub(fix, text) if ("O" in text or "o" in text) else text


def find_nss_candidates(text: str) -> list[str]:
    """Digit runs of 10-12 digits that may be an NSS, digits only, in order.

    Ten and twelve are kept so the bot can say "le falta/sobra un dígito".
    Student IDs (11 digits starting 00000) and phone numbers ("+52 ...",
    "cel 644 ...") are not candidates. Repeats are returned once.
    """
    cleaned = _without_spaced_curps(_clean(text))
    folded = _fold_same_length(cleaned)
    return _dedupe([n.digits for n in _scan_numbers(cleaned, folded) if n.kind == "nss"])


def _without_spaced_curps(cleaned: str) -> str:
    """``cleaned`` with each CURP typed in pieces blanked out: "BOXW 310820 HNERXN09" holds
    a 6-digit group that is its birth date, not a student ID."""
    for start, end in spaced_curp_spans(cleaned):
        cleaned = cleaned[:start] + " " * (end - start) + cleaned[end:]
    return cleaned


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
    cleaned = _without_spaced_curps(_clean(text))
    folded = _fold_same_length(cleaned)
    out: list[str] = []
    for n in _scan_numbers(cleaned, folded):
        if n.kind == "student_id":
            out.append(n.digits)
        elif n.kind == "student_id6":
            out.append("00000" + n.digits)
    return _dedupe(out)
