"""Collecting what staff need before a ticket: the escalation sub-flow.

Steps: ``describe`` (what went wrong, when the first message did not say)
→ ``collect`` (student ID, full name, NSS, CURP; everything at once or
piece by piece, each item validated) → ``confirm`` (a summary the student
accepts or corrects) → the ticket.

The privacy notice comes before any personal data is kept. It is shown
with the first request for data ("al enviarme tus datos aceptas este
aviso"): data sent after it is the acknowledgement. A student who sends
data before seeing it (in the very first message, or instead of
describing the problem) gets the notice and is asked to accept it
(``escalation_consent``); the data waits in the state until they do, and
is dropped if they do not. Either way the acknowledgement is recorded as
a RecordConsent action. Personal data never becomes the description: it is
taken out of the text first. How the text of a message is read (is it a
description, a correction, a thank-you, a refusal) is :mod:`flows.report_text`.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from flows import entities, intents
from flows.context import Step
from flows.messages import Attachment, OpenTicket, RecordConsent
from flows.report_data import NAMES_SCREENSHOT, SPLIT_ID, first_name_only, with_surnames
from flows.report_data import read as _read
from flows.report_text import (
    ADDS,
    CORRECTION_CUE,
    CORRECTION_WORDS,
    FIELD_WORDS,
    PERSON_WORDS,
    TYPED,
    adds_detail,
    asks_about_privacy,
    asks_to_delete,
    asks_what_is_meant,
    asks_when_answered,
    cancels,
    describes,
    description_text,
    field_named,
    join,
    meaningful,
    name_after,
    only_pleas,
    only_typed_values,
    promises_screenshot,
    refused_field,
    refuses_data,
    tells_wrong_and_right,
    typed_description,
    wrong_values_typed,
)

from knowledge.matcher import STRONG

FIELDS = ("student_id", "name", "nss", "curp")
#: The stages of the collection, in order (``escalation_consent`` only when data came before the notice).
ESCALATION_STAGES = ("escalation_describe", "escalation_consent", "escalation_collect", "escalation_confirm")


def active(state: dict[str, Any]) -> bool:
    return bool(state.get("esc")) and str(state.get("stage", "")).startswith("escalation_")


#: How close to closing time "today" is no longer promised.
CLOSING_SOON = timedelta(minutes=30)

#: A report left unfinished this long is set aside by a new question (see :func:`stale`).
STALE_AFTER = timedelta(hours=12)


def stale(step: Step) -> bool:
    """Whether the report being collected was left a long time ago (days later, "sigo sin
    vigencia" is a new case, not more detail for the old one)."""
    started = (step.state.get("esc") or {}).get("started_at")
    return bool(started) and step.now - datetime.fromisoformat(started) >= STALE_AFTER


def _consented(step: Step) -> bool:
    return bool(step.state.get("privacy_ack"))


def start(step: Step, reason: str, *, description: str | None = None, intro: bool = True,
          known: str | None = None) -> None:
    """Begin collecting for a ticket of ``reason``, from the first message (``known``: an answer
    that may settle it, said first; else the topic's known answer the message asks for, if any)."""
    if step.state.get("ticket_number") and not step.state.get("esc"):
        # A report is still open (the core keeps its number until staff resolve it): one case at a time.
        if known:
            step.stage = "ticket_open"
            step.say(known)
        else:
            _to_open_ticket(step, reason, description)
        return
    previous = step.state.get("esc") or {}
    step.state.pop("paused_esc", None)  # a new report replaces one set aside
    known_data = step.state.get("known") if _consented(step) else None
    esc: dict[str, Any] = {
        "reason": reason,
        "data": dict(previous.get("data") or known_data or {}),
        "description": description,
        "attachments": [],
        "nss_unknown": bool(previous.get("nss_unknown")),
        "privacy_shown": _consented(step) or bool(previous.get("privacy_shown")),
        "return_stage": step.state.get("return_stage") or _return_stage(step.stage),
        "started_at": step.now.isoformat(),
    }
    step.state["esc"] = esc
    if known is None and description is None and intro:
        known = step.kb.matcher.known_answer(reason, step.text)
    if known:
        # "¿el seguro cubre a mis hijos?": the desk's facts answer it; a person is still offered.
        step.say(known)
        step.say(step.msg("doubt_answered"))
        esc["answered"] = True
        esc["held"] = description_text(_data_text(step))
        step.stage = "escalation_describe"
        return
    if intro:
        for text in step.kb.topics[reason].answers:
            step.say(text)
    _take_attachments(step, esc)
    text = _data_text(step)
    found, problems, unknown = _read(step, esc, text)
    typed = wrong_values_typed(text)
    if typed and esc["description"] is None:
        # "puse BOXW…08 y es BOXW…09": the wrong value is the mistake, kept as typed for staff;
        # the right one is the student's data.
        esc["description"] = typed_description(text)
        problems = [p for p in problems if not any(v in p for v in typed)]
    if esc["description"] is None:
        clean = description_text(text)
        if describes(reason, clean, step.message.attachments):
            esc["description"] = clean or step.msg("description_attachment")
        elif meaningful(clean) and len(intents.words(clean)) >= 3:
            # Not enough alone ("Error: no es posible procesar…" asked "¿qué dice?"), but what
            # comes next may point back at it ("eso dice"): staff get both.
            esc["opening"] = clean
    _accept(step, esc, found, problems, unknown)


#: The first half of a CURP (4 letters and the birth date) sent alone, and a second half.
_CURP_FIRST_HALF = re.compile(r"^(?:mi curp(?: es)?:?\s*)?([A-Za-zÑñ]{4}[0-9]{6})$", re.IGNORECASE)
_CURP_SECOND_HALF = re.compile(r"([HMXhmx][A-Za-zÑñ]{5}[0-9A-Za-z][0-9])\s*$")


def _joined_curp_halves(step: Step, esc: dict[str, Any], text: str) -> str | None:
    """A CURP sent in two messages ("BOXW310820", then "HNERXN09"): the first half is kept
    (None: nothing else to do now), the second completes it."""
    if "curp" not in _missing(esc):
        return text
    first = _CURP_FIRST_HALF.match(" ".join(text.split()).strip(" .,"))
    if first:
        esc["curp_half"] = first.group(1).upper()
        step.say(step.msg("curp_half"))
        return None
    half = esc.pop("curp_half", None)
    second = _CURP_SECOND_HALF.search(text) if half else None
    if second:
        return half + second.group(1).upper()
    return text


def _append_description(esc: dict[str, Any], addition: str) -> None:
    """More detail for the report: after what it already says, never in its place."""
    esc["description"] = f"{esc.get('description') or ''} / {addition}".strip(" /")


def _with_opening(esc: dict[str, Any], description: str) -> str:
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


def _data_text(step: Step) -> str:
    return step.text if step.data_text is None else step.data_text


def _return_stage(stage: str) -> str:
    if stage.startswith("escalation_") or stage in ("waiting_saved_date", "ticket_open"):
        return "menu"
    return stage


def _only_courtesy(step: Step, text: str) -> str | None:
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


def _stop(step: Step, esc: dict[str, Any]) -> None:
    """The student does not want to give their data: nothing is sent, and the desk's contact is offered
    (the case without its data waits for "ok, sí acepto" a moment later or "retomar mi reporte")."""
    esc.pop("pending", None)
    esc["data"] = {}
    set_aside(step, esc, stage="escalation_collect", on_yes=True)
    step.state.pop("esc", None)
    step.stage = esc.get("return_stage") or "menu"
    step.say(step.msg("data_refused" if _consented(step) else "privacy_refused"))


def handle(step: Step) -> bool:
    """Take the message as part of the collection; False if it is not."""
    esc = step.state["esc"]
    text = _data_text(step)
    _take_attachments(step, esc)
    refused = refused_field(text)
    if refused and step.stage in ("escalation_collect", "escalation_describe"):
        # "mi CURP no te la doy, solo mi ID…": the report goes without it; the rest is read
        # (said again, "no quiero dar mi CURP", it is still that one item, not the report).
        esc["curp_missing" if refused == "curp" else "nss_unknown"] = True
        esc[f"{refused}_refused"] = True
        esc["data"].pop(refused, None)
        step.say(step.msg(f"field_refused_{refused}"))
        found, problems, _unknown = _read(step, esc, text)
        found.pop(refused, None)
        _accept(step, esc, found, [], False)
        return True
    if refuses_data(text):
        _stop(step, esc)
        return True
    if asks_to_delete(text):
        # "mejor borra mis datos" mid-way: the report is dropped unsent, with what it held.
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("report_deleted"))
        return True
    if asks_about_privacy(text):
        # "¿para qué quieres mi CURP?", "¿es seguro darte mis datos?": what is done with them, then
        # where the report stands.
        step.topic = None
        step.say(step.msg("privacy_answer"))
        reprompt(step)
        return True
    if cancels(text):
        # "cancelar", "olvídalo", "ya no importa": nothing is sent, and the way back is said
        # ("retomar mi reporte" brings it back, as the reply promises).
        set_aside(step, esc)
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("escalation_cancelled"))
        return True
    if esc.get("answered") and step.stage == "escalation_describe" and _settled(step, esc, text):
        return True
    if intents.will_do_soon(text):
        # "ahorita no tengo mis datos, luego te los paso": the report waits, nothing changes.
        step.say(step.msg("report_waits"))
        return True
    social = _only_courtesy(step, text)
    if social == "saludo" and esc.get("answered") and step.stage == "escalation_describe":
        # "hola" after "¿con eso queda resuelta tu duda?": there is no report yet; the menu.
        step.state.pop("esc", None)
        return False
    if social:
        # "hola" days later, "gracias" mid-way: a courtesy back, and where the report stands.
        step.topic = social
        step.say(step.msg("report_welcome_back" if social == "saludo" else "report_thanks"))
        if social == "saludo" and step.stage == "escalation_confirm":
            _summary(step, esc)  # back after a while: the whole summary, not only "¿lo envío?"
        else:
            reprompt(step)
        return True
    if step.stage == "escalation_consent":
        return _consent(step, esc, text)
    if step.stage == "escalation_describe":
        return _describe(step, esc, text)
    if step.stage == "escalation_confirm":
        return _confirm(step, esc, text)
    # collecting
    if esc.get("fixing") == "description" and text.strip():
        esc["description"] = description_text(text) or esc.get("description")
        esc.pop("fixing", None)
        _continue(step, esc, [])
        return True
    if _tells_typed_value(esc, text) or only_typed_values(esc["reason"], text):
        _add_typed_value(step, esc, text)
        _continue(step, esc, [])
        return True
    typed = wrong_values_typed(text)
    if typed or (esc["reason"] == "datos_erroneos" and tells_wrong_and_right(text)):
        # "puse BOXW…08 y es BOXW…09", "puse Jose y es José Luis" while the data is collected:
        # what was typed and how it should be go to the detail as typed; a valid value is the
        # data (the wrong one is not refused as invalid, nor its words taken for a name).
        _append_description(esc, typed_description(text))
        _accept_typed(step, esc, text)
        return True
    text = _joined_curp_halves(step, esc, text)
    if text is None:
        return True
    expecting = _missing(esc)[:1]
    if (esc.get("first_name") and "name" in _missing(esc) and entities.looks_like_name(text)
            and len(text.split()) <= 3 and not re.search(r"\d", text)):
        # "García López" after "me llamo Ángel": the full name, put together.
        name = entities.title_name(f"{esc.pop('first_name')} {text.strip().rstrip('.')}")
        _accept(step, esc, {"name": name}, [], False)
        return True
    if expecting == ["student_id"] and SPLIT_ID.fullmatch(text):
        text = re.sub(r"\D", "", text)  # "234 567": the ID asked for, typed in two halves
    found, problems, unknown = _read(step, esc, text, expecting=expecting)
    if "name" in found and esc.get("name_before"):
        found["name"] = with_surnames(found["name"], esc.pop("name_before"), text)
    name = esc["data"].get("name") or ""
    if (not (found or problems or unknown) and len(name.split()) == 2 and entities.looks_like_name(text)
            and len(text.split()) <= 2 and not re.search(r"\d", text)):
        # "me llamo María Fernanda", then "López Parra": the surnames of the name just given.
        found = {"name": entities.title_name(f"{name} {text.strip().rstrip('.')}")}
    named = field_named(text)
    if not (found or problems or unknown) and "curp" in _missing(esc) and _WITHOUT_CURP.search(
            " ".join(intents.words(text))):
        # "soy extranjera, no tengo CURP": the report goes without it, as without an NSS.
        esc["curp_missing"] = True
        step.say(step.msg("curp_none"))
        _continue(step, esc, [])
        return True
    if (not (found or problems or unknown) and "curp" in _missing(esc) and named == "curp"
            and intents.says_dont_know(text)):
        # "no me acuerdo de mi CURP": where to look it up (not "no NSS").
        step.say(step.msg("curp_unknown"))
        step.remember("curp_help")
        return True
    if (not (found or problems or unknown) and "curp" in _missing(esc) and step.recalls("curp_help", within=2)
            and (intents.yes_no(text) is False or intents.says_dont_know(text))):
        # "no la tengo" right after where to look it up: the report goes without it.
        esc["curp_missing"] = esc["curp_unknown"] = True
        step.say(step.msg("curp_later"))
        _continue(step, esc, [])
        return True
    if (not (found or problems or unknown) and "nss" in _missing(esc) and intents.says_dont_know(text)
            and len(intents.words(text)) <= 5 and named in (None, "nss")
            and not NAMES_SCREENSHOT.search(" ".join(intents.words(text)))):
        unknown = True  # "no lo sé" while the NSS is still missing: the one students do not know
    if not (found or problems or unknown) and NAMES_SCREENSHOT.search(" ".join(intents.words(text))) and (
            intents.yes_no(text) is False or intents.says_dont_know(text)):
        # "no tengo captura": it is not needed.
        step.say(step.msg("no_screenshot"))
        _continue(step, esc, [])
        return True
    if found or problems or unknown:
        esc.pop("fixing", None)
        _accept(step, esc, found, problems, unknown)
        return True
    if step.message.attachments:
        step.say(step.msg("attachment_received"))
        _continue(step, esc, [], quiet=True)
        return True
    field = field_named(text)
    if field in esc["data"] and CORRECTION_CUE.search(" ".join(intents.words(text))):
        # "corregir el nombre" before the summary: ask for it again.
        esc["data"].pop(field)
        _continue(step, esc, [])
        return True
    if asks_when_answered(text):
        # "¿cuánto tardan en contestarme?" before the report exists: when a person will see it.
        step.say(step.msg("collect_reply_when") + " " + when_seen(step))
        _continue(step, esc, [])
        return True
    saved = entities.parse_date(text, step.now) if entities.mentions_saving(text) else None
    if (saved is not None and saved <= step.today and saved.isoformat() != step.state.get("saved_on")
            and not intents.is_question(text) and len(intents.words(text)) <= 8):
        # "la guardé ayer" while another employer's report is collected: when it was saved,
        # for staff (the report stands whatever the waiting period says).
        when = step.date_es(saved)
        _append_description(esc, step.msg("description_saved_on", when=when))
        step.say(step.msg("saved_on_noted", when=when))
        _continue(step, esc, [])
        return True
    if _is_aside(step, text):
        return False
    if _asks_for_person(step):
        known = step.kb.matcher.known_answer("duda_general", step.text) if intents.is_question(text) else None
        if known:
            # "oye, ¿y cuánto cuesta?" mid-way: the desk's fact, and on with the report.
            step.say(known)
        elif len([w for w in intents.words(text) if w not in PERSON_WORDS]) >= 3:
            # "¿cubre a mis hijos?": another question for the person, who gets it with the report.
            addition = description_text(text)
            _append_description(esc, addition)
            step.say(step.msg("added_to_description"))
        else:
            step.say(step.msg("collect_is_for_person"))
        _continue(step, esc, [])
        return True
    first = first_name_only(text, expecting)
    if first and "name" in _missing(esc):
        # "me llamo Ángel", "soy Ana": the given name; the surnames are asked for, to join them.
        esc["first_name"] = first
        step.say(step.msg("name_surnames", first=first))
        return True
    if expecting == ["name"] and entities.looks_like_first_name(text):
        step.say(step.msg("name_incomplete"))
        return True
    if adds_detail(text):
        # "puse un número de más": more about what went wrong, not a datum; it goes to the report.
        addition = description_text(text)
        _append_description(esc, addition)
        step.say(step.msg("added_to_description"))
        _continue(step, esc, [])
        return True
    verdict = intents.yes_no(text)
    if verdict is True:
        # "sí, acepto", "ok" after the privacy notice or a request for data: agreed, not a datum.
        step.say(step.msg("collect_yes"))
    elif verdict is False and len(intents.words(text)) <= 3:
        # A bare "no" to the request for data: what it is for and both ways on (send some,
        # cancel, or write to the desk), not "no encontré ese dato".
        step.say(step.msg("collect_no"))
        return True
    elif intents.is_question(text) and len(intents.words(text)) >= 3:
        # "¿entonces ya no lo ocupo?": a question the bot did not get; the person gets it with
        # the report, and the data is still what the report needs.
        _append_description(esc, description_text(text))
        step.say(step.msg("question_kept"))
    else:
        step.say(step.msg("collect_not_understood"))
    _continue(step, esc, [], got=False)
    return True


