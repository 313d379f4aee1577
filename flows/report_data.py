"""Reading a report's data out of a student's message: the ID, name, NSS and CURP.

Part of the report (:mod:`flows.escalation` collects; this module reads):
every valid item a message holds, what is wrong with the others (said back to
the student), and whether the student says they do not know their NSS.
Nothing is kept here: the escalation decides, once the privacy notice is
accepted.
"""
from __future__ import annotations

import re
from typing import Any

from flows import entities, intents
from flows.context import Step
from knowledge.matcher import fold
from flows.report_text import CORRECTION_WORDS, NSS_UNKNOWN, field_named, leftover, remove_digits


def read(
    step: Step, esc: dict[str, Any], text: str, expecting: list[str] | None = None, *, correcting: bool = False,
) -> tuple[dict[str, str], list[str], bool]:
    """Every valid item in the text, what is wrong with the rest, and "no sé mi NSS".

    Nothing is kept here: :func:`_accept` decides, once the privacy notice
    has been acknowledged.
    """
    data = esc["data"]
    text = entities.EMAIL.sub(" ", text)  # "juan99@gmail.com": an address, none of its digits an ID
    found: dict[str, str] = {}
    problems: list[str] = []
    consumed = text
    for value in entities.find_student_id_candidates(text):
        found["student_id"] = value
        consumed = remove_digits(consumed, value)
        consumed = remove_digits(consumed, value[5:])
    right = said_right_value(text, entities.find_nss_candidates(text))
    for value in entities.find_nss_candidates(text):
        problem = entities.nss_problem(value)
        if right is not None and problem is None:
            # "puse 1234… y el bueno es 9876…": the right one; the wrong one goes into the detail.
            found["nss"] = right
        elif problem is None and found.get("nss", value) != value:
            # "tengo 2 nss, el A y el B": the first one stays, and the student is told.
            problems.append(step.msg("several_nss", value=found["nss"]))
        elif problem is None:
            found["nss"] = value
        elif problem == "check" and esc.get("rejected_nss") == value and "nss" not in found:
            # The same 11 digits a second time: the student insists it is theirs. Kept as sent,
            # flagged for staff (who can check it at the IMSS), rather than asked for forever.
            found["nss"] = value
            if data.get("nss") != value:  # said once, not at every repeat
                esc["nss_unverified"] = value
                problems.append(step.msg("nss_kept_unverified", value=value))
        else:
            if problem == "check":
                esc["rejected_nss"] = value
            problems.append(step.msg(f"nss_{problem}", value=value, n=len(value)))
        consumed = remove_digits(consumed, value)
    for value in entities.find_curp_candidates(text):
        problem = entities.curp_problem(value)
        if problem is None and found.get("curp", value.upper()) != value.upper():
            problems.append(step.msg("several_curp", value=found["curp"]))
        elif problem is None:
            found["curp"] = value.upper()
        elif problem == "check" and esc.get("rejected_curp") == value.upper() and "curp" not in found:
            # The same CURP a second time, as with the NSS: kept as sent, flagged for staff (who can
            # look it up at RENAPO), rather than asked for in a loop.
            found["curp"] = value.upper()
            if data.get("curp") != value.upper():
                esc["curp_unverified"] = value.upper()
                problems.append(step.msg("curp_kept_unverified"))
        else:
            if problem == "check":
                esc["rejected_curp"] = value.upper()
            problems.append(step.msg(f"curp_{problem}", value=value.upper(), n=len(value)))
        consumed = re.sub(re.escape(value), " ", consumed, flags=re.IGNORECASE)
    for start, end in reversed(entities.spaced_curp_spans(consumed)):
        consumed = consumed[:start] + " " + consumed[end:]  # "BOXW 3108 20HN ERXN09" is not part of the name
    name = entities.find_name(consumed)
    if not name and (expecting == ["name"] or "name" not in data) and not intents.is_question(text):
        # (a question asked meanwhile, "¿y si me doy de baja del ISSSTE?", is no name)
        extra = CORRECTION_WORDS if correcting else frozenset()
        residual = leftover(consumed, extra=extra)
        # "00000233333 Ana López Ruiz, no sé mi NSS": the name is one clause of the rest.
        clauses = [residual] + ([leftover(part, extra=extra) for part in re.split(r"[,;.\n]+", consumed)]
                                if found else [])  # only in a message that carries data
        for clause in clauses:
            if clause and entities.looks_like_name(clause) and (expecting == ["name"] or len(clause.split()) >= 3):
                name = entities.title_name(clause)
                break
    if name:
        found["name"] = name
    if (expecting == ["student_id"] and not problems and "student_id" not in found
            and re.search(r"\d", _DAYS_AND_COUNTS.sub(" ", fold(consumed)))):
        # ("la guardé el 5 de marzo", "ya pasaron 10 días": a day and a count, not an ID typed wrong)
        problems.append(step.msg("student_id_format"))
    unknown = False
    if "nss" not in found and "nss" not in data:
        folded = " ".join(intents.words(text))
        unknown = bool(NSS_UNKNOWN.search(folded)) or (expecting == ["nss"] and intents.says_dont_know(text)
                                                        and field_named(text) in (None, "nss")
                                                        and not NAMES_SCREENSHOT.search(folded))
    return found, problems, unknown


