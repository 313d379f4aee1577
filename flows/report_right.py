"""The right value of a mistaken field the report's own data does not hold.

A mistake in the ID, name, NSS or CURP is fixed with the data the report
collects anyway. A mistake in the e-mail, the phone, the address, the postal
code, the birth date or the sex is not: "me equivoqué en el correo" tells staff
what is wrong but not what it should be, and they would have to write back to
ask. So the report asks for it too, with the data or, once the data is in,
alone ("¿cuál es tu *correo* correcto?"), and puts it in the detail.
"""
from __future__ import annotations

import re
from typing import Any

from flows import entities, intents

#: The application's fields outside the report's data, by the words students name them with.
OTHER_FIELDS: dict[str, tuple[str, ...]] = {
    "correo": ("correo", "email", "mail", "e mail", "gmail", "hotmail", "outlook"),
    "telefono": ("telefono", "celular", "cel", "numero de cel", "whatsapp"),
    "codigo_postal": ("codigo postal", "cp", "c p"),
    "domicilio": ("domicilio", "direccion", "calle", "colonia"),
    "fecha_nacimiento": ("fecha de nacimiento", "nacimiento", "fecha nacimiento", "cumpleanos"),
    "sexo": ("sexo", "genero"),
}

_PHONE = re.compile(r"(?<![\d+])(?:\+?52[\s-]?)?((?:\d[\s.-]?){9}\d)(?!\d)")
_POSTAL = re.compile(r"(?<!\d)(8[0-9]{4})(?!\d)")
_DATE = re.compile(
    r"\b\d{1,2}\s*[/-]\s*\d{1,2}\s*[/-]\s*\d{2,4}\b"
    r"|\b\d{1,2} de (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)"
    r"(?: (?:de|del) \d{4})?\b"
)
#: "puse 2004 y es 2003": only the year was wrong, and the right one follows its cue.
_RIGHT_YEAR = re.compile(r"\b(?:es|era|debe ser|deberia ser|tenia que ser|correcto|bueno)\s+(?:el\s+|del\s+|de\s+)?((?:19|20)\d{2})\b")
_SEX = re.compile(r"\b(hombre|mujer|masculino|femenino)\b")
#: "el bueno es …", "debe ser …", "es …": the right value follows.
_CUE = re.compile(r"\b(?:(?:el|la|lo) (?:bueno|buena|correcto|correcta|real) (?:es|era)|debe ser|deberia ser|tenia que ser"
                  r"|es|era|correcto|correcta)\b[:\s]*(.+)$")


def other_field(text: str) -> str | None:
    """The field outside the report's data a message names, if any ("me equivoqué en el correo")."""
    folded = " " + " ".join(intents.words(text)) + " "
    for field, names in OTHER_FIELDS.items():
        if any(f" {n} " in folded for n in names):
            return field
    return None


def value_in(field: str, text: str, *, alone: bool = False) -> str | None:
    """The value of ``field`` the text gives, by its shape or after a cue ("el bueno es …");
    ``alone``: the text answers the question for it, so it may be the bare value."""
    if field == "correo":
        return _the_right_one(text, [(m.start(), m.group(0)) for m in entities.EMAIL.finditer(text)])
    if field == "telefono":
        return _the_right_one(text, [(m.start(), re.sub(r"\D", "", m.group(1))) for m in _PHONE.finditer(text)])
    folded = " ".join(intents.words(text))
    if field == "codigo_postal":
        m = _POSTAL.search(text)
        return m.group(1) if m else None
    if field == "fecha_nacimiento":
        m = _DATE.search(text.lower()) or _DATE.search(folded) or _RIGHT_YEAR.search(folded)
        return (m.group(1) if m.re is _RIGHT_YEAR else m.group(0)) if m else None
    if field == "sexo":
        m = _SEX.search(folded)
        return m.group(1) if m else None
    m = _CUE.search(folded)
    if m and len(m.group(1).split()) >= 2:
        return m.group(1).strip()
    if alone and len(intents.words(text)) >= 2 and not intents.is_question(text) and not intents.says_dont_know(text):
        return " ".join(text.split())
    return None


#: "el bueno es …", "es el correcto", "…, había puesto …": which of two values is the right one.
_RIGHT_AFTER = re.compile(r"(?:buen[oa]|correct[oa]|real|debe ser|deberia ser)\W+(?:es\W+)?$", re.IGNORECASE)
_RIGHT_BEFORE = re.compile(r"^\W*(?:es\W+)?(?:el|la)?\W*(?:buen[oa]|correct[oa])\b", re.IGNORECASE)
_WRONG_BEFORE = re.compile(r"(?:puse|habia puesto|había puesto|escribi|escribí|tenia|tenía|mal|era)\W+$", re.IGNORECASE)


def _the_right_one(text: str, found: list[tuple[int, str]]) -> str | None:
    """Of the values a message gives, the right one: the one a cue names right ("el bueno es
    …", "… es el bueno"), else the one not named as what was typed ("puse …"), else the last."""
    if len(found) <= 1:
        return found[0][1] if found else None
    for start, value in found:
        before, after = text[:start], text[start + len(value):]
        if _RIGHT_AFTER.search(before[-30:]) or _RIGHT_BEFORE.search(after[:30]):
            return value
    unnamed = [value for start, value in found if not _WRONG_BEFORE.search(text[:start][-20:])]
    return unnamed[-1] if unnamed else found[-1][1]


def note_field(esc: dict[str, Any], *texts: str) -> None:
    """Once the mistake is described: whether its right value must be asked for (a field outside
    the data named, and none of ``texts`` giving its value)."""
    if esc.get("reason") != "datos_erroneos" or "right_field" in esc or not esc.get("description"):
        return
    field = other_field(esc["description"])
    if field and any(value_in(field, t) for t in (esc["description"], *texts)):
        field = None
    esc["right_field"] = field


def pending(esc: dict[str, Any]) -> str | None:
    """The field whose right value is still to be asked for, if any."""
    return None if esc.get("right_value") else esc.get("right_field")


def take(esc: dict[str, Any], text: str, label: str, *, alone: bool) -> tuple[str, str] | None:
    """The right value read from ``text``: the line for the detail and the text left once it is
    out (None: the text has no value). "No sé" when it is asked for alone is said in the line."""
    field = pending(esc)
    if not field:
        return None
    if alone and intents.says_dont_know(text) and len(intents.words(text)) <= 6:
        esc["right_value"] = "?"
        return f"{label}: no lo tiene a la mano", ""
    value = value_in(field, text, alone=alone)
    if not value:
        return None
    esc["right_value"] = value
    if field == "telefono":
        rest = _PHONE.sub(" ", text)  # every phone number (the wrong one too): none of them an NSS
    elif field == "correo":
        rest = entities.EMAIL.sub(" ", text)
    else:
        rest = text.replace(value, " ")
        rest = rest if rest != text else ""
    return f"{label}: {value}", rest