def _describe(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The answer to "what went wrong?": a description, data, or a question."""
    if not text.strip() and not step.message.attachments:
        step.say(step.msg(f"ask_description_{esc['reason']}"))
        return True
    if wrong_values_typed(text) or (esc["reason"] == "datos_erroneos" and tells_wrong_and_right(text)):
        # "puse mal mi nss, puse 12345678901", "puse Jose y es José Luis" to "¿qué dato quedó
        # mal?": what was typed (and how it should be) is the mistake itself, for staff as typed.
        esc["description"] = _with_opening(esc, typed_description(text))
        _accept_typed(step, esc, text)
        return True
    found, problems, unknown = _read(step, esc, text)
    clean = description_text(text)
    if found or problems or unknown:
        if meaningful(clean):
            esc["description"] = _with_opening(esc, clean)
        _accept(step, esc, found, problems, unknown)
        return True
    if step.message.attachments:
        esc["description"] = clean if meaningful(clean) else step.msg("description_attachment")
        _continue(step, esc, [])
        return True
    if promises_screenshot(text):
        # "te mando captura", "ahorita te la mando": the screenshot is coming; wait for it.
        step.say(step.msg("screenshot_wait"))
        return True
    words = intents.words(text)
    if (esc["reason"] == "error_solicitud" and words and words[0] in ("cuando", "al", "apenas", "nomas")
            and "?" not in text and "¿" not in text):
        # "cuando le doy guardar": when the error shows, told before what it says; kept with it.
        esc["when"] = f"{esc['when']} {clean}" if esc.get("when") else clean
        step.say(step.msg("noted_when") + " " + step.msg("ask_description_error_solicitud"))
        return True
    aside = _aside_topic(step, text)
    if aside and esc["reason"] == "datos_erroneos" and aside != "urgencia" and describes(esc["reason"], clean, ()):
        aside = None  # "en mi CURP" to "¿qué dato quedó mal?": the answer, not a question about the CURP
    if aside and not _tells_the_case(esc, text, aside):
        esc["aside"] = aside
        return False
    if (esc["reason"] in ("datos_erroneos", "error_solicitud", "sin_vigencia") and intents.is_question(text)
            and not describes(esc["reason"], clean, ())):
        if asks_what_is_meant(text):
            # "¿cómo que texto?": what the question asks for, in other words.
            step.say(step.msg(f"explain_description_{esc['reason']}"))
            return True
        # "¿y eso afecta en algo? ¿se cancela mi seguro?" to "¿qué dato quedó mal?": a question
        # for the person, kept for the report; what went wrong is still what the report needs.
        esc["question"] = f"{esc['question']} / {clean}" if esc.get("question") else clean
        step.say(step.msg("question_kept") + " " + step.msg(f"ask_description_{esc['reason']}"))
        return True
    if not meaningful(clean) or only_pleas(clean):
        if esc["reason"] == "duda_general" and step.recalls("no_description"):
            # "no sé" twice to "¿cuál es tu duda?": the person asks; the report goes without it.
            esc["description"] = step.msg("description_none")
            step.say(step.msg("description_skipped"))
            _continue(step, esc, [])
            return True
        # "ayuda", "porfa": a plea, not what went wrong.
        step.remember("no_description")
        step.say(step.msg("description_needed") + " " + step.msg(f"ask_description_{esc['reason']}"))
        return True
    esc["description"] = _with_opening(esc, clean)
    _continue(step, esc, [])
    return True


def answered_as_the_doubt(step: Step) -> bool:
    """After the answer to a question asked where "¿cuál es tu duda?" was awaited: whether that
    question was the doubt itself, so that the answer may settle it and no person is needed.

    "Quiero hablar con alguien" → "¿cuál es tu duda?" → "¿cómo saco mi vigencia?": the bot
    knows that one; the student is asked whether it settles the doubt, not asked for the
    doubt again as if nothing had been said.
    """
    esc = step.state.get("esc") or {}
    if step.stage != "escalation_describe" or esc.get("reason") != "duda_general" or esc.get("description"):
        return False
    esc["answered"] = True
    return True


def _settled(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The reply to "¿con eso queda resuelta tu duda?": yes or thanks ends the report unsent,
    no asks for what is still missing; anything else is read as the doubt (False)."""
    verdict = intents.yes_no(text)
    folded = " ".join(intents.words(text))
    if verdict is None and intents.is_question(text) and len(intents.words(text)) <= 8:
        # "¿y a mi esposa?", "¿y cubre a mis hijos?": a follow-up the desk's facts answer too
        # (read with the first question when it leans on it), and the same question again.
        matcher = step.kb.matcher
        known = matcher.known_answer(esc["reason"], text)
        if known is None and folded.startswith("y ") and _leans_on_first(step, esc, text):
            known = matcher.known_answer(esc["reason"], f"{esc.get('held') or ''} {text}")
        if known:
            step.say(known)
            step.say(step.msg("doubt_answered"))
            return True
    if verdict is None and _only_courtesy(step, text) == "despedida" or _NO_THANKS.match(folded):
        verdict = True  # "gracias", "no gracias, así está bien": settled
    if verdict is None or len(intents.words(text)) > 6:
        return False
    esc.pop("answered", None)
    if verdict and _ANOTHER.search(folded):
        # "sí, pero tengo otra pregunta": settled, and a new one coming.
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("ask_doubt"))
        return True
    if verdict:
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("doubt_settled"))
    elif esc.get("held"):
        # The known answer did not settle it: the first question is the doubt for the person.
        esc["description"] = esc.pop("held")
        step.say(step.msg("doubt_to_person"))
        _continue(step, esc, [])
    else:
        step.say(step.msg("doubt_not_settled"))
    return True


