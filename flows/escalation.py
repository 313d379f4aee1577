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

from flows import entities, intents, report_right, report_text
from flows.context import Step
from flows.messages import OpenTicket
from knowledge.matcher import STRONG, fold
from flows.report_core import (
    FIELDS,
    accept_typed,
    add_typed_value,
    append_description,
    ask_for_rest,
    asks_for_person,
    consented,
    data_text_of,
    is_aside,
    lead_into,
    missing_fields,
    only_courtesy,
    reprompt,
    return_stage_of,
    set_aside,
    show_summary,
    stop_report,
    take_attachments,
    take_data,
    tells_typed_value,
    when_seen,
)
from flows.report_data import NAMES_SCREENSHOT, SPLIT_ID, first_name_only, with_surnames
from flows.report_data import read as _read
from flows.report_stages import (
    answered_as_the_doubt,
    confirm_step,
    consent_step,
    describe_step,
    settle_doubt,
)
from flows.report_text import (
    CORRECTION_CUE,
    PERSON_WORDS,
    adds_detail,
    asks_about_privacy,
    asks_to_delete,
    asks_when_answered,
    cancels,
    describes,
    description_text,
    field_named,
    join,
    meaningful,
    only_typed_values,
    refused_field,
    refuses_data,
    tells_wrong_and_right,
    typed_description,
    wrong_values_typed,
)

#: The report's public face for the rest of the flows (the steps themselves live in
#: :mod:`flows.report_core` and :mod:`flows.report_stages`).
__all__ = ["ESCALATION_STAGES", "FIELDS", "active", "answered_as_the_doubt", "handle", "pending",
           "reprompt", "set_aside", "stale", "start", "when_seen"]

#: The stages of the collection, in order (``escalation_consent`` only when data came before the notice).
ESCALATION_STAGES = ("escalation_describe", "escalation_consent", "escalation_collect", "escalation_confirm")


def active(state: dict[str, Any]) -> bool:
    return bool(state.get("esc")) and str(state.get("stage", "")).startswith("escalation_")


#: A report left unfinished this long is set aside by a new question (see :func:`stale`).
STALE_AFTER = timedelta(hours=12)


def stale(step: Step) -> bool:
    """Whether the report being collected was left a long time ago (days later, "sigo sin
    vigencia" is a new case, not more detail for the old one)."""
    started = (step.state.get("esc") or {}).get("started_at")
    return bool(started) and step.now - datetime.fromisoformat(started) >= STALE_AFTER


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
    # A new report replaces one set aside; the data given to that one (after the notice) is the
    # same student's, not asked for again ("me equivoqué…" one day, "me sale un error" the next).
    set_aside_data = ((step.state.pop("paused_esc", None) or {}).get("esc") or {}).get("data") or {}
    known_data = {**(step.state.get("known") or {}), **set_aside_data} if consented(step) else None
    esc: dict[str, Any] = {
        "reason": reason,
        "data": dict(previous.get("data") or known_data or {}),
        "description": description,
        "attachments": [],
        "nss_unknown": bool(previous.get("nss_unknown")),
        "privacy_shown": consented(step) or bool(previous.get("privacy_shown")),
        "return_stage": step.state.get("return_stage") or return_stage_of(step.stage),
        "started_at": step.now.isoformat(),
    }
    step.state["esc"] = esc
    if known is None and description is None and intro:
        # every fact the message asks for ("¿cubre a mis hijos? ¿cuánto cuesta?"), or None
        known = "\n\n".join(k.answer for k in step.kb.matcher.known_all(reason, step.text)) or None
    if known:
        # "¿el seguro cubre a mis hijos?": the desk's facts answer it; a person is still offered.
        step.say(known)
        unknown_part = _part_without_answer(step, reason)
        if unknown_part:
            # "¿cubre a mis papás? ¿y también cubre dentista?": the family's answer, and the part the
            # desk has no fact for said as such (kept for the person), never silently dropped.
            step.say(step.msg("doubt_part_unknown", part=unknown_part))
            esc["question"] = unknown_part
        step.say(step.msg("doubt_answered"))
        esc["answered"] = True
        esc["held"] = description_text(data_text_of(step))
        step.stage = "escalation_describe"
        return
    if (intro and reason == "duda_general" and intents.is_question(step.text) and not intents.asks_for_a_person(step.text)
            and not step.message.attachments):
        # A doubt the bot has no fact for, the person not asked for: why a person, not "Claro 🙂
        # te paso con una persona" as if they had asked.
        step.say(step.msg("doubt_for_a_person"))
    elif intro:
        for text in step.answers(reason):
            step.say(text)
    if set_aside_data and not previous.get("data") and consented(step):
        step.say(step.msg("report_data_reused"))
    take_attachments(step, esc)
    text = data_text_of(step)
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
    take_data(step, esc, found, problems, unknown)


