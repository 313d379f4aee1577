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

A hold is not forever: taking the chat, replying, writing a note and typing
either in the console (:func:`keep_hold`) are the holder's activity
(``Conversation.staff_active_at``), and a hold without any for
``HOLD_TIMEOUT_MINUTES`` goes back to the bot (:func:`expire_hold`, run
by the outbox worker). Whenever a chat goes back to the bot without being
resolved, the bot answers the student's latest message that no staff reply
followed (:func:`bot.desk.answer_held`).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot import staff_models  # noqa: F401  (registers the tables)
from bot.desk import answer_held, lock_conversation, merge_data, settle_held, storable
from bot.desk import hand_back as desk_hand_back
from bot.errors import NotFound, SeguroBotError
from bot.models import Author, Conversation, Holder, Message, Ticket, TicketStatus, utcnow
from bot.outbox import needs_template, queue_message
from bot.staff_models import AuditEntry, StaffUser, TicketNote
from bot.storage import dialect_name
from flows.entities import curp_problem, nss_problem
from flows.speaker import is_relative

if TYPE_CHECKING:
    from knowledge.loader import KnowledgeBase

#: The cases the bot escalates: a ticket's reason is one of them (the console's labels, views.REASONS).
REASON_CODES = ("datos_erroneos", "error_solicitud", "sin_vigencia", "duda_general")
#: A resolved ticket is reopened (not duplicated) when the student writes about it within this.
REOPEN_WITHIN = timedelta(days=5)
#: Personal fields shown masked until a staff member reveals them.
MASKED_FIELDS = ("nss", "curp")
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.ASSIGNED)
MAX_REPLY_CHARS = 4000

# What the student is told lives in knowledge/messages.yaml ("staff desk"), for staff to edit:
# desk_taken, desk_reassigned, desk_resolved, desk_handed_back, desk_hold_expired, desk_hold_expired_no_ticket.

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
    STAFF_PASSWORD = "staff_password"
    CANNED = "canned"
    #: Staff corrected the ticket's NSS or CURP (the field's name only, never the values).
    CORRECT = "correct_data"
    #: A staff member changed their own password (Cambiar mi contraseña).
    OWN_PASSWORD = "own_password"
    #: A ticket's reason changed: by staff (Cambiar motivo) or by the bot, on what the student wrote.
    REASON = "reason_change"
    ALL = (TAKE, REASSIGN, REPLY, NOTE, REVEAL, RESOLVE, HAND_BACK, REOPEN, LOGIN, LOGOUT, LOGIN_FAILED,
           EXPORT, STAFF_ADD, STAFF_UPDATE, STAFF_PASSWORD, CANNED, CORRECT, OWN_PASSWORD, REASON)


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