def _leans_on_first(step: Step, esc: dict[str, Any], text: str) -> bool:
    """ "¿y a mi esposa?" after "¿cubre a mis hijos?": no topic of its own ("¿y cuánto tarda?" has)."""
    match = step.classify(text)
    return not match.confident or match.topic in (esc["reason"], "fuera_de_tema")


#: "no gracias", "no, así está bien": nothing more needed (a polite no that settles it).
_NO_THANKS = re.compile(r"^no\s+(?:gracias|muchas gracias|asi esta bien|ya no|nada mas|es todo)\b")
#: "… pero tengo otra pregunta": another question coming.
_ANOTHER = re.compile(r"\b(?:otra|una) (?:pregunta|duda|cosa)\b")


def _is_aside(step: Step, text: str) -> bool:
    """A question about something else in the middle of collecting (read with any password cue kept)."""
    return _aside_topic(step, text) is not None


def _aside_topic(step: Step, text: str) -> str | None:
    """The answer topic of a question about something else asked in the middle of a report, or None."""
    match = step.classify(step.text if step.data_text is not None else text)
    if (match.confident and match.topic and step.kb.topics[match.topic].kind == "answer"
            and match.topic not in ("fuera_de_tema",)):
        return match.topic
    return None


def _tells_the_case(esc: dict[str, Any], text: str, topic: str) -> bool:
    """Whether a message that names a topic is the case itself, asked for by "¿cuál es tu duda?".

    A statement of several words tells the case ("es sobre mi clínica, me asignaron una muy
    lejos y quiero cambiarla"); so does the same topic a second time, after its answer did
    not settle it ("ya te dije, quiero cambiar mi clínica"). A question is answered first.
    """
    if topic == "urgencia":
        return False  # an emergency is answered first, whatever else the report is about
    if esc.get("aside") == topic:
        return True
    return not intents.is_question(text) and len(intents.words(text)) >= 6