#: The first half of a CURP (4 letters and the birth date) sent alone, and a second half.
_CURP_FIRST_HALF = re.compile(r"^(?:mi curp(?: es)?:?\s*)?([A-Za-zÑñ]{4}[0-9]{6})$", re.IGNORECASE)
_CURP_SECOND_HALF = re.compile(r"([HMXhmx][A-Za-zÑñ]{5}[0-9A-Za-z][0-9])\s*$")


def _joined_curp_halves(step: Step, esc: dict[str, Any], text: str) -> str | None:
    """A CURP sent in two messages ("BOXW310820", then "HNERXN09"): the first half is kept
    (None: nothing else to do now), the second completes it."""
    if "curp" not in missing_fields(esc):
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


def _detail_of(step: Step, text: str) -> str:
    """The message for the detail: with a password in it, only its clauses that held none ("puse
    gmail y era hotmail, si quieren mi contraseña es …": the correction, nothing of the password's
    sentence); the password itself was never in ``text``."""
    if not step.had_secret:
        return text
    redacted, _ = entities.redact_secrets(step.message.text or "")
    kept = [c.strip() for c in re.split(r"[,;.!?\n]+", redacted) if entities.REDACTED_SECRET not in c and c.strip()]
    return ", ".join(kept) or text


def handle(step: Step) -> bool:
    """Take the message as part of the collection; False if it is not."""
    esc = step.state["esc"]
    text = data_text_of(step)
    take_attachments(step, esc)
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
        take_data(step, esc, found, [], False)
        return True
    if refuses_data(text):
        stop_report(step, esc)
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
        _leave_unsent(step, esc, "escalation_cancelled")
        if any(w in intents.THANKS for w in intents.words(text)):
            step.topic = "despedida"  # "mejor al rato lo veo, gracias": set aside, and a goodbye
        return True
    if esc.get("answered") and step.stage == "escalation_describe" and settle_doubt(step, esc, text):
        return True
    if intents.is_question(text) and intents.asks_report_status(text):
        # "¿ya me atendieron?", "¿ya quedó lo de mi NSS?" with the report still unsent: it has not
        # gone to anyone yet (never "la anoto en tu reporte"), what it needs, and its data kept.
        step.topic = None
        step.say(step.msg("report_not_sent_yet"))
        if step.stage == "escalation_confirm":
            show_summary(step, esc)
        else:
            reprompt(step)
        return True
    if intents.will_do_soon(text) and not (step.stage == "escalation_describe" and report_text.promises_screenshot(text)):
        # "ahorita no tengo mis datos, luego te los paso": the report waits, nothing changes.
        step.say(step.msg("report_waits"))
        return True
    social = only_courtesy(step, text)
    if social == "saludo" and esc.get("answered") and step.stage == "escalation_describe":
        # "hola" after "¿con eso queda resuelta tu duda?": there is no report yet; the menu.
        step.state.pop("esc", None)
        return False
    if social == "despedida" and (_GOODBYE.search(" ".join(intents.words(text))) or (
            not esc["data"] and step.stage == "escalation_collect" and intents.closes(text))):
        # "bye", "nos vemos" (or "no gracias" before any data): the student leaves; the report waits
        # unsent, said so with the way back, not "sigamos con tu reporte" at every goodbye.
        step.topic = "despedida"
        _leave_unsent(step, esc, "report_left_goodbye")
        return True
    if social:
        # "hola" days later, "gracias" mid-way: a courtesy back, and where the report stands.
        step.topic = social
        step.say(step.msg("report_welcome_back" if social == "saludo" else "report_thanks"))
        if social == "saludo" and step.stage == "escalation_confirm":
            show_summary(step, esc)  # back after a while: the whole summary, not only "¿lo envío?"
        else:
            reprompt(step)
        return True
    if step.stage == "escalation_consent":
        return consent_step(step, esc, text)
    if step.stage == "escalation_describe":
        return describe_step(step, esc, text)
    if step.stage == "escalation_confirm":
        return confirm_step(step, esc, text)
    # collecting
    missing = missing_fields(esc)
    if (step.stage == "escalation_collect" and report_text.SEND_AS_IT_IS.search(" ".join(intents.words(text))) and missing
            and set(missing) <= {"nss", "curp", "student_id"} and not entities.find_nss_candidates(text)
            and not entities.find_curp_candidates(text)):
        # "no la tengo, mándalo así": the report goes without what is missing, flagged for staff
        # (as after "no la tengo" twice), not "sigamos con tu reporte" in a loop.
        for field in missing:
            esc[{"nss": "nss_unknown", "curp": "curp_unknown", "student_id": "id_missing"}[field]] = True
            if field == "curp":
                esc["curp_missing"] = True
        ask_for_rest(step, esc, [])
        return True
    if esc.get("fixing") == "description" and text.strip():
        esc["description"] = description_text(text) or esc.get("description")
        esc.pop("fixing", None)
        ask_for_rest(step, esc, [])
        return True
    right = report_right.pending(esc)
    if right:
        # "juan.perez@gmail.com" (alone, or with the data) after "¿cuál es tu correo correcto?".
        taken = report_right.take(esc, text, step.msg(f"right_detail_{right}"), alone=not missing_fields(esc))
        if taken is not None:
            line, rest = taken
            if tells_wrong_and_right(text):
                # "puse 2004 y es 2003": what was typed stays in the detail beside the right value.
                append_description(esc, typed_description(_detail_of(step, text)))
                step.say(step.msg("correction_noted"))
            append_description(esc, line)
            found, problems, unknown = _read(step, esc, rest) if rest.strip() else ({}, [], False)
            if found or problems or unknown:
                take_data(step, esc, found, problems, unknown)
            else:
                ask_for_rest(step, esc, [])
            return True
    if tells_typed_value(esc, text) or only_typed_values(esc["reason"], text):
        add_typed_value(step, esc, text)
        ask_for_rest(step, esc, [])
        return True
    typed = wrong_values_typed(text)
    if typed or (esc["reason"] == "datos_erroneos" and tells_wrong_and_right(text)):
        # "puse BOXW…08 y es BOXW…09", "puse Jose y es José Luis" while the data is collected:
        # what was typed and how it should be go to the detail as typed; a valid value is the
        # data (the wrong one is not refused as invalid, nor its words taken for a name).
        append_description(esc, typed_description(_detail_of(step, text)))
        step.say(step.msg("correction_noted"))  # said, so the student knows it was kept
        accept_typed(step, esc, text)
        return True
    if esc["reason"] == "error_solicitud" and _error_text_piece(esc, text):
        # '"No se pudo completar la operación. Código SF-0', then '17"', 'sale en rojo': the error
        # as the student copies it, in pieces, while the data is asked for; all of it goes to the
        # detail, as typed (its numbers are the error's code, not an ID).
        append_description(esc, description_text(text) or text.strip())
        step.say(step.msg("added_to_description"))
        ask_for_rest(step, esc, [])
        return True
    text = _joined_curp_halves(step, esc, text)
    if text is None:
        return True
    expecting = missing_fields(esc)[:1]
    if (esc.get("first_name") and "name" in missing_fields(esc) and entities.looks_like_name(text)
            and len(text.split()) <= 3 and not re.search(r"\d", text)):
        # "García López" after "me llamo Ángel": the full name, put together.
        name = entities.title_name(f"{esc.pop('first_name')} {text.strip().rstrip('.')}")
        take_data(step, esc, {"name": name}, [], False)
        return True
    if expecting == ["student_id"] and SPLIT_ID.fullmatch(text):
        text = re.sub(r"\D", "", text)  # "234 567": the ID asked for, typed in two halves
    found, problems, unknown = _read(step, esc, text, expecting=expecting)
    if "name" in found and esc.get("name_before"):
        found["name"] = with_surnames(found["name"], esc.pop("name_before"), text)
    name = esc["data"].get("name") or ""
    given = text.strip().rstrip(".")
    if (not (found or problems or unknown) and name and entities.looks_like_name(given) and not re.search(r"\d", given)
            and 2 <= len(given.split()) <= 5 and fold(given).startswith(fold(name))):
        # "me llamo José Pérez", then "José Pérez Soto": the whole name, said again in full (not
        # "no encontré ese dato", nor "José Pérez José Pérez"); the same name again changes nothing.
        found = {"name": entities.title_name(given)} if fold(given) != fold(name) else {}
        if not found:
            ask_for_rest(step, esc, [])
            return True
    elif (not (found or problems or unknown) and len(name.split()) == 2 and entities.looks_like_name(text)
            and len(text.split()) <= 2 and not re.search(r"\d", text)):
        # "me llamo María Fernanda", then "López Parra": the surnames of the name just given.
        found = {"name": entities.title_name(f"{name} {text.strip().rstrip('.')}")}
    named = field_named(text)
    if (not (found or problems) and {"nss", "curp"} <= set(missing_fields(esc))
            and _WITHOUT_BOTH.search(" ".join(intents.words(text)))):
        # "no tengo su NSS ni su CURP, están en su celular" (a parent): the report goes without
        # both, flagged for staff, who find the student by ID and name; neither asked for again.
        esc["nss_unknown"] = esc["curp_missing"] = esc["curp_unknown"] = True
        step.say(step.msg("nss_curp_none"))
        ask_for_rest(step, esc, [])
        return True
    if not (found or problems or unknown) and "curp" in missing_fields(esc) and _WITHOUT_CURP.search(
            " ".join(intents.words(text))):
        # "soy extranjera, no tengo CURP": the report goes without it, as without an NSS.
        esc["curp_missing"] = True
        step.say(step.msg("curp_none"))
        ask_for_rest(step, esc, [])
        return True
    if (not (found or problems or unknown) and "curp" in missing_fields(esc)
            and (named == "curp" or (expecting == ["curp"] and esc["data"]))
            and intents.says_dont_know(text) and not step.recalls("curp_help", within=2)):
        # "no me acuerdo de mi CURP", or "no la tengo" when the CURP alone is asked for: where to
        # look it up (not "no NSS"); said again right after, the report goes without it (below).
        step.say(step.msg("curp_unknown"))
        step.remember("curp_help")
        return True
    if (not (found or problems or unknown) and "student_id" in missing_fields(esc)
            and (_ASKS_ID.search(" ".join(intents.words(text))) or (
                expecting == ["student_id"] and esc["data"]  # the ID asked for alone, not the whole request
                and (intents.yes_no(text) is False or intents.says_dont_know(text))))):
        if step.recalls("id_help", within=2) and not intents.is_question(text):
            # "no lo tengo" again after where to find it: the report goes without it (staff find
            # the student by name, NSS or CURP).
            esc["id_missing"] = True
            step.say(step.msg("id_later"))
            ask_for_rest(step, esc, [])
            return True
        # "¿cuál es mi ID?", "no lo tengo": where it is.
        step.remember("id_help")
        step.say(step.msg("student_id_where"))
        return True
    if (not (found or problems or unknown) and "curp" in missing_fields(esc) and step.recalls("curp_help", within=2)
            and (intents.yes_no(text) is False or intents.says_dont_know(text))):
        # "no la tengo" right after where to look it up: the report goes without it.
        esc["curp_missing"] = esc["curp_unknown"] = True
        step.say(step.msg("curp_later"))
        ask_for_rest(step, esc, [])
        return True
    if (not (found or problems or unknown) and "nss" in missing_fields(esc) and intents.says_dont_know(text)
            and len(intents.words(text)) <= 5 and named in (None, "nss")
            and not NAMES_SCREENSHOT.search(" ".join(intents.words(text)))):
        unknown = True  # "no lo sé" while the NSS is still missing: the one students do not know
    if not (found or problems or unknown) and NAMES_SCREENSHOT.search(" ".join(intents.words(text))) and (
            intents.yes_no(text) is False or intents.says_dont_know(text)):
        # "no tengo captura": it is not needed.
        step.say(step.msg("no_screenshot"))
        ask_for_rest(step, esc, [])
        return True
    if found or problems or unknown:
        esc.pop("fixing", None)
        take_data(step, esc, found, problems, unknown)
        return True
    if step.message.attachments:
        step.say(step.msg("attachment_received"))
        ask_for_rest(step, esc, [], quiet=True)
        return True
    field = field_named(text)
    if field in esc["data"] and CORRECTION_CUE.search(" ".join(intents.words(text))):
        # "corregir el nombre" before the summary: ask for it again.
        esc["data"].pop(field)
        ask_for_rest(step, esc, [])
        return True
    if asks_when_answered(text):
        # "¿cuánto tardan en contestarme?" before the report exists: when a person will see it.
        step.say(step.msg("collect_reply_when") + " " + when_seen(step))
        ask_for_rest(step, esc, [])
        return True
    saved = step.read_day(text) if entities.mentions_saving(text) else None
    if (saved is not None and saved <= step.today and saved.isoformat() != step.state.get("saved_on")
            and not intents.is_question(text) and len(intents.words(text)) <= 8):
        # "la guardé ayer" while another employer's report is collected: when it was saved,
        # for staff (the report stands whatever the waiting period says).
        when = step.date_es(saved)
        append_description(esc, step.msg("description_saved_on", when=when))
        step.say(step.msg("saved_on_noted", when=when))
        ask_for_rest(step, esc, [])
        return True
    if is_aside(step, text):
        return False
    if asks_for_person(step):
        known = step.kb.matcher.known_answer("duda_general", step.text) if intents.is_question(text) else None
        if known:
            # "oye, ¿y cuánto cuesta?" mid-way: the desk's fact, and on with the report.
            step.say(known)
        elif len([w for w in intents.words(text) if w not in PERSON_WORDS]) >= 3:
            # "¿cubre a mis hijos?": another question for the person, who gets it with the report.
            addition = description_text(text)
            append_description(esc, addition)
            step.say(step.msg("added_to_description"))
        else:
            step.say(step.msg("collect_is_for_person"))
        ask_for_rest(step, esc, [])
        return True
    first = first_name_only(text, expecting)
    if first and "name" in missing_fields(esc):
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
        append_description(esc, addition)
        step.say(step.msg("added_to_description"))
        ask_for_rest(step, esc, [])
        return True
    verdict = intents.yes_no(text)
    if verdict is True:
        # "sí, acepto", "ok" after the privacy notice or a request for data: agreed, not a datum;
        # what is missing in one line (not the whole request again).
        labels = [step.msg(f"field_{f}") for f in missing_fields(esc)]
        if labels:
            step.say(step.msg("collect_yes", fields=join(labels)))
            return True
    elif verdict is False and len(intents.words(text)) <= 3:
        # A bare "no" to the request for data: what it is for and both ways on (send some,
        # cancel, or write to the desk), not "no encontré ese dato".
        step.say(step.msg("collect_no"))
        return True
    elif intents.is_question(text) and NAMES_SCREENSHOT.search(" ".join(intents.words(text))):
        step.say(step.msg("screenshot_welcome"))  # "¿te mando captura?": yes, here
    elif intents.is_question(text) and (known := _known_aside(step, text)):
        step.say(known)  # "¿y a mis papás?": what the desk is known to say, and the data still asked
    elif intents.is_question(text) and len(intents.words(text)) >= 3:
        # "¿entonces ya no lo ocupo?": a question the bot did not get; the person gets it with
        # the report, and the data is still what the report needs.
        append_description(esc, description_text(text))
        lead_into(step, step.msg("question_kept"), lambda: ask_for_rest(step, esc, [], got=False))
        return True
    else:
        step.say(step.msg("collect_not_understood"))
    ask_for_rest(step, esc, [], got=False)
    return True


