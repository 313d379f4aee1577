"""The steps every stage of a report shares: keep what was read, ask for the rest, the summary.

A report (:mod:`flows.escalation`) reads a message at one of its stages
(:mod:`flows.report_stages` for describe, consent and confirm); whatever the
stage, what was read is kept here once the privacy notice is acknowledged
(:func:`take_data`), what is still missing asked for (:func:`ask_for_rest`), the
summary shown (:func:`show_summary`), and the report brought back where it was
(:func:`reprompt`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from collections.abc import Callable
from typing import Any

from flows import entities, intents, report_right
from flows.context import Step
from flows.messages import RecordConsent, Reply
from flows.report_data import read as _read
from flows.report_text import (
    TYPED,
    join,
    tells_wrong_and_right,
    wrong_values_typed,
)
from knowledge.matcher import STRONG

FIELDS = ("student_id", "name", "nss", "curp")


#: How close to closing time "today" is no longer promised.
CLOSING_SOON = timedelta(minutes=30)


def consented(step: Step) -> bool:
    return bool(step.state.get("privacy_ack"))


def append_description(esc: dict[str, Any], addition: str) -> None:
    """More detail for the report: after what it already says, never in its place."""
    esc["description"] = f"{esc.get('description') or ''} / {addition}".strip(" /")


def with_opening(esc: dict[str, Any], description: str) -> str:
    """The description, after the first message when the description is a few words that
    lean on it ("eso dice", "lo de arriba"); a description of its own stands alone."""
    opening = esc.pop("opening", None)
    question = esc.pop("question", None)
    when = esc.pop("when", None)
    if opening and len(intents.words(description)) <= 4 and opening.casefold() not in description.casefold():
        description = f"{opening} — {description}"
    if when:
        description = f"{when} — {description}"  # "cuando le doy guardar — dice «…»"
    return f"{description} / Pregunta: {question}" if question else description


def data_text_of(step: Step) -> str:
    return step.text if step.data_text is None else step.data_text


def return_stage_of(stage: str) -> str:
    if stage.startswith("escalation_") or stage in ("waiting_saved_date", "ticket_open"):
        return "menu"
    return stage


def only_courtesy(step: Step, text: str) -> str | None:
    """ "saludo" or "despedida" when the message is only a greeting or a thank-you."""
    if len(intents.words(text)) > 4 or intents.yes_no(text) is not None:
        return None
    match = step.classify(text)
    if match.topic in ("saludo", "despedida") and match.keyword_scores.get(match.topic, 0.0) >= STRONG and not any(
            v for t, v in match.keyword_scores.items() if t not in ("saludo", "despedida")):
        return match.topic
    return None


def set_aside(step: Step, esc: dict[str, Any], *, stage: str | None = None, on_yes: bool = False) -> None:
    """Keep a report not sent for "retomar mi reporte" (``on_yes``: also for a "sí" next)."""
    step.state["paused_esc"] = {"esc": esc, "stage": stage or step.stage, "on_yes": on_yes}


def stop_report(step: Step, esc: dict[str, Any]) -> None:
    """The student does not want to give their data: nothing is sent, and the desk's contact is offered
    (the case without its data waits for "ok, sí acepto" a moment later or "retomar mi reporte")."""
    esc.pop("pending", None)
    esc["data"] = {}
    set_aside(step, esc, stage="escalation_collect", on_yes=True)
    step.state.pop("esc", None)
    step.stage = esc.get("return_stage") or "menu"
    step.say(step.msg("data_refused" if consented(step) else "privacy_refused"))


def take_attachments(step: Step, esc: dict[str, Any]) -> None:
    for a in step.message.attachments:
        esc["attachments"].append({"ref": a.ref, "content_type": a.content_type, "name": a.name})


def take_data(step: Step, esc: dict[str, Any], found: dict[str, str], problems: list[str], unknown: bool) -> None:
    """Keep what was read, or first ask to accept the privacy notice."""
    if found and not (consented(step) or esc["privacy_shown"]):
        esc["pending"] = {"data": found, "problems": problems, "nss_unknown": unknown}
        esc["privacy_shown"] = True
        step.stage = "escalation_consent"
        step.say(step.privacy_notice() + "\n" + step.msg("privacy_consent"))
        return
    if found and not consented(step):
        step.state["privacy_ack"] = True
        step.act(RecordConsent(at=step.message.at))
    esc["data"].update(found)
    if "nss" in found:
        esc["nss_unknown"] = False
    if unknown:
        esc["nss_unknown"] = True
        step.say(step.msg("nss_unknown"))
    ask_for_rest(step, esc, problems)


def missing_fields(esc: dict[str, Any]) -> list[str]:
    data = esc["data"]
    return [f for f in FIELDS if f not in data and not (f == "nss" and esc.get("nss_unknown"))
            and not (f == "curp" and esc.get("curp_missing")) and not (f == "student_id" and esc.get("id_missing"))]


def ask_for_rest(step: Step, esc: dict[str, Any], problems: list[str], *, quiet: bool = False,
              got: bool = True) -> None:
    """Report problems, then ask for what is missing or show the summary (``got``: the message
    brought something, so the request for the rest thanks for it)."""
    for problem in problems:
        step.say(problem)
    missing = missing_fields(esc)
    if esc.get("description") is None and esc.get("attachments"):
        # A screenshot sent while the notice was pending: that is what went wrong, not asked for again.
        esc["description"] = step.msg("description_attachment")
    report_right.note_field(esc, step.text)
    right = report_right.pending(esc)
    if esc.get("description") is None and (not esc["data"] or not missing):
        # What went wrong comes first; a student who starts with their data
        # gives it all, then the description.
        step.stage = "escalation_describe"
        ask = step.msg(f"ask_description_{esc['reason']}")
        step.say(step.msg("data_complete") + " " + ask if esc["data"] else ask)
        return
    if not missing and right:
        # "me equivoqué en el correo" with the data all in: what it should be, before the summary.
        step.stage = "escalation_collect"
        step.say(step.msg("ask_right", field=step.msg(f"right_ask_{right}")))
        return
    if not missing:
        step.stage = "escalation_confirm"
        show_summary(step, esc)
        return
    step.stage = "escalation_collect"
    if not esc["privacy_shown"]:
        esc["privacy_shown"] = True
        step.say(step.privacy_notice() + "\n" + step.msg("privacy_ack"))
    if quiet and not problems and len(missing) == len(FIELDS):
        return
    labels = [step.msg(f"field_{f}") for f in missing]
    if len(missing) == 1:
        ask = step.msg(f"ask_{missing[0]}")
    elif len(missing) == len(FIELDS) and not esc["data"]:
        ask = step.msg("ask_all")
    else:
        ask = step.msg("ask_missing" if got else "ask_missing_again", fields=join(labels))
    if right:
        ask += "\n" + step.msg("ask_right_also", field=step.msg(f"right_ask_{right}"))
    step.say(ask)


def lead_into(step: Step, lead: str, then: Callable[[], None]) -> None:
    """``lead``, then what ``then`` says, in one message joined by "Mientras:" (the header is never
    sent alone: with nothing after it, ``lead`` stands by itself)."""
    start = len(step.replies)
    then()
    if len(step.replies) > start:
        first = step.replies[start]
        step.replies[start] = Reply(f"{lead} {step.msg('meanwhile')} {first.text}", first.options)
    else:
        step.say(lead)


def show_summary(step: Step, esc: dict[str, Any]) -> None:
    data = esc["data"]
    refused = step.msg("summary_refused")
    nss = data.get("nss") or (refused if esc.get("nss_refused") else step.msg("summary_nss_unknown"))
    if data.get("nss") and data["nss"] == esc.get("nss_unverified"):
        nss = f"{nss} {step.msg('summary_nss_unverified')}"
    curp = (f"{data['curp']} {step.msg('summary_curp_unverified')}" if data.get("curp") and data["curp"] == esc.get("curp_unverified")
            else None) or data.get("curp") or (refused if esc.get("curp_refused") else
                                step.msg("summary_curp_unknown") if esc.get("curp_unknown") else
                                step.msg("summary_curp_none") if esc.get("curp_missing") else "")
    step.say(step.msg(
        "summary",
        student_id=data.get("student_id") or (step.msg("summary_id_unknown") if esc.get("id_missing") else ""),
        name=data.get("name", ""), nss=nss,
        curp=curp, description=shorten(esc.get("description") or ""),
        attachments=len(esc["attachments"]),
    ))


def shorten(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tells_typed_value(esc: dict[str, Any], text: str) -> bool:
    """Whether ``text`` says which wrong NSS or CURP went into the application
    ("puse mal una letra, puse BOXW310820HNERXN08") while the report holds the right ones:
    that value is the mistake to describe, not a correction of the report's data."""
    if not esc["data"] or not TYPED.search(" ".join(intents.words(text))):
        return False
    held = esc["data"]
    values = [("nss", v) for v in entities.find_nss_candidates(text)]
    values += [("curp", v.upper()) for v in entities.find_curp_candidates(text)]
    other = [(f, v) for f, v in values if held.get(f) != v]
    valid_new = [(f, v) for f, v in other
                 if (entities.nss_problem(v) if f == "nss" else entities.curp_problem(v)) is None and f not in held]
    return bool(other) and not valid_new