#: Numbers that are days or counts of time ("el 5 de marzo", "el 5", "10 días", "9/02"): never an ID.
_DAYS_AND_COUNTS = re.compile(
    r"\b\d{1,2}\s*(?:de\s+)?(?:ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic)[a-z]*\b"
    r"|\b(?:el|dia|desde el|hace)\s+\d{1,2}\b(?![/.\-]?\d)"
    r"|\b\d{1,3}\s*(?:dias?|semanas?|meses|mes|horas?|hrs?|minutos?)\b"
    r"|\b\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?\b")


def with_surnames(new: str, old: str, text: str) -> str:
    """ "el nombre es Rosa Helena" for "Rosa Elena Díaz Luna": the given names change and the
    two surnames stay (the summary shows the result, to correct again if need be)."""
    new_words, old_words = new.split(), old.split()
    folded = " ".join(intents.words(text))
    if 1 < len(new_words) <= 2 and len(old_words) >= 2 and new_words[0].casefold() == old_words[-1].casefold():
        # "Ruiz Meza" for "Ana Sofía Ruiz" (a surname was missing): the name, completed.
        return " ".join(old_words[:-1] + new_words)
    if (len(new_words) <= 2 and len(old_words) >= 3 and "apellido" not in folded
            and not {w.casefold() for w in new_words} & {w.casefold() for w in old_words[-2:]}):
        return " ".join(new_words + old_words[-2:])
    return new


#: "el bueno es …", "el correcto es …": the value after it is the right one.
_RIGHT_VALUE = re.compile(r"\b(?:bueno|buena|correcto|correcta|real|verdadero|verdadera)\s*(?:es\b|:)", re.IGNORECASE)


def said_right_value(text: str, values: list[str]) -> str | None:
    """Of several values, the one the student calls the right one ("puse 1234… y el bueno es
    9876…"), or None."""
    cue = _RIGHT_VALUE.search(text) if len(values) >= 2 else None
    if cue is None:
        return None
    after = re.sub(r"\D", "", text[cue.end():])
    return next((v for v in values if after.startswith(v)), None)


#: "no tengo captura": about the screenshot, not about the NSS.
NAMES_SCREENSHOT = re.compile(r"\b(?:captura\w*|pantallazo\w*|screenshot\w*|foto\w*|imagen\w*)\b")


#: "234 567", "234-567": a six-digit ID typed in halves.
SPLIT_ID = re.compile(r"\s*\d{3}[ .-]\d{3}\s*")
#: "me llamo Ángel", "soy Ana", "mi nombre es Luis": one given name, nothing else.
_ONE_NAME = re.compile(r"^\s*(?:me llamo|mi nombre es|yo soy|soy)\s+([^\W\d_]+)\s*[.!]?\s*$", re.IGNORECASE)


def first_name_only(text: str, expecting: list[str]) -> str | None:
    """The given name of a message that is only that ("me llamo Ángel"; "Ángel" when the name is asked)."""
    m = _ONE_NAME.match(text)
    word = m.group(1) if m else (text.strip().rstrip(".") if expecting == ["name"] else "")
    if word and entities.looks_like_first_name(word):
        return entities.title_name(word)
    return None