def _known_aside(step: Step, text: str) -> str | None:
    """A known answer to a question asked while data is collected: of the topic it names, or one
    of the desk's ("¿y a mis papás también?" is the family one)."""
    match = step.classify(text)
    known = step.kb.matcher.known_answer(match.topic, text) if match.topic else None
    return known or step.kb.matcher.known_answer("duda_general", text)


#: "no tengo CURP" (a foreign student): not "I don't remember it".
def _leave_unsent(step: Step, esc: dict[str, Any], message: str) -> None:
    """The report set aside unsent ("retomar mi reporte" brings it back) and the student told."""
    set_aside(step, esc)
    step.state.pop("esc", None)
    step.stage = esc.get("return_stage") or "menu"
    step.say(step.msg(message))


#: "bye", "adiós", "nos vemos": leaving, not only thanking.
_GOODBYE = re.compile(r"\b(?:bye|adios|nos vemos|hasta luego|hasta pronto|cuidate|chao|chau)\b")
#: "¿cuál es mi ID?", "¿dónde veo mi matrícula?".
_ASKS_ID = re.compile(r"\b(?:cual es|donde (?:veo|encuentro|saco|viene|esta)|que es|no se|no tengo|no me se) (?:mi |el |la )?"
                      r"(?:id|matricula|numero de estudiante|id de estudiante)\b")
