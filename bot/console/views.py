"""What the inbox and the ticket page show, read from the database in one session.

Kept apart from the routes so the same rows feed the first page load and
the polling that keeps it live.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.desk import REPLACED_KEY
from bot.models import Contact, Conversation, Direction, Holder, Message, Ticket, TicketStatus
from bot.staff_models import AuditEntry, CannedResponse, StaffUser, TicketNote, TicketView
from bot.staffdesk import (
    CORRECT_RESOLVED,
    MASKED_FIELDS,
    REASON_CODES,
    REASON_RESOLVED,
    UNRESOLVED,
    Action,
    held_by_colleague,
    mask,
    window_closed,
)

REASONS = {
    "datos_erroneos": "Datos erróneos",
    "error_solicitud": "Error en la solicitud",
    "sin_vigencia": "Sin vigencia",
    "duda_general": "Duda general",
}
assert tuple(REASONS) == REASON_CODES, "the console labels every case the desk knows"
STATUSES = {TicketStatus.OPEN: "Abierto", TicketStatus.ASSIGNED: "En atención", TicketStatus.RESOLVED: "Resuelto"}
CHANNELS = {"whatsapp": "WhatsApp", "telegram": "Telegram", "webchat": "Web", "console": "Terminal"}
AGES = {"24h": "Últimas 24 h", "3d": "Últimos 3 días", "old3d": "Más de 3 días", "old7d": "Más de 7 días"}
DATA_LABELS = {"student_id": "ID ITSON", "name": "Nombre", "nss": "NSS", "curp": "CURP", "email": "Correo",
               "nss_unknown": "No sabe su NSS", "curp_missing": "No tiene CURP (extranjero)",
               "curp_unknown": "No tiene su CURP a la mano", "student_id_missing": "No tiene su ID a la mano",
               "nss_refused": "Prefirió no dar su NSS", "curp_refused": "Prefirió no dar su CURP",
               "nss_unverified": "NSS sin verificar", "curp_unverified": "CURP sin verificar"}
#: The order of the data on a ticket, the same on every ticket (the flow adds them in the order the
#: student gave them): who it is, then the two numbers the IMSS asks for, each followed by its
#: flags; anything else after them, by label.
DATA_ORDER = ("name", "student_id", "student_id_missing", "nss", "nss_unknown", "nss_refused", "nss_unverified",
              "curp", "curp_missing", "curp_unknown", "curp_refused", "curp_unverified", "email")
#: What a flag of the data means, shown as its value (a long label squeezed the values' column).
FLAG_NOTES = {"nss_unverified": "su último dígito no corresponde; lo confirmó dos veces",
              "curp_unverified": "su último carácter no corresponde; la confirmó dos veces"}
#: Why a reply was not delivered, as staff read it (the outbox's error codes; others shown as they are).
DELIVERY_ERRORS = {"no_template": "no hay plantilla aprobada configurada y pasaron 24 h",
                   "63016": "fuera de la ventana de 24 h de WhatsApp", "retries_exhausted": "falló tras varios intentos",
                   "no_sender": "no hay número de envío configurado", "403": "el estudiante bloqueó al bot o lo rechazó",
                   "400": "el canal rechazó el mensaje", "migrated": "el chat de Telegram cambió de número",
                   "empty": "mensaje vacío"}
DELIVERY = {"received": "recibido", "pending": "en cola", "sending": "enviando", "sent": "enviado",
            "delivered": "entregado", "read": "leído", "failed": "falló", "undelivered": "no entregado"}
STAGES = {
    "menu": "En el menú", "offer_guide": "Le ofrecimos la guía", "prereq_coverage": "Requisitos: cobertura",
    "prereq_other": "Requisitos", "prereq_nss": "Requisitos: NSS", "nss_lookup": "Consiguiendo su NSS",
    "cia_route": "Solicitud en el CIA", "filling": "Llenando la solicitud",
    "waiting_saved_date": "Fecha en que guardó la solicitud", "waiting_period": "Periodo de espera (5 días hábiles)",
    "checking_coverage": "Revisando su vigencia", "umf_registration": "Alta en la clínica (UMF)",
    "done": "Trámite terminado", "ticket_open": "Esperando a la mesa de ayuda",
}
INBOX_LIMIT = 200

#: The audit log's actions, in staff's words (the Bitácora and a ticket's history).
ACTION_LABELS = {
    Action.TAKE: "Tomó el chat", Action.REASSIGN: "Tomó el chat de otra persona", Action.REPLY: "Respondió",
    Action.NOTE: "Nota interna", Action.REVEAL: "Reveló dato", Action.RESOLVE: "Resolvió",
    Action.HAND_BACK: "Devolvió al bot", Action.REOPEN: "Reabrió", Action.LOGIN: "Inició sesión",
    Action.LOGOUT: "Cerró sesión", Action.EXPORT: "Exportó CSV", Action.STAFF_ADD: "Creó cuenta",
    Action.STAFF_UPDATE: "Cambió cuenta", Action.STAFF_PASSWORD: "Cambió la contraseña de otra cuenta",
    Action.CANNED: "Editó respuestas", Action.CORRECT: "Corrigió dato", Action.OWN_PASSWORD: "Cambió su contraseña",
    Action.REASON: "Cambió el motivo",
}


#: What an audit entry's detail says, in staff's words (the keys are the code's own).
_DETAIL_VALUES: dict[str, dict[str, str]] = {
    "op": {"save": "guardó", "delete": "borró", "corrected": "corregido", "added": "agregado"},
    "field": {"nss": "NSS", "curp": "CURP"},
    "role": {"agent": "agente", "admin": "administración"},
    "by": {"student": "el estudiante", "staff": "el personal"},
    "reason": {"hold_expired": "nadie lo atendió a tiempo", "account_disabled": "la cuenta se desactivó"},
    "from_reason": REASONS, "to_reason": REASONS,
}
_DETAIL_KEYS = {"op": "", "canned_id": "respuesta", "message_id": "mensaje", "note_id": "nota", "field": "dato",
                "role": "rol", "active": "", "start": "desde", "by": "lo reabrió", "reason": "por qué",
                "from_staff_id": "lo atendía", "target": "cuenta", "from_reason": "de", "to_reason": "a"}


def detail_text(detail: dict[str, object] | None, names: dict[int, str]) -> str:
    """ "cuenta: Sofía Núñez, rol: agente", "guardó la respuesta #3", "mensaje #113 (como plantilla)"."""
    parts: list[str] = []
    for key, value in (detail or {}).items():
        if value is None or (key == "template" and not value):
            continue
        if key == "template":
            parts.append("como plantilla")
        elif key == "active":
            parts.append("activada" if value else "desactivada")
        elif key in ("from_staff_id", "target"):
            parts.append(f"{_DETAIL_KEYS[key]}: {names.get(value, value)}")  # type: ignore[call-overload]
        elif key in ("canned_id", "message_id", "note_id"):
            parts.append(f"{_DETAIL_KEYS[key]} #{value}")
        else:
            shown = _DETAIL_VALUES.get(key, {}).get(str(value), str(value))
            label = _DETAIL_KEYS.get(key, key)
            parts.append(f"{label}: {shown}" if label else shown)
    return ", ".join(parts)


def _history_who(entry: AuditEntry, names: dict[int, str]) -> str:
    if entry.staff_id:
        return names.get(entry.staff_id, "Personal")
    detail = entry.detail or {}
    if entry.action == Action.REASON:
        return "El bot, por lo que escribió el estudiante"
    if detail.get("by") == "student":
        return "El estudiante"
    return "Automático"


def history(session: Session, *, ticket: Ticket, names: dict[int, str]) -> list[dict[str, Any]]:
    """What was done to the ticket, oldest first: when, who, what (a change of reason says from what to what)."""
    entries = session.exec(select(AuditEntry).where(AuditEntry.ticket_id == ticket.id)
                           .order_by(col(AuditEntry.at), col(AuditEntry.id)))
    rows = []
    for entry in entries:
        detail = entry.detail or {}
        if entry.action == Action.REASON:
            before, after = detail.get("from_reason"), detail.get("to_reason")
            what = (f"Cambió el motivo de «{REASONS.get(str(before), before)}» "
                    f"a «{REASONS.get(str(after), after)}»")
        else:
            what = ACTION_LABELS.get(entry.action, entry.action)
            extra = detail_text({k: v for k, v in detail.items() if k != "by"}, names)
            what = f"{what} ({extra})" if extra else what
        rows.append({"at": entry.at, "who": _history_who(entry, names), "what": what, "action": entry.action,
                     "from_reason": detail.get("from_reason")})
    return rows


def opened_reason(ticket: Ticket, history_rows: list[dict[str, Any]]) -> str:
    """The reason the ticket was opened with: the first change's "from", or the one it has."""
    changes = [h for h in history_rows if h["action"] == Action.REASON and h["from_reason"]]
    return str(changes[0]["from_reason"]) if changes else ticket.reason