def accept_typed(step: Step, esc: dict[str, Any], text: str) -> None:
    """Read the data of a message that tells what was typed wrong: its valid values are the data;
    the invalid ones are the typed mistake, not refused; with "puse X y es Y" its words are no name."""
    found, problems, unknown = _read(step, esc, text)
    if tells_wrong_and_right(text):
        found.pop("name", None)
    typed = wrong_values_typed(text)
    take_data(step, esc, found, [p for p in problems if not any(v in p for v in typed)], unknown)


def add_typed_value(step: Step, esc: dict[str, Any], text: str) -> None:
    """The wrong value goes into the detail as typed, for staff to see what to fix."""
    addition = " ".join(text.split())
    append_description(esc, addition)
    step.say(step.msg("added_to_description"))


def is_aside(step: Step, text: str) -> bool:
    """A question about something else in the middle of collecting (read with any password cue kept)."""
    return aside_topic(step, text) is not None


def aside_topic(step: Step, text: str) -> str | None:
    """The answer topic of a question about something else asked in the middle of a report, or None."""
    match = step.classify(step.text if step.data_text is not None else text)
    if (match.confident and match.topic and step.kb.topics[match.topic].kind == "answer"
            and match.topic not in ("fuera_de_tema",)):
        return match.topic
    return None


