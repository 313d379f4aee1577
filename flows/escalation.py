"""Collecting what staff need before a ticket: the escalation sub-flow.

Steps: ``describe`` (what went wrong, when the first message did not say)
→ ``collect`` (student ID, full name, NSS, CURP; everything at once or
piece by piece, each item validated) → ``confirm`` (a summary the student
accepts or corrects) → the ticket. The privacy notice is shown once, before
the first request for personal data; sending data after it is the
acknowledgement, recorded as a RecordConsent action.
"""
from __future__ import annotations

import re
from typing import Any

from flows import entities, intents
from flows.context import Step
from flows.messages import Attachment, OpenTicket, RecordConsent

FIELDS = ("student_id", "name", "nss", "curp")
#: Words that name a field, to understand "corregir el nss" or "la curp esta mal".
FIELD_WORDS = {
    "student_id": ("id", "matricula", "expediente", "estudiante"),
    "name": ("nombre", "apellido", "apellidos", "name"),
    "nss": ("nss", "seguro social", "seguridad social", "numero del imss"),
    "curp": ("curp",),
    "description": ("detalle", "descripcion", "problema", "duda", "mensaje"),
}
#: Words of a bare request for a person: without more, there is no question yet.
PERSON_WORDS = frozenset({
    "quiero", "hablar", "con", "una", "un", "persona", "humano", "asesor", "asesora", "alguien",
    "real", "agente", "pasame", "pasa", "comunicame", "me", "atienda", "porfa", "por", "favor",
    "ya", "ayuda", "necesito", "talk", "to", "a", "person", "human", "pls", "please", "hay",
    "ahi", "alguno", "operador", "gente", "de", "verdad", "la", "mesa", "q", "que", "can", "i",
    "ocupo", "hola", "buenas", "tardes", "dias", "noches", "oye", "el", "en", "contacto",
})
_QUOTE = re.compile(r"[\"'“”‘’«»]")


def active(state: dict[str, Any]) -> bool:
    return bool(state.get("esc")) and str(state.get("stage", "")).startswith("escalation_")


def start(step: Step, reason: str, *, description: str | None = None, intro: bool = True) -> None:
    """Begin collecting for a ticket of ``reason``, from the first message."""
    previous = step.state.get("esc") or {}
    esc: dict[str, Any] = {
        "reason": reason,
        "data": dict(previous.get("data") or step.state.get("known") or {}),
        "description": description,
        "attachments": [],
        "nss_unknown": bool(previous.get("nss_unknown")),
        "privacy_shown": bool(step.state.get("privacy_ack")),
        "return_stage": step.state.get("return_stage") or _return_stage(step.stage),
    }
    step.state["esc"] = esc
    if intro:
        for text in step.kb.topics[reason].answers:
            step.say(text)
    _take_attachments(step, esc)
    problems = _harvest(step, esc, step.text)
    if esc["description"] is None and _describes(reason, step.text, step.message.attachments):
        esc["description"] = step.text.strip()
    if esc["description"] is None:
        step.stage = "escalation_describe"
        step.say(step.msg(f"ask_description_{reason}"))
        return
    _continue(step, esc, problems)


def _return_stage(stage: str) -> str:
    if stage.startswith("escalation_") or stage in ("waiting_saved_date", "ticket_open"):
        return "menu"
    return stage


def handle(step: Step) -> bool:
    """Take the message as part of the collection; False if it is not."""
    esc = step.state["esc"]
    text = step.text
    _take_attachments(step, esc)
    if step.stage == "escalation_describe":
        if not text.strip() and not step.message.attachments:
            step.say(step.msg(f"ask_description_{esc['reason']}"))
            return True
        if _is_aside(step, text):
            return False
        esc["description"] = text.strip() or step.msg("description_attachment")
        problems = _harvest(step, esc, text)
        _continue(step, esc, problems)
        return True
    if step.stage == "escalation_confirm":
        return _confirm(step, esc, text)
    # collecting
    if esc.get("fixing") == "description" and text.strip():
        esc["description"] = text.strip()
        esc.pop("fixing", None)
        _continue(step, esc, [])
        return True
    before = dict(esc["data"])
    problems = _harvest(step, esc, text, expecting=_missing(esc)[:1])
    if esc["data"] == before and not problems:
        if "nss" in _missing(esc) and intents.says_dont_know(text):
            esc["nss_unknown"] = True
            step.say(step.msg("nss_unknown"))
            _continue(step, esc, [], quiet=True)
            return True
        if step.message.attachments:
            step.say(step.msg("attachment_received"))
            _continue(step, esc, [], quiet=True)
            return True
        if _is_aside(step, text):
            return False
        step.say(step.msg("collect_not_understood"))
    _continue(step, esc, problems)
    return True