def _asks_for_person(step: Step) -> bool:
    """ "mejor pásame con una persona" while collecting: that is what the report is for."""
    match = step.classify(step.text)
    return bool(match.confident and match.topic == "duda_general")


def _take_attachments(step: Step, esc: dict[str, Any]) -> None:
    for a in step.message.attachments:
        esc["attachments"].append({"ref": a.ref, "content_type": a.content_type, "name": a.name})


def _accept(step: Step, esc: dict[str, Any], found: dict[str, str], problems: list[str], unknown: bool) -> None:
    """Keep what was read, or first ask to accept the privacy notice."""
    if found and not (_consented(step) or esc["privacy_shown"]):
        esc["pending"] = {"data": found, "problems": problems, "nss_unknown": unknown}
        esc["privacy_shown"] = True
        step.stage = "escalation_consent"
        step.say(step.kb.privacy_notice() + "\n" + step.msg("privacy_consent"))
        return
    if found and not _consented(step):
        step.state["privacy_ack"] = True
        step.act(RecordConsent(at=step.message.at))
    esc["data"].update(found)
    if "nss" in found:
        esc["nss_unknown"] = False
    if unknown:
        esc["nss_unknown"] = True
        step.say(step.msg("nss_unknown"))
    _continue(step, esc, problems)


