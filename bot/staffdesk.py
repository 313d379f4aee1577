"""What staff do to a ticket, as keyword-only service functions inside the caller's transaction.

The console's routes only call these. Every function checks who may act,
changes the rows, queues what the student must be told as outbound
messages (the outbox sends them through the student's own channel) and
writes an :class:`~bot.staff_models.AuditEntry`. The caller commits, then
calls ``services.notify_outbox()``.

Two staff can never both answer a chat: claiming is one conditional
``UPDATE conversation ... WHERE holder_staff_id IS NULL`` checked by its
row count (atomic on PostgreSQL and on SQLite), and replying requires being
the conversation's holder at the moment of the reply.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot import staff_models  # noqa: F401  (registers the tables)
from bot.desk import hand_back as desk_hand_back
from bot.desk import lock_conversation, storable
from bot.errors import NotFound, SeguroBotError
from bot.models import Author, Conversation, Holder, Message, Ticket, TicketStatus, utcnow
from bot.outbox import needs_template, queue_message
from bot.staff_models import AuditEntry, StaffUser, TicketNote

#: A resolved ticket is reopened (not duplicated) when the student writes about it within this.
REOPEN_WITHIN = timedelta(days=5)
#: Personal fields shown masked until a staff member reveals them.
MASKED_FIELDS = ("nss", "curp")
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.ASSIGNED)
MAX_REPLY_CHARS = 4000

# What the student is told. Spanish, WhatsApp-sized.
REASSIGNED_TEXT = "👋 Hola, soy {name} de la mesa de ayuda; ahora yo sigo con tu caso y te contesto por aquí."
TAKEN_TEXT = "👋 Hola, soy {name} de la mesa de ayuda del Seguro Facultativo. Ya estoy revisando tu caso; te contesto por aquí."
RESOLVED_TEXT = ("✅ Tu reporte #{number} quedó resuelto. Si necesitas algo más, escríbeme por aquí: "
                 "te atiende otra vez el asistente automático.")
HANDED_BACK_TEXT = "Te regreso con el asistente automático 🤖. Tu reporte #{number} sigue abierto con la mesa de ayuda."


class Action:
    """The names of audited actions (also the audit page's filter)."""

    TAKE = "take_over"
    REASSIGN = "reassign"
    REPLY = "reply"
    NOTE = "note"
    REVEAL = "reveal"
    RESOLVE = "resolve"
    HAND_BACK = "hand_back"
    REOPEN = "reopen"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILED = "login_failed"
    EXPORT = "export"
    STAFF_ADD = "staff_add"
    STAFF_UPDATE = "staff_update"
    CANNED = "canned"
    ALL = (TAKE, REASSIGN, REPLY, NOTE, REVEAL, RESOLVE, HAND_BACK, REOPEN, LOGIN, LOGOUT, LOGIN_FAILED,
           EXPORT, STAFF_ADD, STAFF_UPDATE, CANNED)


class DeskActionError(SeguroBotError):
    """A staff action that is not allowed now; ``message`` is Spanish, shown to staff as is."""

    def __init__(self, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TemplateNeeded(DeskActionError):
    """A WhatsApp reply more than 24 h after the student's last message must go as the template."""


@dataclass(frozen=True)
class Claim:
    ticket: Ticket
    previous_staff_id: int | None


def audit(session: Session, *, staff: StaffUser | None, action: str, ticket: Ticket | None = None,
          conversation_id: int | None = None, now: datetime | None = None, **detail: Any) -> AuditEntry:
    """Record one action. Details must never hold personal data in clear (field names only)."""
    entry = AuditEntry(
        at=now or utcnow(),
        staff_id=staff.id if staff else None,
        action=action,
        ticket_id=ticket.id if ticket else None,
        conversation_id=conversation_id if conversation_id is not None else (ticket.conversation_id if ticket else None),
        detail=detail,
    )
    session.add(entry)
    return entry


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def take_over(*, session: Session, ticket_id: int, staff: StaffUser, force: bool = False,
              now: datetime | None = None) -> Claim:
    """Claim the ticket's chat for ``staff``; the bot falls silent and the student is told who attends.

    Without ``force`` it fails when someone else holds the chat; with it, the
    chat moves to ``staff`` and the reassignment is recorded.
    """
    now = now or utcnow()
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED:
        raise DeskActionError("Este reporte ya está resuelto; reábrelo para atenderlo.")
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    previous = conversation.holder_staff_id if conversation.holder == Holder.STAFF else None
    if previous == staff.id:
        _assign_open_tickets(session, conversation.id, staff.id, now)  # type: ignore[arg-type]
        return Claim(ticket=ticket, previous_staff_id=previous)
    C = Conversation
    stmt = update(C).where(col(C.id) == conversation.id)
    if previous is None:
        stmt = stmt.where(or_(col(C.holder) == Holder.BOT, col(C.holder_staff_id).is_(None)))
    elif force:
        stmt = stmt.where(col(C.holder_staff_id) == previous)
    else:
        holder = session.get(StaffUser, previous)
        raise DeskActionError(f"Este chat ya lo atiende {holder.name if holder else 'otra persona'}.")
    result = session.execute(
        stmt.values(holder=Holder.STAFF, holder_staff_id=staff.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DeskActionError("Otra persona tomó este chat hace un momento. Recarga la página.")
    session.refresh(conversation)
    _assign_open_tickets(session, conversation.id, staff.id, now)  # type: ignore[arg-type]
    if previous is None:
        queue_message(session=session, conversation_id=conversation.id, text=TAKEN_TEXT.format(name=staff.first_name),  # type: ignore[arg-type]
                      author=Author.SYSTEM)
        audit(session, staff=staff, action=Action.TAKE, ticket=ticket, now=now)
    else:
        # The student was told who attends: they are told who does now.
        queue_message(session=session, conversation_id=conversation.id,  # type: ignore[arg-type]
                      text=REASSIGNED_TEXT.format(name=staff.first_name), author=Author.SYSTEM)
        audit(session, staff=staff, action=Action.REASSIGN, ticket=ticket, now=now, from_staff_id=previous)
    session.flush()
    return Claim(ticket=ticket, previous_staff_id=previous)


def reply(*, session: Session, ticket_id: int, staff: StaffUser, text: str, as_template: bool = False,
          now: datetime | None = None) -> Message:
    """Queue ``text`` for the student through their channel; only the chat's holder may reply."""
    now = now or utcnow()
    text = storable(text.strip())
    if not text:
        raise DeskActionError("Escribe una respuesta.", status=400)
    if len(text) > MAX_REPLY_CHARS:
        raise DeskActionError(f"La respuesta es muy larga (máximo {MAX_REPLY_CHARS} caracteres).", status=400)
    ticket = get_ticket(session, ticket_id)
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    _require_holder(session, conversation, staff)
    if needs_template(conversation.channel, conversation.last_inbound_at, now) and not as_template:
        raise TemplateNeeded(
            "El estudiante no ha escrito en más de 24 horas: WhatsApp solo permite enviarle la plantilla "
            "aprobada. Marca «Enviar como plantilla» para mandarla con este texto.", status=409)
    message = queue_message(session=session, conversation_id=conversation.id, text=text,  # type: ignore[arg-type]
                            author=Author.STAFF, template=as_template and conversation.channel == "whatsapp")
    audit(session, staff=staff, action=Action.REPLY, ticket=ticket, now=now, message_id=message.id,
          template=message.template)
    ticket.updated_at = now
    if ticket.handled_by_staff_id is None:
        ticket.handled_by_staff_id = staff.id  # the durable "who worked on it": never cleared
    session.flush()
    return message


def window_closed(conversation: Conversation, now: datetime) -> bool:
    """True when a reply would need the WhatsApp template (shown before staff type)."""
    return needs_template(conversation.channel, conversation.last_inbound_at, now)


def add_note(*, session: Session, ticket_id: int, staff: StaffUser, text: str, now: datetime | None = None) -> TicketNote:
    """An internal note: any staff member may add one; it never reaches the student."""
    now = now or utcnow()
    text = storable(text.strip())
    if not text:
        raise DeskActionError("La nota está vacía.", status=400)
    ticket = get_ticket(session, ticket_id)
    note = TicketNote(ticket_id=ticket.id, staff_id=staff.id, text=text[:MAX_REPLY_CHARS], created_at=now)  # type: ignore[arg-type]
    session.add(note)
    session.flush()
    audit(session, staff=staff, action=Action.NOTE, ticket=ticket, now=now, note_id=note.id)
    return note


def reveal(*, session: Session, ticket_id: int, staff: StaffUser, field: str, now: datetime | None = None) -> str:
    """The unmasked value of NSS or CURP; the reveal is audited (field name only)."""
    if field not in MASKED_FIELDS:
        raise DeskActionError("Ese dato no se puede revelar.", status=400)
    ticket = get_ticket(session, ticket_id)
    value = str((ticket.data or {}).get(field) or "")
    audit(session, staff=staff, action=Action.REVEAL, ticket=ticket, now=now, field=field)
    session.flush()
    return value


def resolve(*, session: Session, ticket_id: int, staff: StaffUser, now: datetime | None = None) -> Ticket:
    """Close the ticket, tell the student, and give the chat back to the bot at the student's stage."""
    now = now or utcnow()
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED:
        raise DeskActionError("Este reporte ya estaba resuelto.")
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    _require_holder_or_admin(session, conversation, staff)
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = now
    ticket.updated_at = now
    if ticket.assigned_staff_id is None:
        ticket.assigned_staff_id = staff.id
    if ticket.handled_by_staff_id is None:
        ticket.handled_by_staff_id = staff.id  # closed without a reply: who closed it worked on it
    queue_message(session=session, conversation_id=conversation.id, text=RESOLVED_TEXT.format(number=ticket.id),  # type: ignore[arg-type]
                  author=Author.SYSTEM)
    still_open = _unresolved(session, conversation.id, exclude=ticket.id)  # type: ignore[arg-type]
    if not still_open:
        _resume_flow(conversation)
        session.flush()  # hand_back re-reads the row: write the state first
        desk_hand_back(session=session, conversation_id=conversation.id)  # type: ignore[arg-type]
    audit(session, staff=staff, action=Action.RESOLVE, ticket=ticket, now=now)
    session.flush()
    return ticket


def hand_back(*, session: Session, ticket_id: int, staff: StaffUser, now: datetime | None = None) -> Ticket:
    """Give the chat back to the bot without resolving: the ticket returns to the open queue."""
    now = now or utcnow()
    ticket = get_ticket(session, ticket_id)
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    _require_holder_or_admin(session, conversation, staff)
    for open_ticket in _unresolved(session, conversation.id):  # type: ignore[arg-type]
        open_ticket.status = TicketStatus.OPEN
        open_ticket.assigned_staff_id = None
        open_ticket.updated_at = now
    desk_hand_back(session=session, conversation_id=conversation.id)  # type: ignore[arg-type]
    queue_message(session=session, conversation_id=conversation.id, text=HANDED_BACK_TEXT.format(number=ticket.id),  # type: ignore[arg-type]
                  author=Author.SYSTEM)
    audit(session, staff=staff, action=Action.HAND_BACK, ticket=ticket, now=now)
    session.flush()
    return ticket


def release_chats_of(*, session: Session, staff: StaffUser, by: StaffUser | None = None,
                     now: datetime | None = None) -> int:
    """Every chat ``staff`` holds goes back to the bot, its tickets to the open queue (the account
    is being disabled: nobody would answer those students, and the bot would stay silent to them).
    The student is told, as on a hand-back. Returns how many chats were released."""
    now = now or utcnow()
    held = session.exec(select(Conversation.id).where(Conversation.holder == Holder.STAFF,
                                                       Conversation.holder_staff_id == staff.id)).all()
    for conversation_id in held:
        conversation = lock_conversation(session=session, conversation_id=conversation_id)
        if conversation.holder != Holder.STAFF or conversation.holder_staff_id != staff.id:
            continue  # taken over or handed back meanwhile
        tickets = _unresolved(session, conversation_id)
        for ticket in tickets:
            ticket.status = TicketStatus.OPEN
            ticket.assigned_staff_id = None
            ticket.updated_at = now
        desk_hand_back(session=session, conversation_id=conversation_id)
        if tickets:
            queue_message(session=session, conversation_id=conversation_id,
                          text=HANDED_BACK_TEXT.format(number=tickets[0].id), author=Author.SYSTEM)
        audit(session, staff=by, action=Action.HAND_BACK, ticket=tickets[0] if tickets else None,
              conversation_id=conversation_id, now=now, reason="account_disabled", from_staff_id=staff.id)
    session.flush()
    return len(held)


def reopen(*, session: Session, ticket_id: int, staff: StaffUser | None, now: datetime | None = None) -> Ticket:
    """Put a resolved ticket back in the open queue (by staff, or by :func:`reopen_recent`)."""
    now = now or utcnow()
    ticket = get_ticket(session, ticket_id)
    if ticket.status != TicketStatus.RESOLVED:
        raise DeskActionError("Este reporte sigue abierto.")
    ticket.status = TicketStatus.OPEN
    ticket.assigned_staff_id = None
    ticket.resolved_at = None
    ticket.updated_at = now
    audit(session, staff=staff, action=Action.REOPEN, ticket=ticket, now=now, by="staff" if staff else "student")
    session.flush()
    return ticket


def reopen_recent(*, session: Session, conversation_id: int, reason: str, now: datetime | None = None) -> Ticket | None:
    """The desk's hook: a resolved ticket of this reason closed less than :data:`REOPEN_WITHIN` ago, reopened.

    Call it before opening a new ticket; when it returns a ticket, update that one instead.
    """
    now = now or utcnow()
    stmt = (
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.reason == reason,
               Ticket.status == TicketStatus.RESOLVED, col(Ticket.resolved_at) >= now - REOPEN_WITHIN)
        .order_by(col(Ticket.resolved_at).desc())
    )
    ticket = session.exec(stmt).first()
    if ticket is None:
        return None
    return reopen(session=session, ticket_id=ticket.id, staff=None, now=now)  # type: ignore[arg-type]


def mask(value: str) -> str:
    """``12345678903`` → ``•••••••8903``: enough to tell two students apart, not to use it."""
    value = str(value)
    if len(value) <= 4:
        return "•" * len(value)
    return "•" * (len(value) - 4) + value[-4:]


# --- internals ---------------------------------------------------------------


def _require_holder(session: Session, conversation: Conversation, staff: StaffUser) -> None:
    if conversation.holder == Holder.STAFF and conversation.holder_staff_id == staff.id:
        return
    if conversation.holder == Holder.STAFF and conversation.holder_staff_id:
        holder = session.get(StaffUser, conversation.holder_staff_id)
        raise DeskActionError(f"Este chat lo atiende {holder.name if holder else 'otra persona'}; "
                              "tómalo explícitamente para contestar.", status=403)
    raise DeskActionError("Toma el chat antes de contestar.", status=403)


def _require_holder_or_admin(session: Session, conversation: Conversation, staff: StaffUser) -> None:
    if staff.is_admin or conversation.holder != Holder.STAFF or conversation.holder_staff_id is None:
        return
    _require_holder(session, conversation, staff)


def _unresolved(session: Session, conversation_id: int, *, exclude: int | None = None) -> list[Ticket]:
    stmt = select(Ticket).where(Ticket.conversation_id == conversation_id, col(Ticket.status).in_(UNRESOLVED))
    if exclude is not None:
        stmt = stmt.where(Ticket.id != exclude)
    return list(session.exec(stmt))


def _assign_open_tickets(session: Session, conversation_id: int, staff_id: int, now: datetime) -> None:
    for ticket in _unresolved(session, conversation_id):
        ticket.status = TicketStatus.ASSIGNED
        ticket.assigned_staff_id = staff_id
        ticket.updated_at = now


def _resume_flow(conversation: Conversation) -> None:
    """Leave the "ticket open" stage for the stage the student was in before escalating.

    The flow stores that stage as ``return_stage`` when it opens a ticket;
    forgetting ``ticket_reason`` makes a new message about the same problem
    an escalation again (which :func:`reopen_recent` turns into a reopen).
    """
    state = dict(conversation.state or {})
    if state.get("stage") == "ticket_open":
        state["stage"] = state.get("return_stage") or "menu"
        state.pop("ticket_reason", None)
        state.pop("ticket_number", None)
        conversation.state = state
        flag_modified(conversation, "state")