def _is_aside(step: Step, text: str) -> bool:
    """A question about something else in the middle of collecting."""
    match = step.kb.matcher.classify(text)
    return bool(match.confident and match.topic and step.kb.topics[match.topic].kind == "answer"
                and match.topic not in ("fuera_de_tema",))


def _describes(reason: str, text: str, attachments: tuple[Attachment, ...]) -> bool:
    """Did the first message already say enough for staff to understand it?"""
    words = intents.words(text)
    if attachments:
        return True
    if reason == "duda_general":
        rest = [w for w in words if w not in PERSON_WORDS]
        return len(rest) >= 3
    if reason == "error_solicitud":
        return bool(_QUOTE.search(text)) or len(words) >= 10
    if reason == "datos_erroneos":
        folded = " ".join(words)
        named = any(w in folded for ws in FIELD_WORDS.values() for w in ws if w not in ("problema", "duda", "mensaje"))
        return named or any(w in folded for w in ("fecha", "correo", "sexo", "domicilio", "telefono"))
    return len(words) >= 6


def _take_attachments(step: Step, esc: dict[str, Any]) -> None:
    for a in step.message.attachments:
        esc["attachments"].append({"ref": a.ref, "content_type": a.content_type, "name": a.name})


def _harvest(step: Step, esc: dict[str, Any], text: str, expecting: list[str] | None = None) -> list[str]:
    """Take every valid item from the text; describe what is wrong with the rest."""
    data = esc["data"]
    problems: list[str] = []
    consumed = text
    for value in entities.find_student_id_candidates(text):
        data["student_id"] = value
        consumed = consumed.replace(value, " ").replace(value[5:], " ")
    for value in entities.find_nss_candidates(text):
        problem = entities.nss_problem(value)
        if problem is None:
            data["nss"] = value
            esc["nss_unknown"] = False
        else:
            problems.append(step.msg(f"nss_{problem}", value=value, n=len(value)))
        consumed = _remove_digits(consumed, value)
    for value in entities.find_curp_candidates(text):
        problem = entities.curp_problem(value)
        if problem is None:
            data["curp"] = value.upper()
        else:
            problems.append(step.msg(f"curp_{problem}", value=value.upper(), n=len(value)))
        consumed = re.sub(re.escape(value), " ", consumed, flags=re.IGNORECASE)
    name = entities.find_name(text)
    if not name and (expecting == ["name"] or "name" not in data):
        residual = _residual(consumed)
        if residual and entities.looks_like_name(residual) and (expecting == ["name"] or len(residual.split()) >= 3):
            name = residual.title()
    if name:
        data["name"] = name
    if expecting == ["student_id"] and not problems and "student_id" not in data:
        digits = re.findall(r"\d+", text)
        if digits:
            problems.append(step.msg("student_id_format"))
    return problems


def _remove_digits(text: str, digits: str) -> str:
    pattern = r"[\s.-]*".join(re.escape(d) for d in digits)
    return re.sub(pattern, " ", text)


_CUES = re.compile(
    r"\b(mi|nombre|completo|es|soy|me|llamo|id|nss|curp|y|el|la|de estudiante|matricula|:)\b",
    re.IGNORECASE,
)


def _residual(text: str) -> str:
    """What is left of the message once numbers, codes and cue words go."""
    rest = re.sub(r"[\d,;:/()\[\]#*_]+", " ", text)
    rest = _CUES.sub(" ", rest)
    return " ".join(rest.split())


