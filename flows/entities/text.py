"""Text helpers every finder shares: folding, cleaning, de-duplication.

Part of :mod:`flows.entities` (its docstring has the design rules).
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

_KEEP_CONTROLS = "\n\t"


def _clean_with_map(text: str) -> tuple[str, list[int]]:
    """Drop invisible format characters; turn other controls into spaces.

    Zero-width spaces, bidi marks and soft hyphens (category Cf) are removed
    because WhatsApp and copy-paste insert them inside numbers and words,
    which would otherwise split "1234\u200b5678903" or hide "contra\u200bseña".
    Returns the cleaned text and, for each of its characters, the index of
    the character it came from in ``text``.
    """
    if text.isascii() and text.isprintable():  # most messages: nothing to drop or replace
        return text, list(range(len(text)))
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


@lru_cache(maxsize=1024)
def _clean(text: str) -> str:
    """:func:`_clean_with_map`'s text alone; kept for the step, whose finders clean the same text many times."""
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
    return _fold_unicode(text)


@lru_cache(maxsize=1024)
def _fold_unicode(text: str) -> str:
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
