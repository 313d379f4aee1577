"""Phone numbers as the desk compares them, however they were written.

Why this exists: Twilio names the desk's WhatsApp number in ``To`` in one
form (``whatsapp:+5216444207351``, with Mexico's old mobile "1"), while an
operator may configure it in another (``+526444207351``, ``6444207351``,
``+52 644 420 7351``). Compared as strings they differ, and every message
to the desk was dropped as "not one of our numbers". Here a number is read
into E.164 (:func:`e164`) and compared by :func:`number_key`, which treats
``+521XXXXXXXXXX`` and ``+52XXXXXXXXXX`` as the same Mexican mobile.
"""
from __future__ import annotations

import re

#: What people put between digits: spaces, dashes, dots, parentheses.
_SEPARATORS = re.compile(r"[\s\-().]")
_WHATSAPP = "whatsapp:"
#: E.164: a country code and subscriber number, at most 15 digits (8 is the shortest we accept).
_E164 = re.compile(r"\+\d{8,15}")


def e164(value: str | None) -> str | None:
    """``value`` as ``+<digits>``, or None when it cannot be read as a phone number.

    A ``whatsapp:`` prefix and separators are dropped. Without a ``+``, a
    10-digit number is a Mexican national number (``+52`` is added), and 12
    digits starting with ``52`` or 13 starting with ``521`` lack only the
    ``+``; any other number must be written with its ``+`` and country code.
    The old mobile "1" is kept: it is how the number was written (and may
    be how Twilio knows the sender); :func:`number_key` is for comparing.
    """
    text = (value or "").strip()
    if text.lower().startswith(_WHATSAPP):
        text = text[len(_WHATSAPP):]
    text = _SEPARATORS.sub("", text)
    if not text.startswith("+"):
        if not text.isdigit():
            return None
        if len(text) == 10:
            text = "52" + text
        elif not ((len(text) == 12 and text.startswith("52")) or (len(text) == 13 and text.startswith("521"))):
            return None
        text = "+" + text
    return text if _E164.fullmatch(text) else None


def number_key(value: str | None) -> str | None:
    """The form two numbers are compared in: E.164, Mexican mobiles without the old "1".

    ``whatsapp:+5216444207351``, ``+526444207351`` and ``644 420 7351`` all
    give ``+526444207351``; None when ``value`` is not a phone number.
    """
    number = e164(value)
    if number is not None and len(number) == 14 and number.startswith("+521"):
        return "+52" + number[4:]
    return number
