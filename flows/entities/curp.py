"""The CURP: 18 characters, its structure and its check digit.

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import re
from datetime import date

from flows.entities.text import _clean, _dedupe

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
#: 18 characters with a letter O where the birth date's digits go ("GAMJO30415…"): a CURP mistyped,
#: kept so the bot can say so (its "format" problem names the O), not read as something else.
_CURP_WITH_O = re.compile(r"[A-ZÑ]{4}(?=[0-9O]{6})[0-9]*O[0-9O]*[HMX]")
#: 18 letters and digits with spaces, dots or dashes between them ("BOXW-310820-HNERXN09").
#: Found at every start: a run of words that fails the shape must not hide the CURP after it.
_SPACED_CURP_AT = re.compile(r"(?<![A-Za-zÑñ0-9])(?=([A-Za-zÑñ](?:[ .\-]{0,2}[A-Za-zÑñ0-9]){17})(?![A-Za-zÑñ0-9]))")
_CURP_SHAPE = re.compile(r"[A-ZÑ]{4}[0-9]{6}[HMX][A-ZÑ]{5}[0-9A-Z][0-9]")
_CURP_SEPARATORS = re.compile(r"[ .\-]")


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
    found: list[tuple[int, str]] = []
    for m in _CURP_TOKEN.finditer(cleaned):
        token = m.group().upper()
        if 16 <= len(token) <= 20 and _CURP_START.match(token):
            found.append((m.start(), token))
        elif len(token) == 18 and _CURP_WITH_O.match(token):
            found.append((m.start(), token))
    # Typed in pieces, as it is often read out: "BOXW 310820 HNERXN09".
    found += [(s, cleaned[s:e].upper().translate(_NO_SEPARATORS)) for s, e in spaced_curp_spans(cleaned)]
    return _dedupe([token for _, token in sorted(found)])


_NO_SEPARATORS = str.maketrans("", "", " .-")


def spaced_curp_spans(cleaned: str) -> list[tuple[int, int]]:
    """Where ``cleaned`` holds a CURP typed in pieces (with spaces, dots or dashes), as (start, end).

    Only the exact shape counts (4 letters, 6 digits, sex, 5 letters, 2
    characters), so a run of words is never taken for one.
    """
    spans: list[tuple[int, int]] = []
    for m in _SPACED_CURP_AT.finditer(cleaned):
        start, end = m.start(1), m.end(1)
        if spans and start < spans[-1][1]:
            continue
        piece = cleaned[start:end]
        if _CURP_SEPARATORS.search(piece) and _CURP_SHAPE.fullmatch(piece.upper().translate(_NO_SEPARATORS)):
            spans.append((start, end))
    return spans


def _curp_spans(cleaned: str) -> list[tuple[int, int]]:
    return [
        (m.start(), m.end())
        for m in _CURP_TOKEN.finditer(cleaned)
        if 16 <= len(m.group()) <= 20 and _CURP_START.match(m.group().upper())
    ]