@dataclass
class Filters:
    reason: str = ""
    status: str = "active"
    channel: str = ""
    age: str = ""
    q: str = ""
    #: Only the urgent tickets (a student at the hospital while not covered).
    urgent: bool = False

    @classmethod
    def from_query(cls, params: Any) -> Filters:
        def get(name: str, allowed: Any = None, default: str = "") -> str:
            value = str(params.get(name) or default)[:100].strip()
            return value if allowed is None or value in allowed else default
        return cls(reason=get("reason", REASONS), status=get("status", ("active", "all", *STATUSES), "active"),
                   channel=get("channel", CHANNELS), age=get("age", AGES), q=get("q"),
                   urgent=get("urgent", ("1",)) == "1")


@dataclass
class InboxRow:
    ticket: Ticket
    section: int  # 0 unassigned, 1 mine, 2 the rest
    channel: str
    name: str
    student_id: str
    assigned: str
    #: Who worked on it (first reply), kept after the chat went back to the bot.
    handled: str
    unread: bool
    last_in: datetime | None
    age_s: float
    #: The student wrote again about it after it was resolved, and it is not resolved again yet.
    reopened: bool = False


@dataclass
class Inbox:
    rows: list[InboxRow] = field(default_factory=list)
    unread: int = 0
    signature: str = ""