#: "no tengo su NSS ni su CURP", "ni NSS ni CURP", "no me sé ninguno de los dos".
_WITHOUT_BOTH = re.compile(
    r"\bno (?:tengo|tiene|traigo|trae|se|me se|sabe|conozco) (?:(?:su|mi|el|la|tu) )?(?:nss|curp) ni (?:(?:su|mi|el|la|tu) )?(?:nss|curp)\b"
    r"|\bni (?:(?:su|mi|el) )?nss ni (?:(?:su|mi|la) )?curp\b|\bni (?:(?:su|mi|la) )?curp ni (?:(?:su|mi|el) )?nss\b"
    r"|\bno (?:tengo|tiene|se|me se) (?:ninguno|ninguna) de los dos\b")
_WITHOUT_CURP = re.compile(r"\bno tengo (?:una |la |mi )?curp\b|\bextranjer[oa]\b|\bsin curp\b")


def _error_text_piece(esc: dict[str, Any], text: str) -> bool:
    """A piece of the error's text, no datum in it: words of an error ("código", "sale en rojo"),
    a quotation, or what follows a quotation still open in the detail ('17"')."""
    if (entities.find_nss_candidates(text) or entities.find_curp_candidates(text)
            or entities.find_student_id_candidates(text) or intents.is_question(text)):
        return False
    words = intents.words(text)
    if not words or len(words) > 25:
        return False
    if _ERROR_WORDS.search(" ".join(words)):
        return True  # ("sale en rojo" reads as a yes, "sale": it is how the error shows)
    if intents.yes_no(text) is not None:
        return False
    quoted = bool(_ERROR_QUOTE.search(text))
    opened = (esc.get("description") or "").count('"') % 2 == 1  # a quotation still open in the detail
    return quoted or opened