def _consent(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The answer to "¿aceptas el aviso de privacidad?"."""
    pending = esc.get("pending") or {}
    found, problems, unknown = _read(step, esc, text)
    said = intents.yes_no(text)
    if said is True or found:
        # Sending more data after the notice accepts it too.
        esc.pop("pending", None)
        merged = {**(pending.get("data") or {}), **found}
        step.state["privacy_ack"] = True
        step.act(RecordConsent(at=step.message.at))
        step.say(step.msg("privacy_thanks"))
        _accept(step, esc, merged, [*(pending.get("problems") or []), *problems],
                bool(pending.get("nss_unknown")) or unknown)
        return True
    if said is False:
        # Nothing personal kept ("no guardé tus datos"): what they sent before the notice goes;
        # the case itself waits, for "ok, sí acepto" a moment later.
        esc.pop("pending", None)
        # Brought back, it asks for the data again; sending it accepts the notice (shown already).
        set_aside(step, esc, stage="escalation_collect", on_yes=True)
        step.state.pop("esc", None)
        step.stage = esc.get("return_stage") or "menu"
        step.say(step.msg("privacy_refused"))
        return True
    if _is_aside(step, text):
        return False
    clean = description_text(text)
    if esc.get("description") is None and meaningful(clean) and len(intents.words(clean)) >= 3:
        # "puse mal mi fecha de nacimiento": what went wrong, told before the notice is answered.
        esc["description"] = _with_opening(esc, clean)
        step.say(step.msg("description_noted") + " " + step.msg("privacy_consent_again"))
        return True
    step.say(step.msg("privacy_consent_again"))
    return True


def _missing(esc: dict[str, Any]) -> list[str]:
    data = esc["data"]
    return [f for f in FIELDS if f not in data and not (f == "nss" and esc.get("nss_unknown"))
            and not (f == "curp" and esc.get("curp_missing"))]


def _continue(step: Step, esc: dict[str, Any], problems: list[str], *, quiet: bool = False,
              got: bool = True) -> None:
    """Report problems, then ask for what is missing or show the summary (``got``: the message
    brought something, so the request for the rest thanks for it)."""
    for problem in problems:
        step.say(problem)
    missing = _missing(esc)
    if esc.get("description") is None and (not esc["data"] or not missing):
        # What went wrong comes first; a student who starts with their data
        # gives it all, then the description.
        step.stage = "escalation_describe"
        ask = step.msg(f"ask_description_{esc['reason']}")
        step.say(step.msg("data_complete") + " " + ask if esc["data"] else ask)
        return
    if not missing:
        step.stage = "escalation_confirm"
        _summary(step, esc)
        return
    step.stage = "escalation_collect"
    if not esc["privacy_shown"]:
        esc["privacy_shown"] = True
        step.say(step.kb.privacy_notice() + "\n" + step.msg("privacy_ack"))
    if quiet and not problems and len(missing) == len(FIELDS):
        return
    labels = [step.msg(f"field_{f}") for f in missing]
    if len(missing) == 1:
        step.say(step.msg(f"ask_{missing[0]}"))
    elif len(missing) == len(FIELDS) and not esc["data"]:
        step.say(step.msg("ask_all"))
    else:
        step.say(step.msg("ask_missing" if got else "ask_missing_again", fields=join(labels)))


#: "no tengo CURP" (a foreign student): not "I don't remember it".
_WITHOUT_CURP = re.compile(r"\bno tengo (?:una |la |mi )?curp\b|\bextranjer[oa]\b|\bsin curp\b")


def _summary(step: Step, esc: dict[str, Any]) -> None:
    data = esc["data"]
    refused = step.msg("summary_refused")
    nss = data.get("nss") or (refused if esc.get("nss_refused") else step.msg("summary_nss_unknown"))
    if data.get("nss") and data["nss"] == esc.get("nss_unverified"):
        nss = f"{nss} {step.msg('summary_nss_unverified')}"
    curp = data.get("curp") or (refused if esc.get("curp_refused") else
                                step.msg("summary_curp_unknown") if esc.get("curp_unknown") else
                                step.msg("summary_curp_none") if esc.get("curp_missing") else "")
    step.say(step.msg(
        "summary",
        student_id=data.get("student_id", ""), name=data.get("name", ""), nss=nss,
        curp=curp, description=_short(esc.get("description") or ""),
        attachments=len(esc["attachments"]),
    ))


def _short(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tells_typed_value(esc: dict[str, Any], text: str) -> bool:
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


def _accept_typed(step: Step, esc: dict[str, Any], text: str) -> None:
    """Read the data of a message that tells what was typed wrong: its valid values are the data;
    the invalid ones are the typed mistake, not refused; with "puse X y es Y" its words are no name."""
    found, problems, unknown = _read(step, esc, text)
    if tells_wrong_and_right(text):
        found.pop("name", None)
    typed = wrong_values_typed(text)
    _accept(step, esc, found, [p for p in problems if not any(v in p for v in typed)], unknown)


def _add_typed_value(step: Step, esc: dict[str, Any], text: str) -> None:
    """The wrong value goes into the detail as typed, for staff to see what to fix."""
    addition = " ".join(text.split())
    _append_description(esc, addition)
    step.say(step.msg("added_to_description"))


def _confirm(step: Step, esc: dict[str, Any], text: str) -> bool:
    """The answer to the summary: send it, or correct something."""
    if _tells_typed_value(esc, text):
        _add_typed_value(step, esc, text)
        _summary(step, esc)
        return True
    said = intents.yes_no(text)
    field = field_named(text)
    if said is True and field is None and not CORRECTION_CUE.search(" ".join(intents.words(text))):
        # "ya lo encontré, es 02039912346" reads as a yes: new data updates the summary instead.
        found, problems, _unknown = _read(step, esc, text)
        found.pop("name", None)
        changed = {k: v for k, v in found.items() if esc["data"].get(k) != v}
        if not (changed or problems):
            _open_ticket(step, esc)
            return True
        if changed:
            step.say(step.msg("fixed"))
        _accept(step, esc, changed, problems, False)
        return True
    if field in FIELDS:
        # "no, el nombre está mal, es María Fernanda Gómez Ruiz": the new value may come along.
        before = esc["data"].pop(field, None)
        if field == "name":
            # "mi nombre lleva acento, es Luis Ángel Soto Muñoz": the name is what follows "es".
            text = name_after(text) or text
        found, problems, unknown = _read(step, esc, text, expecting=[field], correcting=True)
        if field == "name" and before and "name" in found:
            found["name"] = with_surnames(found["name"], before, text)
        if field in found:
            step.say(step.msg("fixed"))
        else:
            esc["fixing"] = field
            if field == "name" and before:
                esc["name_before"] = before  # "me faltó un apellido", then "Ruiz Meza": completed
        _accept(step, esc, found, problems, unknown)
        return True
    found, problems, unknown = _read(step, esc, text)
    found.pop("name", None)  # a name without its field named is not a correction
    if found and not problems and not unknown and all(esc["data"].get(k) == v for k, v in found.items()):
        # The same value sent again: nothing was corrected, and saying so would confuse.
        step.say(step.msg("same_data"))
        _summary(step, esc)
        return True
    if found or problems or unknown:
        if found:
            step.say(step.msg("fixed"))
        _accept(step, esc, found, problems, unknown)
        return True
    if field == "description":
        rest = [w for w in intents.words(text) if w not in CORRECTION_WORDS and w not in FIELD_WORDS["description"]
                and w not in ("el", "la", "mi", "es", "y", "corregir", "de")]
        if len(rest) >= 3:
            if ADDS.search(" ".join(intents.words(text))):
                # "también sale abajo otro mensaje: …": more detail, the first stays.
                _append_description(esc, description_text(text))
                step.say(step.msg("added_to_description"))
            else:
                esc["description"] = description_text(text)
                step.say(step.msg("fixed"))
            _summary(step, esc)
            return True
        esc["fixing"] = "description"
        step.stage = "escalation_collect"
        step.say(step.msg("ask_description_fix"))
        return True
    if step.message.attachments:
        step.say(step.msg("attachment_received"))
        _summary(step, esc)
        return True
    if said is False:
        step.say(step.msg("ask_which_fix"))
        return True
    folded = " ".join(intents.words(text))
    if CORRECTION_CUE.search(folded) and len(folded.split()) >= 3:
        # "el correo lo puse mal": something the summary has no line for goes to the detail.
        addition = description_text(text)
        _append_description(esc, addition)
        step.say(step.msg("added_to_description"))
        _summary(step, esc)
        return True
    if asks_when_answered(text):
        # "antes de enviarlo, ¿cuánto tardan en contestar?": when a person sees it once sent.
        step.say(step.msg("confirm_reply_when") + " " + when_seen(step))
        step.say(step.msg("confirm_again"))
        return True
    if _asks_for_person(step):
        # "quiero hablar con una persona": sending the report is how one gets the case.
        step.say(step.msg("confirm_is_for_person"))
        return True
    if _is_aside(step, text):
        return False
    step.say(step.msg("confirm_not_understood"))
    return True


def _open_ticket(step: Step, esc: dict[str, Any]) -> None:
    data = {k: v for k, v in esc["data"].items() if v}
    if esc.get("nss_unknown") and "nss" not in data and not esc.get("nss_refused"):
        data["nss_unknown"] = "sí"
    if esc.get("curp_missing") and "curp" not in data and not esc.get("curp_refused"):
        data["curp_missing"] = "sí"
    if esc.get("nss_unverified") and data.get("nss") == esc["nss_unverified"]:
        data["nss_unverified"] = "sí"  # its check digit does not match; the student sent it twice
    for field in ("nss", "curp"):
        if esc.get(f"{field}_refused") and field not in data:
            data[f"{field}_refused"] = "sí"  # not given by choice (not "does not know" / "has none")
    attachments = tuple(Attachment(a["ref"], a["content_type"], a.get("name", "")) for a in esc["attachments"])
    step.act(OpenTicket(reason=esc["reason"], description=esc.get("description") or "", data=data,
                        attachments=attachments))
    step.state["known"] = {k: v for k, v in esc["data"].items() if k in FIELDS}
    step.state["ticket_reason"] = esc["reason"]
    step.state["ticket_at"] = step.today.isoformat()
    step.state["return_stage"] = esc.get("return_stage") or "menu"
    step.state.pop("esc", None)
    step.stage = "ticket_open"
    step.say(step.msg("ticket_opened") + " " + when_seen(step))


def pending(step: Step) -> str:
    """ "Tu reporte #N sigue abierto…" and when a person will see it."""
    number = step.state.get("ticket_number")
    said = step.msg("ticket_pending_number", number=number) if number else step.msg("ticket_pending")
    opened = step.state.get("ticket_at")
    if opened and date.fromisoformat(opened[:10]) < step.today:
        # Asked days later: when it was opened, sorry for the wait, and the desk's direct lines.
        since = step.date_es(date.fromisoformat(opened[:10]))
        return said + " " + step.msg("ticket_pending_since", since=since) + " " + when_seen(step)
    return said + " " + when_seen(step)


def _to_open_ticket(step: Step, reason: str, description: str | None) -> None:
    """One case at a time: with a report still open (whatever step of the guide or the menu the
    student went to since), a new problem goes to it, and asking for a person is told it is
    with one; a question the desk's facts settle is answered."""
    step.stage = "ticket_open"
    fact = step.kb.matcher.known_answer(reason, step.text)
    if fact:
        step.say(fact)
        return
    text = description or description_text(_data_text(step))
    if reason == "duda_general" and not (meaningful(text) and len(intents.words(text)) >= 4):
        step.say(pending(step))  # "11", "quiero hablar con alguien": the report is with a person
        return
    step.act(OpenTicket(reason=str(step.state.get("ticket_reason") or reason), description=text,
                        attachments=step.message.attachments))
    step.say(step.msg("ticket_updated"))


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
        labels = [step.msg(f"field_{f}") for f in _missing(esc)]
        if labels:
            step.say(step.msg("resume_escalation") + " " + step.msg("resume_missing", fields=join(labels)))