#: Where the student was before asking for the desk (``return_stage``), as its own value.
BEFORE_STAGES = {**STAGES, "menu": "En el menú principal (aún no empezaba la guía del trámite)",
                 "done": "Ya había terminado el trámite"}


def stage_label(state: dict[str, Any] | None) -> str:
    state = state or {}
    stage = str(state.get("stage") or "menu")
    if state.get("esc"):
        return "Dando sus datos para un reporte"
    return STAGES.get(stage, "Otro paso de la conversación")


def before_label(state: dict[str, Any] | None) -> str:
    """Where the student was in the procedure when the report was made ("" when not waiting on one)."""
    state = state or {}
    if str(state.get("stage") or "") != "ticket_open" or state.get("esc"):
        return ""
    before = str(state.get("return_stage") or "menu")
    return BEFORE_STAGES.get(before, "Otro paso de la conversación")


def data_rows(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The data panel's rows in :data:`DATA_ORDER`; NSS and CURP masked, a flag as what it means."""
    data = data or {}
    known = [k for k in DATA_ORDER if k in data]
    # "_…" keys are the desk's own bookkeeping (the values a correction replaced), not data.
    others = sorted((k for k in data if k not in DATA_ORDER and not k.startswith("_")),
                    key=lambda k: DATA_LABELS.get(k, k))
    rows = []
    for key in [*known, *others]:
        value = data[key]
        masked = key in MASKED_FIELDS
        shown = mask(str(value)) if masked else FLAG_NOTES.get(key, str(value))
        rows.append({"key": key, "label": DATA_LABELS.get(key, key), "masked": masked, "value": shown})
    return rows


CURP_RE = re.compile(r"\b[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d\b", re.IGNORECASE)


def hide_personal(text: str, hidden: list[str]) -> str:
    """The transcript as staff first see it: NSS and CURP masked like the data panel."""
    for value in hidden:
        if value:
            text = re.sub(re.escape(value), mask(value), text, flags=re.IGNORECASE)
    return CURP_RE.sub(lambda m: mask(m.group(0)), text)


def hidden_values(session: Session, conversation_id: int) -> list[str]:
    values: list[str] = []
    for data in session.exec(select(Ticket.data).where(Ticket.conversation_id == conversation_id)):
        values += [str((data or {}).get(k) or "") for k in MASKED_FIELDS]
        # An NSS or CURP replaced by a correction is still in the conversation, as the student typed it.
        values += [str(v) for v in (data or {}).get(REPLACED_KEY) or []]
    return [v for v in values if len(v) >= 6]


def staff_names(session: Session) -> dict[int, str]:
    return {s.id: s.name for s in session.exec(select(StaffUser))}  # type: ignore[misc]


def _folded_words(text: str) -> list[str]:
    """Lower case, no accents, split at spaces: "López" is found by "lopez", "Sofía" by "SOFIA"."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).split()


def _matches(q: str, ticket: Ticket, contact: Contact) -> bool:
    """Whether one field holds the search: typed as a whole, spaces aside ("1234 5678 903" is an NSS,
    "valdezruiz" a name), or word by word in any order ("rosa valdez" finds "Rosa Elena Valdez Ruiz").

    In Python, over the rows the other filters left, so SQLite and PostgreSQL find the same."""
    words = _folded_words(q)
    if not words:
        return False
    whole = "".join(words)
    data = ticket.data or {}
    haystack = [str(data.get(k) or "") for k in ("student_id", "name", "nss", "curp")]
    haystack += [contact.student_id or "", contact.display_name or "", str(ticket.id)]
    for value in haystack:
        if not value:
            continue
        field_words = _folded_words(value)
        spaced, compact = " ".join(field_words), "".join(field_words)
        if whole in compact or all(word in spaced for word in words):
            return True
    return False


def inbox(session: Session, *, staff: StaffUser, filters: Filters, now: datetime) -> Inbox:
    """The queue: unassigned open first, then mine, then the rest; within each, urgent ones first, then
    newest activity first."""
    stmt = select(Ticket, Conversation, Contact).join(Conversation, col(Ticket.conversation_id) == Conversation.id) \
        .join(Contact, col(Ticket.contact_id) == Contact.id)
    if filters.status == "active":
        stmt = stmt.where(col(Ticket.status).in_(UNRESOLVED))
    elif filters.status in STATUSES:
        stmt = stmt.where(Ticket.status == filters.status)
    if filters.reason:
        stmt = stmt.where(Ticket.reason == filters.reason)
    if filters.channel:
        stmt = stmt.where(Conversation.channel == filters.channel)
    if filters.urgent:
        stmt = stmt.where(col(Ticket.urgent).is_(True))
    if filters.age == "24h":
        stmt = stmt.where(col(Ticket.created_at) >= now - timedelta(hours=24))
    elif filters.age == "3d":
        stmt = stmt.where(col(Ticket.created_at) >= now - timedelta(days=3))
    elif filters.age == "old3d":
        stmt = stmt.where(col(Ticket.created_at) < now - timedelta(days=3))
    elif filters.age == "old7d":
        stmt = stmt.where(col(Ticket.created_at) < now - timedelta(days=7))
    found = list(session.exec(stmt.order_by(col(Ticket.updated_at).desc()).limit(2000)))
    if filters.q:
        found = [(t, c, k) for t, c, k in found if _matches(filters.q, t, k)]
    conv_ids = {c.id for _, c, _ in found}
    last_in = dict(session.exec(  # type: ignore[arg-type]
        select(Message.conversation_id, func.max(Message.id)).where(
            col(Message.conversation_id).in_(conv_ids), Message.direction == Direction.IN
        ).group_by(col(Message.conversation_id))
    ).all()) if conv_ids else {}
    last_in_at = dict(session.exec(  # type: ignore[arg-type]
        select(Message.id, Message.created_at).where(col(Message.id).in_(list(last_in.values())))
    ).all()) if last_in else {}
    seen = dict(session.exec(  # type: ignore[arg-type]
        select(TicketView.conversation_id, TicketView.last_message_id).where(TicketView.staff_id == staff.id)
    ).all())
    names = staff_names(session)
    result = Inbox()
    for ticket, conversation, contact in found:
        holder_id = conversation.holder_staff_id if conversation.holder == Holder.STAFF else None
        mine = ticket.status != TicketStatus.RESOLVED and (ticket.assigned_staff_id == staff.id or holder_id == staff.id)
        if ticket.status == TicketStatus.OPEN and ticket.assigned_staff_id is None and holder_id is None:
            section = 0
        elif mine:
            section = 1
        else:
            section = 2
        latest = last_in.get(conversation.id, 0)
        unread = section < 2 and latest > seen.get(conversation.id, 0)  # type: ignore[arg-type]
        data = ticket.data or {}
        row = InboxRow(
            ticket=ticket, section=section, channel=conversation.channel,
            name=str(data.get("name") or contact.display_name or "Sin nombre"),
            student_id=str(data.get("student_id") or contact.student_id or ""),
            assigned=names.get(ticket.assigned_staff_id or holder_id or -1, ""),  # type: ignore[arg-type]
            handled=names.get(ticket.handled_by_staff_id or -1, ""),
            unread=unread, last_in=last_in_at.get(latest), age_s=(now - ticket.created_at).total_seconds(),
            reopened=reopened(ticket),
        )
        result.rows.append(row)
        result.unread += int(unread)
    result.rows.sort(key=lambda r: (r.section, not r.ticket.urgent, -(r.last_in or r.ticket.updated_at).timestamp()))
    result.rows = result.rows[:INBOX_LIMIT]
    sig = "|".join(f"{r.ticket.id}:{r.ticket.status}:{r.section}:{r.unread}:{r.assigned}:{r.handled}:{r.last_in}"
                   f":{r.reopened}:{r.ticket.urgent}" for r in result.rows)
    result.signature = hashlib.sha256(sig.encode()).hexdigest()[:16]
    return result


def reopened(ticket: Ticket) -> bool:
    """Whether the console marks the ticket «Reabierto»: the student reopened it and it is not resolved again."""
    return ticket.reopened_at is not None and ticket.status != TicketStatus.RESOLVED


def unread_count(session: Session, *, staff: StaffUser, now: datetime) -> int:
    return inbox(session, staff=staff, filters=Filters(), now=now).unread


def mark_seen(session: Session, *, staff: StaffUser, conversation_id: int) -> None:
    latest = session.exec(select(func.max(Message.id)).where(Message.conversation_id == conversation_id)).one() or 0
    view = session.exec(select(TicketView).where(TicketView.staff_id == staff.id,
                                                 TicketView.conversation_id == conversation_id)).first()
    if view is None:
        session.add(TicketView(staff_id=staff.id, conversation_id=conversation_id, last_message_id=latest))  # type: ignore[arg-type]
    elif view.last_message_id < latest:
        view.last_message_id = latest


def messages_of(session: Session, conversation_id: int) -> list[Message]:
    return list(session.exec(select(Message).where(Message.conversation_id == conversation_id)
                             .order_by(col(Message.created_at), col(Message.id))))


def messages_signature(messages: list[Message]) -> str:
    sig = "|".join(f"{m.id}:{m.status}" for m in messages)
    return hashlib.sha256(sig.encode()).hexdigest()[:16]


def ticket_page(session: Session, *, ticket_id: int, staff: StaffUser, now: datetime) -> dict[str, Any]:
    """Everything the ticket page shows; NSS and CURP masked."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        from bot.errors import NotFound

        raise NotFound(f"ticket {ticket_id}")
    conversation = session.get(Conversation, ticket.conversation_id)
    contact = session.get(Contact, ticket.contact_id)
    assert conversation is not None and contact is not None
    names = staff_names(session)
    messages = messages_of(session, conversation.id)  # type: ignore[arg-type]
    notes = list(session.exec(select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(col(TicketNote.id))))
    earlier_stmt = select(Ticket).where(Ticket.id != ticket.id)
    sid = (ticket.data or {}).get("student_id") or contact.student_id
    earlier = [t for t in session.exec(earlier_stmt.order_by(col(Ticket.created_at).desc()).limit(500))
               if t.contact_id == contact.id or (sid and (t.data or {}).get("student_id") == sid)][:20]
    holder_id = conversation.holder_staff_id if conversation.holder == Holder.STAFF else None
    attachments = list(ticket.attachments or [])
    known = {a.get("ref") for a in attachments}
    for m in messages:
        for a in m.attachments or []:
            if a.get("ref") not in known:
                attachments.append(a)
                known.add(a.get("ref"))
    authors: dict[int, str] = {}
    for entry in session.exec(select(AuditEntry).where(AuditEntry.conversation_id == conversation.id,
                                                        AuditEntry.action == "reply")):
        message_id = (entry.detail or {}).get("message_id")
        if message_id:
            authors[int(message_id)] = names.get(entry.staff_id or -1, "Personal")
    done = history(session, ticket=ticket, names=names)
    # Why this staff member may not correct the data or change the reason now (the forms' place
    # says it; staffdesk refuses the same), or None.
    colleague = holder_id is not None and holder_id != staff.id and not staff.is_admin
    resolved = ticket.status == TicketStatus.RESOLVED
    correct_blocked = (CORRECT_RESOLVED if resolved
                       else held_by_colleague(session, holder_id or 0, "corregir sus datos") if colleague else None)
    reason_blocked = (REASON_RESOLVED if resolved and not staff.is_admin
                      else held_by_colleague(session, holder_id or 0, "cambiar el motivo") if colleague and not resolved
                      else None)
    return {
        "correct_blocked": correct_blocked, "reason_blocked": reason_blocked,
        "authors": authors, "hidden": hidden_values(session, conversation.id),  # type: ignore[arg-type]
        "ticket": ticket, "conversation": conversation, "contact": contact, "messages": messages,
        "notes": notes, "earlier": earlier, "data_rows": data_rows(ticket.data), "names": names,
        "history": done, "reasons": REASONS, "opened_reason": opened_reason(ticket, done),
        "holder_id": holder_id, "holder_name": names.get(holder_id or -1, ""), "is_holder": holder_id == staff.id,
        "handled_name": names.get(ticket.handled_by_staff_id or -1, ""), "reopened": reopened(ticket),
        "stage": stage_label(conversation.state), "before": before_label(conversation.state),
        "window_closed": window_closed(conversation, now),
        "attachments": attachments, "signature": messages_signature(messages),
        "canned": list(session.exec(select(CannedResponse).order_by(col(CannedResponse.title)))),
        "last_id": max((m.id or 0 for m in messages), default=0),
        "side_signature": side_signature(done, notes),
    }


def side_signature(done: list[dict[str, Any]], notes: list[TicketNote]) -> str:
    """Changes when the ticket's history or its notes do (a colleague's action): the page polls it."""
    sig = "|".join(f"{h['at']}:{h['action']}:{h['what']}" for h in done) + "#" + ",".join(str(n.id) for n in notes)
    return hashlib.sha256(sig.encode()).hexdigest()[:16]


LABELS: dict[str, Any] = {"reasons": REASONS, "statuses": STATUSES, "channels": CHANNELS, "ages": AGES,
                          "delivery": DELIVERY, "errors": DELIVERY_ERRORS}