_ERROR_QUOTE = re.compile(r"[\"“”«»]")
#: Words of an error message or of how it shows: "código SF-017", "sale en rojo", "no se pudo…".
_ERROR_WORDS = re.compile(r"\b(?:codigo|error|en rojo|no se pudo|no es posible|operacion|invalido|invalida|intente mas tarde)\b")


_PARTS = re.compile(r"[?¿!.;]+|\by (?:tambien|tmb|ademas)\b|\botra (?:cosa|pregunta)\b")


def _part_without_answer(step: Step, reason: str) -> str | None:
    """A question of the message that names the desk's kind of doubt ("¿cubre dentista?") but none
    of its known answers, when another part of the message had one."""
    parts = [p.strip(" ,") for p in _PARTS.split(step.text) if len(intents.words(p)) >= 2]
    if len(parts) < 2:
        return None
    for part in parts:
        if step.kb.matcher.known_all(reason, part):
            continue
        if step.classify(part).keyword_scores.get(reason, 0.0) >= STRONG:
            return description_text(part)
    return None


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
    text = description or description_text(data_text_of(step))
    if reason == "duda_general" and not (meaningful(text) and len(intents.words(text)) >= 4):
        step.say(pending(step))  # "11", "quiero hablar con alguien": the report is with a person
        return
    step.act(OpenTicket(reason=str(step.state.get("ticket_reason") or reason), description=text,
                        attachments=step.message.attachments))
    step.say(step.msg("ticket_updated"))