def _missing(esc: dict[str, Any]) -> list[str]:
    data = esc["data"]
    return [f for f in FIELDS if f not in data and not (f == "nss" and esc.get("nss_unknown"))]


def _continue(step: Step, esc: dict[str, Any], problems: list[str], *, quiet: bool = False) -> None:
    """Report problems, then ask for what is missing or show the summary."""
    for problem in problems:
        step.say(problem)
    if esc["data"] and esc["privacy_shown"] and not step.state.get("privacy_ack"):
        step.state["privacy_ack"] = True
        step.act(RecordConsent(at=step.message.at))
    missing = _missing(esc)
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
        step.say(step.msg("ask_missing", fields=_join(labels)))


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


def _summary(step: Step, esc: dict[str, Any]) -> None:
    data = esc["data"]
    nss = data.get("nss") or step.msg("summary_nss_unknown")
    step.say(step.msg(
        "summary",
        student_id=data.get("student_id", ""), name=data.get("name", ""), nss=nss,
        curp=data.get("curp", ""), description=_short(esc.get("description") or ""),
        attachments=len(esc["attachments"]),
    ))


def _short(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _confirm(step: Step, esc: dict[str, Any], text: str) -> bool:
    answer = intents.yes_no(text)
    if answer is True:
        _open_ticket(step, esc)
        return True
    before = dict(esc["data"])
    problems = _harvest(step, esc, text)
    if esc["data"] != before or problems:
        _continue(step, esc, problems)
        return True
    field = _field_named(text)
    if field:
        esc["fixing"] = field
        if field == "description":
            step.stage = "escalation_collect"
            step.say(step.msg("ask_description_fix"))
            return True
        esc["data"].pop(field, None)
        _continue(step, esc, [])
        return True
    if answer is False:
        step.say(step.msg("ask_which_fix"))
        return True
    if step.message.attachments:
        step.say(step.msg("attachment_received"))
        _summary(step, esc)
        return True
    if _is_aside(step, text):
        return False
    step.say(step.msg("confirm_not_understood"))
    return True


def _field_named(text: str) -> str | None:
    folded = " " + " ".join(intents.words(text)) + " "
    for field, names in FIELD_WORDS.items():
        if any(f" {n} " in folded for n in names):
            return field
    return None


def _open_ticket(step: Step, esc: dict[str, Any]) -> None:
    data = {k: v for k, v in esc["data"].items() if v}
    if esc.get("nss_unknown") and "nss" not in data:
        data["nss_unknown"] = "sí"
    attachments = tuple(Attachment(a["ref"], a["content_type"], a.get("name", "")) for a in esc["attachments"])
    step.act(OpenTicket(reason=esc["reason"], description=esc.get("description") or "", data=data,
                        attachments=attachments))
    step.state["known"] = {k: v for k, v in esc["data"].items() if k in FIELDS}
    step.state["ticket_reason"] = esc["reason"]
    step.state["return_stage"] = esc.get("return_stage") or "menu"
    step.state.pop("esc", None)
    step.stage = "ticket_open"
    step.say(step.msg("ticket_opened") + " " + when_seen(step))


def when_seen(step: Step) -> str:
    """When a person will look at the ticket: now, or the next opening."""
    from flows.calendar import format_opening_es

    if step.hours.is_open(step.now):
        return step.msg("seen_now")
    opening = step.hours.next_opening(step.now)
    return step.msg("seen_later", hours=step.kb.desk.hours_label, when=format_opening_es(opening, step.now, tz=step.kb.desk.timezone))


def reprompt(step: Step) -> None:
    """After answering an aside, ask again for what the collection needs."""
    esc = step.state["esc"]
    if step.stage == "escalation_describe":
        step.say(step.msg("resume_escalation") + " " + step.msg(f"ask_description_{esc['reason']}"))
    elif step.stage == "escalation_confirm":
        step.say(step.msg("resume_escalation") + " " + step.msg("confirm_again"))
    else:
        labels = [step.msg(f"field_{f}") for f in _missing(esc)]
        if labels:
            step.say(step.msg("resume_escalation") + " " + step.msg("ask_missing", fields=_join(labels)))