def asks_for_person(step: Step) -> bool:
    """ "mejor pásame con una persona" while collecting: that is what the report is for."""
    match = step.classify(step.text)
    return bool(match.confident and match.topic == "duda_general")


def when_seen(step: Step) -> str:
    """When a person will look at the ticket: now, or the next opening."""
    from flows.calendar import format_opening_es

    if step.hours.is_open(step.now):
        closing = datetime.combine(step.now.date(), step.hours.end, tzinfo=step.now.tzinfo)
        if closing - step.now < CLOSING_SOON:
            # At 3:58 p.m. "durante el horario de hoy" is two minutes: today, or the next opening.
            after = step.hours.next_opening(closing)
            return step.msg("seen_closing", when=format_opening_es(after, step.now, tz=step.kb.desk.timezone))
        return step.msg("seen_now")
    opening = step.hours.next_opening(step.now)
    return step.msg("seen_later", hours=step.kb.desk.hours_label, when=format_opening_es(opening, step.now, tz=step.kb.desk.timezone))


def reprompt(step: Step) -> None:
    """After answering an aside, ask again for what the collection needs."""
    esc = step.state["esc"]
    if step.stage == "escalation_describe":
        step.say(step.msg("resume_escalation") + " " + step.msg(f"ask_description_{esc['reason']}"))
    elif step.stage == "escalation_consent":
        step.say(step.msg("resume_escalation") + " " + step.msg("privacy_consent_again"))
    elif step.stage == "escalation_confirm":
        step.say(step.msg("resume_escalation") + " " + step.msg("confirm_again"))
    else:
        labels = [step.msg(f"field_{f}") for f in missing_fields(esc)]
        if labels:
            step.say(step.msg("resume_escalation") + " " + step.msg("resume_missing", fields=join(labels)))