def take_over(*, session: Session, kb: KnowledgeBase, ticket_id: int, staff: StaffUser, force: bool = False,
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
        conversation.staff_active_at = now  # taking it again is working on it
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
    values: dict[str, Any] = {"holder": Holder.STAFF, "holder_staff_id": staff.id, "updated_at": now,
                              "staff_active_at": now}
    if previous is None:
        values["hold_notice_at"] = None  # a new hold: its own "we are closed" notice
    result = session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DeskActionError("Otra persona tomó este chat hace un momento. Recarga la página.")
    session.refresh(conversation)
    _assign_open_tickets(session, conversation.id, staff.id, now)  # type: ignore[arg-type]
    if previous is None:
        queue_message(session=session, conversation_id=conversation.id, text=kb.message("desk_taken", name=staff.first_name, relative=is_relative(conversation.state)),  # type: ignore[arg-type]
                      author=Author.SYSTEM)
        audit(session, staff=staff, action=Action.TAKE, ticket=ticket, now=now)
    else:
        # The student was told who attends: they are told who does now.
        queue_message(session=session, conversation_id=conversation.id,  # type: ignore[arg-type]
                      text=kb.message("desk_reassigned", name=staff.first_name, relative=is_relative(conversation.state)),
                      author=Author.SYSTEM)
        audit(session, staff=staff, action=Action.REASSIGN, ticket=ticket, now=now, from_staff_id=previous)
    session.flush()
    return Claim(ticket=ticket, previous_staff_id=previous)


def reply(*, session: Session, ticket_id: int, staff: StaffUser, text: str, as_template: bool = False,
          now: datetime | None = None) -> Message:
    """Queue ``text`` for the student through their channel; only the chat's holder may reply."""
    now = now or utcnow()
    text = storable(_browser_lines(text).strip())
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
    conversation.staff_active_at = now
    if ticket.handled_by_staff_id is None:
        ticket.handled_by_staff_id = staff.id  # the durable "who worked on it": never cleared
    session.flush()
    return message


def keep_hold(*, session: Session, ticket_id: int, staff: StaffUser, now: datetime | None = None) -> bool:
    """The holder is typing a reply (or a note): the hold stays theirs, as a reply would keep it.

    One conditional ``UPDATE`` of ``staff_active_at``, only while ``staff`` holds the chat; True if
    they do. Nothing is sent to the student, and it is not audited (the console pings every 30 s at
    most while staff type: the audit log records actions, not keystrokes).
    """
    now = now or utcnow()
    ticket = get_ticket(session, ticket_id)
    C = Conversation
    result = session.execute(update(C).where(col(C.id) == ticket.conversation_id, col(C.holder) == Holder.STAFF,
                                             col(C.holder_staff_id) == staff.id)
                             .values(staff_active_at=now).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def window_closed(conversation: Conversation, now: datetime) -> bool:
    """True when a reply would need the WhatsApp template (shown before staff type)."""
    return needs_template(conversation.channel, conversation.last_inbound_at, now)


def add_note(*, session: Session, ticket_id: int, staff: StaffUser, text: str, now: datetime | None = None) -> TicketNote:
    """An internal note: any staff member may add one; it never reaches the student."""
    now = now or utcnow()
    text = storable(_browser_lines(text).strip())
    if not text:
        raise DeskActionError("La nota está vacía.", status=400)
    if len(text) > MAX_REPLY_CHARS:  # was cut silently: the end of a long note was lost
        raise DeskActionError(f"La nota es muy larga (máximo {MAX_REPLY_CHARS} caracteres); no se guardó.",
                              status=400)
    ticket = get_ticket(session, ticket_id)
    note = TicketNote(ticket_id=ticket.id, staff_id=staff.id, text=text, created_at=now)  # type: ignore[arg-type]
    session.add(note)
    # The holder writing a note is working on the chat: it does not expire meanwhile.
    C = Conversation
    session.execute(update(C).where(col(C.id) == ticket.conversation_id, col(C.holder) == Holder.STAFF,
                                    col(C.holder_staff_id) == staff.id)
                    .values(staff_active_at=now).execution_options(synchronize_session=False))
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


#: Why a corrected NSS or CURP is refused, as staff read it (the codes of nss_problem/curp_problem).
CORRECTION_PROBLEMS = {
    "nss": {"digits": "El NSS lleva solo números (11 dígitos); revisa lo que escribiste.",
            "length": "El NSS debe tener 11 dígitos; revisa lo que escribiste.",
            "check": "Ese NSS no es válido: su último dígito (el verificador) no corresponde a los otros 10. "
                     "Revísalo con el estudiante o en su constancia del IMSS."},
    "curp": {"length": "La CURP debe tener 18 caracteres; revisa lo que escribiste.",
             "format": "Esa CURP no tiene la forma de una CURP (4 letras, 6 números de la fecha, H, M o X, "
                       "…); revisa lo que escribiste.",
             "date": "Esa CURP no es válida: la fecha de nacimiento que lleva no existe.",
             "sex": "Esa CURP no es válida: el carácter 11 debe ser H, M o X.",
             "state": "Esa CURP no es válida: las letras 12 y 13 no son de ningún estado.",
             "check": "Esa CURP no es válida: su último carácter (el verificador) no corresponde a los otros "
                      "17. Revísala con el estudiante o en el sitio de RENAPO."},
}
_CORRECTION_LABELS = {"nss": "NSS", "curp": "CURP"}
#: Why a resolved ticket's data or reason is not changed, as staff read it (also shown in place of the forms).
CORRECT_RESOLVED = "Este reporte ya está resuelto: reábrelo para corregir sus datos."
REASON_RESOLVED = ("Este reporte ya está resuelto: solo un administrador puede cambiar su motivo "
                   "(cuenta en las estadísticas).")


def normalise_correction(field: str, value: str) -> str:
    """The value as the ticket keeps it: an NSS without spaces, dots or dashes; a CURP in capitals,
    without spaces; neither with the invisible characters a copy-paste brings (zero-width spaces)."""
    kept = "".join(ch for ch in value if unicodedata.category(ch) != "Cf" and not ch.isspace())
    if field == "nss":
        return "".join(ch for ch in kept if ch not in ".-")
    return kept.upper()


def correct_data(*, session: Session, ticket_id: int, staff: StaffUser, field: str, value: str,
                 now: datetime | None = None) -> Ticket:
    """Staff put the right NSS or CURP on the ticket, checked as the bot checks it.

    A valid one replaces the old (which the console keeps masking in the conversation) and drops
    what the bot noted about the old one (*sin verificar*, *no sabe su NSS*…); an invalid one is
    refused with a Spanish reason, and the ticket keeps what it had. Audited with the field's
    name only.
    """
    now = now or utcnow()
    if field not in MASKED_FIELDS:
        raise DeskActionError("Solo se pueden corregir el NSS y la CURP.", status=400)
    label = _CORRECTION_LABELS[field]
    value = normalise_correction(field, value)
    if not value:
        raise DeskActionError(f"Escribe el {label} correcto." if field == "nss" else "Escribe la CURP correcta.",
                              status=400)
    problem = nss_problem(value) if field == "nss" else curp_problem(value)
    if problem is not None:
        reason = CORRECTION_PROBLEMS[field].get(problem) or f"{label} inválido."
        keep = "se quedó el NSS que tenía" if field == "nss" else "se quedó la CURP que tenía"
        raise DeskActionError(f"{reason} No se guardó: {keep}.", status=400)
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED:
        raise DeskActionError(CORRECT_RESOLVED, status=409)
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    _require_holder_or_admin(session, conversation, staff, doing="corregir sus datos")
    before = (ticket.data or {}).get(field)
    ticket.data = merge_data(ticket.data, {field: value})
    flag_modified(ticket, "data")
    ticket.updated_at = now
    _remember_correction(conversation, field, value, before)
    audit(session, staff=staff, action=Action.CORRECT, ticket=ticket, now=now, field=field,
          op="corrected" if before else "added")
    session.flush()
    return ticket


def _remember_correction(conversation: Conversation, field: str, value: str, before: Any) -> None:
    """The bot's memory of the student's checked data (``state["known"]``, reused by a later
    report) takes the corrected value, and so does a report being collected or set aside that
    still holds the old one: otherwise the next report reuses the wrong value, or asks again.
    Only for a student who accepted the privacy notice (before it the bot keeps no data)."""
    state = dict(conversation.state or {})
    if not state.get("privacy_ack"):
        return
    state["known"] = {**(state.get("known") or {}), field: value}
    for esc in (state.get("esc"), (state.get("paused_esc") or {}).get("esc")):
        data = esc.get("data") if isinstance(esc, dict) else None
        if isinstance(data, dict) and before and data.get(field) == before:
            data[field] = value
    conversation.state = state
    flag_modified(conversation, "state")


def record_reason_change(session: Session, *, ticket: Ticket, before: str, staff: StaffUser | None,
                         now: datetime | None = None) -> AuditEntry:
    """The ticket's history keeps each change of reason: from what, to what, by whom (None: the bot,
    on what the student wrote), when. Called once ``ticket.reason`` holds the new one."""
    return audit(session, staff=staff, action=Action.REASON, ticket=ticket, now=now, from_reason=before,
                 to_reason=ticket.reason)


def change_reason(*, session: Session, ticket_id: int, staff: StaffUser, reason: str,
                  now: datetime | None = None) -> Ticket:
    """Staff put the ticket under another of the four cases (the bot read it as another doubt, and
    it is missing coverage). Recorded in the ticket's history. While the report waits for the desk,
    the conversation follows it: what the student adds still goes to this ticket."""
    now = now or utcnow()
    if reason not in REASON_CODES:
        raise DeskActionError("Ese motivo no existe.", status=400)
    ticket = get_ticket(session, ticket_id)
    if ticket.status == TicketStatus.RESOLVED and not staff.is_admin:
        raise DeskActionError(REASON_RESOLVED, status=403)
    before = ticket.reason
    if reason == before:
        raise DeskActionError("El reporte ya tiene ese motivo.", status=400)
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    _require_holder_or_admin(session, conversation, staff, doing="cambiar el motivo")
    ticket.reason = reason
    ticket.updated_at = now
    state = dict(conversation.state or {})
    if ticket.status != TicketStatus.RESOLVED and state.get("ticket_reason") == before:
        state["ticket_reason"] = reason
        conversation.state = state
        flag_modified(conversation, "state")
    record_reason_change(session, ticket=ticket, before=before, staff=staff, now=now)
    session.flush()
    return ticket


def resolve(*, session: Session, kb: KnowledgeBase, ticket_id: int, staff: StaffUser,
            now: datetime | None = None) -> Ticket:
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
    queue_message(session=session, conversation_id=conversation.id, text=kb.message("desk_resolved", number=ticket.id, relative=is_relative(conversation.state)),  # type: ignore[arg-type]
                  author=Author.SYSTEM)
    still_open = _unresolved(session, conversation.id, exclude=ticket.id)  # type: ignore[arg-type]
    if not still_open:
        _resume_flow(conversation)
        session.flush()  # hand_back re-reads the row: write the state first
        desk_hand_back(session=session, conversation_id=conversation.id)  # type: ignore[arg-type]
        # Staff closed the case having read what the student wrote: the bot does not answer it
        # afterwards (it could reopen the very ticket just resolved); the student was told to write again.
        settle_held(session=session, conversation_id=conversation.id)  # type: ignore[arg-type]
    audit(session, staff=staff, action=Action.RESOLVE, ticket=ticket, now=now)
    session.flush()
    return ticket


def hand_back(*, session: Session, kb: KnowledgeBase, ticket_id: int, staff: StaffUser,
              now: datetime | None = None) -> Ticket:
    """Give the chat back to the bot without resolving: the ticket returns to the open queue.

    The bot then answers what the student wrote after the last staff reply, if anything (:func:`bot.desk.answer_held`).
    """
    now = now or utcnow()
    ticket = get_ticket(session, ticket_id)
    conversation = lock_conversation(session=session, conversation_id=ticket.conversation_id)
    _require_holder_or_admin(session, conversation, staff)
    for open_ticket in _unresolved(session, conversation.id):  # type: ignore[arg-type]
        open_ticket.status = TicketStatus.OPEN
        open_ticket.assigned_staff_id = None
        open_ticket.updated_at = now
    desk_hand_back(session=session, conversation_id=conversation.id)  # type: ignore[arg-type]
    queue_message(session=session, conversation_id=conversation.id, text=kb.message("desk_handed_back", number=ticket.id, relative=is_relative(conversation.state)),  # type: ignore[arg-type]
                  author=Author.SYSTEM)
    answer_held(session=session, kb=kb, conversation_id=conversation.id, now=now)  # type: ignore[arg-type]
    audit(session, staff=staff, action=Action.HAND_BACK, ticket=ticket, now=now)
    session.flush()
    return ticket


def release_chats_of(*, session: Session, kb: KnowledgeBase, staff: StaffUser, by: StaffUser | None = None,
                     now: datetime | None = None) -> int:
    """Every chat ``staff`` holds goes back to the bot, its tickets to the open queue (the account
    is being disabled: nobody would answer those students, and the bot would stay silent to them).
    The student is told, as on a hand-back, and the bot answers what they wrote after the last
    staff reply. Returns how many chats were released."""
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
                          text=kb.message("desk_handed_back", number=tickets[0].id,
                                         relative=is_relative(conversation.state)), author=Author.SYSTEM)
        answer_held(session=session, kb=kb, conversation_id=conversation_id, now=now)
        audit(session, staff=by, action=Action.HAND_BACK, ticket=tickets[0] if tickets else None,
              conversation_id=conversation_id, now=now, reason="account_disabled", from_staff_id=staff.id)
    session.flush()
    return len(held)


def expired_holds(session: Session, *, cutoff: datetime, limit: int = 50) -> list[int]:
    """Conversations held by staff with no staff activity since ``cutoff``, oldest activity first."""
    C = Conversation
    last_active = func.coalesce(col(C.staff_active_at), col(C.updated_at))
    stmt = (select(C.id).where(C.holder == Holder.STAFF, last_active <= cutoff)
            .order_by(last_active, col(C.id)).limit(limit))
    return [int(i) for i in session.exec(stmt).all() if i is not None]


def expire_hold(*, session: Session, kb: KnowledgeBase, conversation_id: int, cutoff: datetime,
                now: datetime | None = None) -> bool:
    """Give a forgotten hold back to the bot, if it still is one; True if this call did it.

    Why: a staff member who left (Salir, the end of the shift) without
    handing the chat back kept the bot silent to that student for good. The
    student is told the bot is back and that a person will still see the
    report; the tickets return to the open queue (who worked on them stays,
    ``handled_by_staff_id``); the bot answers what the student wrote after
    the last staff reply.

    Exactly one worker does it: on PostgreSQL the row is taken with ``FOR
    UPDATE SKIP LOCKED`` (a worker already on it, or a student's message
    being handled, is skipped: the next look retries), and the hand-back is
    one conditional ``UPDATE`` that still requires the hold unworked since
    ``cutoff``, checked by its row count (so staff replying at that very
    moment keep the chat).
    """
    now = now or utcnow()
    C = Conversation
    if dialect_name(session) == "postgresql":
        mine = select(C.id).where(col(C.id) == conversation_id).with_for_update(skip_locked=True)
        if session.exec(mine).first() is None:
            return False
    holder = session.exec(select(C.holder_staff_id).where(col(C.id) == conversation_id,
                                                          col(C.holder) == Holder.STAFF)).first()
    claimed = session.execute(
        update(C)
        .where(col(C.id) == conversation_id, col(C.holder) == Holder.STAFF,
               func.coalesce(col(C.staff_active_at), col(C.updated_at)) <= cutoff)
        .values(holder=Holder.BOT, holder_staff_id=None, hold_notice_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False  # worked on meanwhile, handed back, or expired by another worker
    tickets = _unresolved(session, conversation_id)
    for ticket in tickets:
        ticket.status = TicketStatus.OPEN
        ticket.assigned_staff_id = None
        ticket.updated_at = now
    conversation = session.get(Conversation, conversation_id)
    relative = is_relative(conversation.state if conversation is not None else None)
    text = (kb.message("desk_hold_expired", number=tickets[0].id, relative=relative) if tickets
            else kb.message("desk_hold_expired_no_ticket", relative=relative))
    queue_message(session=session, conversation_id=conversation_id, text=text, author=Author.SYSTEM)
    answer_held(session=session, kb=kb, conversation_id=conversation_id, now=now)
    audit(session, staff=None, action=Action.HAND_BACK, ticket=tickets[0] if tickets else None,
          conversation_id=conversation_id, now=now, reason="hold_expired", from_staff_id=holder)
    session.flush()
    return True


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
    if staff is None:
        # The student wrote again about it: the console marks it reopened and shows what they
        # add from now on (bot.desk fills reopen_text); staff reopening by hand know it already.
        ticket.reopened_at = now
        ticket.reopen_text = ""
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


def _browser_lines(text: str) -> str:
    """A textarea's text with its line breaks as typed: a browser sends each as CRLF, while the box's
    ``maxlength`` counted it as one character (a full box would be over the limit here)."""
    return text.replace("\r\n", "\n")


def _require_holder(session: Session, conversation: Conversation, staff: StaffUser) -> None:
    if conversation.holder == Holder.STAFF and conversation.holder_staff_id == staff.id:
        return
    if conversation.holder == Holder.STAFF and conversation.holder_staff_id:
        holder = session.get(StaffUser, conversation.holder_staff_id)
        raise DeskActionError(f"Este chat lo atiende {holder.name if holder else 'otra persona'}; "
                              "tómalo explícitamente para contestar.", status=403)
    raise DeskActionError("Toma el chat antes de contestar.", status=403)


def _require_holder_or_admin(session: Session, conversation: Conversation, staff: StaffUser,
                             doing: str | None = None) -> None:
    """Anyone may act on a chat nobody holds; on a held one, only its holder or an admin.
    ``doing`` ("corregir sus datos"): what is refused, for the message (else: replying)."""
    if staff.is_admin or conversation.holder != Holder.STAFF or conversation.holder_staff_id is None:
        return
    if doing is not None and conversation.holder_staff_id != staff.id:
        raise DeskActionError(held_by_colleague(session, conversation.holder_staff_id, doing), status=403)
    _require_holder(session, conversation, staff)


def held_by_colleague(session: Session, holder_staff_id: int, doing: str) -> str:
    """Why a colleague's chat is not changed, as staff read it (also shown in place of the forms)."""
    holder = session.get(StaffUser, holder_staff_id)
    name = holder.name if holder else "otra persona"
    return f"Este chat lo atiende {name}: solo esa persona o un administrador puede {doing}."


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
