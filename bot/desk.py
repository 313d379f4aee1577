"""One student message in, end to end, inside the caller's transaction.

Every channel (WhatsApp, Telegram, web chat, the terminal, ``simulate``)
ends up in :func:`handle_message`: dedupe by the provider's id, find or
create the contact and conversation, lock the conversation row so that one
conversation is processed by one worker at a time, run the pure flow step
(unless staff hold the chat), perform its actions and queue the replies as
outbound messages. Sending them is someone else's job (the outbox).

While staff hold a chat the student's messages are stored as ``held`` and
the bot stays silent (once a hold, outside office hours, the student is told
when a person will answer); when the chat goes back to the bot,
:func:`answer_held` answers the latest of them that no staff reply followed.
"""
from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, Table, bindparam, func, or_, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from bot.errors import InvalidInput, NotFound
from bot.storage import insert_ignoring
from bot.models import (
    Author,
    Consent,
    Contact,
    Conversation,
    Direction,
    Holder,
    Message,
    MessageStatus,
    Reminder,
    ReminderStatus,
    Ticket,
    TicketStatus,
    utcnow,
)
from flows.calendar import format_opening_es
from flows.context import office_hours_for
from flows import speaker
from flows.entities import redact_secrets
from flows.machine import advance
from flows.messages import (
    Action,
    Attachment,
    CancelReminders,
    Incoming,
    OpenTicket,
    Outcome,
    RecordConsent,
    Reply,
    RequestHuman,
    ScheduleReminder,
)

if TYPE_CHECKING:
    from knowledge.loader import KnowledgeBase

log = logging.getLogger(__name__)

MESSAGE_TABLE: Table = Message.__table__  # type: ignore[attr-defined]

# Statements that run for every message, built once: constructing a statement
# and its cache key costs SQLAlchemy more than executing it.
_PROVIDER_MESSAGE = (
    select(MESSAGE_TABLE.c.conversation_id, MESSAGE_TABLE.c.topic)
    .where(MESSAGE_TABLE.c.channel == bindparam("b_channel"), MESSAGE_TABLE.c.provider_id == bindparam("b_provider_id"),
           MESSAGE_TABLE.c.direction == Direction.IN)
    .limit(1)
)
_CONTACT_TABLE: Table = Contact.__table__  # type: ignore[attr-defined]
_RENAME_CONTACT = (
    update(_CONTACT_TABLE)
    .where(_CONTACT_TABLE.c.id == bindparam("b_id"))
    .where(or_(_CONTACT_TABLE.c.display_name.is_(None), _CONTACT_TABLE.c.display_name != bindparam("b_name")))
    .values(display_name=bindparam("b_name"))
)
_CONVERSATION_TABLE: Table = Conversation.__table__  # type: ignore[attr-defined]
_CONTACT_ID = select(_CONTACT_TABLE.c.id).where(_CONTACT_TABLE.c.channel == bindparam("b_channel"),
                                                _CONTACT_TABLE.c.address == bindparam("b_address"))
_C = _CONVERSATION_TABLE
#: Rendered without FOR UPDATE on SQLite, whose BEGIN IMMEDIATE already serialises writers.
#: The contact's name comes along, so an unchanged name (nearly always) costs no statement.
_CONVERSATION_AT_LOCKED = (
    select(_C.c.id, _C.c.contact_id, _C.c.channel, _C.c.holder, _C.c.state, _C.c.hold_notice_at,
           _CONTACT_TABLE.c.display_name.label("contact_name"))
    .join(_CONTACT_TABLE, _CONTACT_TABLE.c.id == _C.c.contact_id)
    .where(_C.c.channel == bindparam("b_channel"), _C.c.address == bindparam("b_address"))
    .with_for_update(of=_C)
)
#: A first message's rows, inserted unless another worker just did; RETURNING says which happened.
_CONVERSATION_ROW = (_C.c.id, _C.c.contact_id, _C.c.channel, _C.c.holder, _C.c.state)
_NEW_CONTACT_ID = {pg: stmt.returning(_CONTACT_TABLE.c.id)
                   for pg, stmt in insert_ignoring(_CONTACT_TABLE, conflict=["channel", "address"]).items()}
_NEW_CONVERSATION_ROW = {pg: stmt.returning(*_CONVERSATION_ROW)
                         for pg, stmt in insert_ignoring(_CONVERSATION_TABLE, conflict=["channel", "address"]).items()}


def _new_contact_and_conversation() -> Any:
    """PostgreSQL: :data:`_NEW_CONTACT_ID` and :data:`_NEW_CONVERSATION_ROW` in one statement (a data-modifying WITH).

    Inserts nothing when the contact exists already (another worker's race,
    or a contact left without a conversation): the caller then takes the
    two-statement path, which handles those.
    """
    contact = _NEW_CONTACT_ID[True].values(
        {name: bindparam(name) for name in ("channel", "address", "display_name", "created_at")}).cte("new_contact")
    names = ["channel", "address", "desk_address", "holder", "state", "last_inbound_at", "created_at", "updated_at"]
    values = select(contact.c.id, *(bindparam(name, type_=_C.c[name].type) for name in names))
    return _NEW_CONVERSATION_ROW[True].from_select(["contact_id", *names], values)


_NEW_CONTACT_AND_CONVERSATION = _new_contact_and_conversation()
#: What a message changes on its conversation (the desk number only when the webhook names one).
_SAVE_CONVERSATION = (
    update(_C)
    .where(_C.c.id == bindparam("b_id"))
    .values(last_inbound_at=bindparam("b_last_inbound_at"), updated_at=bindparam("b_updated_at"),
            desk_address=func.coalesce(bindparam("b_desk_address", type_=String), _C.c.desk_address))
)
_SAVE_CONVERSATION_STATE = _SAVE_CONVERSATION.values(state=bindparam("b_state"))
#: A held chat's message that got the "we are closed" notice: once a hold (see Conversation.hold_notice_at).
_SAVE_HELD_NOTICE = _SAVE_CONVERSATION.values(hold_notice_at=bindparam("b_hold_notice_at"))

#: Ticket statuses that still count as open: a new escalation of the same
#: reason updates such a ticket instead of opening another.
UNRESOLVED = (TicketStatus.OPEN, TicketStatus.ASSIGNED)


@dataclass
class Handled:
    """What handling one message did, for the channel that will answer and for ``simulate``."""

    replies: list[Reply] = field(default_factory=list)
    topic: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    ticket: Ticket | None = None
    duplicate: bool = False
    conversation_id: int | None = None
    throttled: bool = False
    #: The student's text as stored (passwords redacted; data masked before consent), None if nothing was stored.
    stored_text: str | None = None


#: Called after the conversation is locked and before the bot runs; False means
#: "stored by the gate, do not answer" (the per-student rate limit, bot/limits.py).
Gate = Callable[[Session, "ConversationRow", Incoming, str | None], bool]


@dataclass(frozen=True)
class ConversationRow:
    """The conversation as :func:`handle_message` reads it: plain values, not an ORM object.

    Why not the ORM object: loading it (and flushing its changes) cost more
    than the rest of the message's statements together; the changes are
    written by one ``UPDATE`` at the end instead (:data:`_SAVE_CONVERSATION`).
    """

    id: int
    contact_id: int
    channel: str
    holder: str
    state: dict[str, Any] | None
    #: The contact's display name as stored.
    contact_name: str | None = None
    #: When this hold's "we are closed" notice went out (None: not yet, or the bot holds the chat).
    hold_notice_at: datetime | None = None
    #: Created by this transaction (a student's first message): it has no messages yet.
    new: bool = False


def handle_message(
    *,
    session: Session,
    kb: KnowledgeBase,
    channel: str,
    address: str,
    provider_id: str | None,
    message: Incoming,
    display_name: str | None = None,
    desk_address: str | None = None,
    gate: Gate | None = None,
    now: datetime | None = None,
) -> Handled:
    """Process one inbound message in the caller's transaction (the caller commits).

    ``now`` is when the rows this step writes are dated (messages, the
    conversation, a ticket): the wall clock by default; ``simulate`` passes
    each transcript line's own time, so a replayed conversation reads in
    the console as it happened.

    A message whose ``(channel, provider_id)`` was already stored is a
    provider's retry: it returns ``Handled(duplicate=True)`` and changes
    nothing; the lookup runs under the conversation's lock, so concurrent
    deliveries of one provider id are handled once. ``gate`` (if any) may
    keep the bot from answering (it then stores the message itself):
    ``Handled(throttled=True)``.

    The queries are few on purpose (this runs for every message): one
    locking read of the conversation (creating the contact and
    conversation, already with its state, only for a first message), one
    dedupe lookup (none for a first message), the contact only when
    something needs it.
    """
    if message.at.tzinfo is None:
        raise InvalidInput("Incoming.at must be timezone-aware")
    address = storable(address)

    conversation = _lock_conversation_at(session, channel, address)
    contact: Contact | None = None
    first: Outcome | None = None
    if conversation is None:
        # A first message: the flow runs from its start before the conversation exists, so
        # the conversation is inserted with its state (no UPDATE after). Should another
        # worker have created it meanwhile (conversation.new is then False), that step is
        # dropped and the flow runs on theirs.
        first = advance(None, message, kb)
        conversation = _create_conversation(session, channel=channel, address=address, desk_address=desk_address,
                                            display_name=display_name, state=first.state, last_inbound_at=message.at,
                                            now=now)

    # Looked up under the conversation's lock, so a retry racing the first
    # delivery on another worker waits for it and then finds it. A conversation
    # created just now has no messages to find (and the message table's unique
    # (channel, provider_id) still refuses a second row): one query less for
    # every new student.
    if provider_id is not None and not conversation.new:
        seen = _find_provider_message(session, channel, provider_id)
        if seen is not None:
            return _duplicate(session, *seen)

    if contact is None and display_name and display_name != conversation.contact_name:
        # The name was read with the conversation: an UPDATE only when it changed.
        session.connection().execute(_RENAME_CONTACT, {"b_id": conversation.contact_id, "b_name": display_name})

    if gate is not None and not gate(session, conversation, message, provider_id):
        return Handled(state=copy.deepcopy(conversation.state or {}), conversation_id=conversation.id,
                       throttled=True)

    now = now or utcnow()
    save = {"b_id": conversation.id, "b_last_inbound_at": message.at, "b_updated_at": now,
            "b_desk_address": desk_address or None}
    attachments = [_attachment_json(a) for a in message.attachments]

    if conversation.holder == Holder.STAFF:
        stored_text = storable(redact_secrets(message.text)[0])
        session.add(
            Message(
                conversation_id=conversation.id,  # type: ignore[arg-type]
                channel=channel,
                direction=Direction.IN,
                author=Author.STUDENT,
                text=stored_text,
                provider_id=provider_id,
                attachments=attachments,
                status=MessageStatus.HELD,  # answered by the bot if no staff reply follows (answer_held)
            )
        )
        notice = conversation.hold_notice_at is None and not office_hours_for(kb).is_open(message.at)
        if notice:
            # Nobody may read it before the desk opens: say when a person will, once a hold.
            session.add(Message(conversation_id=conversation.id, channel=channel, direction=Direction.OUT,  # type: ignore[arg-type]
                                author=Author.SYSTEM, text=held_off_hours_text(kb, message.at),
                                status=MessageStatus.PENDING))
        session.flush()
        if notice:
            session.connection().execute(_SAVE_HELD_NOTICE, {**save, "b_hold_notice_at": now})
        else:
            session.connection().execute(_SAVE_CONVERSATION, save)
        log.info("conversation %s held by staff: message stored, bot silent%s", conversation.id,
                 " (told the desk is closed)" if notice else "")
        return Handled(
            replies=[],
            topic=None,
            state=copy.deepcopy(conversation.state or {}),
            ticket=None,
            duplicate=False,
            conversation_id=conversation.id,
            stored_text=stored_text,
        )

    if conversation.new and first is not None:
        outcome, new_state = first, conversation.state or {}  # as stored (and read back) with the conversation
    else:
        outcome = advance(copy.deepcopy(conversation.state), message, kb)
        new_state = json.loads(json.dumps(outcome.state))  # a private, JSON-safe copy
        session.connection().execute(_SAVE_CONVERSATION_STATE, {**save, "b_state": new_state})

    inbound_row = _message_row(
        conversation_id=conversation.id,  # type: ignore[arg-type]
        channel=channel,
        direction=Direction.IN,
        author=Author.STUDENT,
        text=storable(outcome.stored_text),
        provider_id=provider_id,
        topic=outcome.topic,
        attachments=attachments,
        status=MessageStatus.RECEIVED,
        created_at=now,
    )

    ticket = None
    rows: list[dict[str, Any]] = [inbound_row]
    if outcome.actions:
        # The student's message is stored before the actions run (a ticket lists it); without
        # actions (nearly always) it goes in with the replies, one INSERT for all.
        _insert_messages(session, rows)
        rows = []
        if contact is None:
            contact = session.get(Contact, conversation.contact_id)
        assert contact is not None  # the foreign key guarantees it
        ticket = perform_actions(
            session=session, conversation=conversation, contact=contact, actions=outcome.actions, now=now
        )

    replies = list(outcome.replies) + _ticket_news(kb, ticket, new_state, now)
    if ticket is not None and new_state.get("ticket_number") != ticket.id:
        # The flow tells the student their report's number when they ask about it later.
        new_state["ticket_number"] = ticket.id
        session.connection().execute(_SAVE_CONVERSATION_STATE, {**save, "b_state": new_state})
    _insert_messages(session, rows + [_message_row(
        conversation_id=conversation.id,  # type: ignore[arg-type]
        channel=channel,
        direction=Direction.OUT,
        author=Author.BOT,
        text=storable(reply.plain()),
        options=reply_options(reply),
        status=MessageStatus.PENDING,
        created_at=now,
    ) for reply in replies])
    session.flush()
    log.info(
        "conversation %s: topic=%s stage=%s replies=%d actions=%s",
        conversation.id,
        outcome.topic,
        new_state.get("stage"),
        len(replies),
        ",".join(type(a).__name__ for a in outcome.actions) or "-",
    )
    return Handled(
        replies=replies,
        topic=outcome.topic,
        state=copy.deepcopy(new_state),
        ticket=ticket,
        duplicate=False,
        conversation_id=conversation.id,
        stored_text=storable(outcome.stored_text),
    )


def held_off_hours_text(kb: KnowledgeBase, at: datetime) -> str:
    """The notice for a held chat written to outside office hours: when a person will answer."""
    hours = office_hours_for(kb)
    when = format_opening_es(hours.next_opening(at), at, tz=kb.desk.timezone)
    text = kb.message("desk_held_off_hours", hours=kb.desk.hours_label, when=when)
    return text if text.endswith(".") else text + "."  # "… 8:00 a.m." already ends the sentence


def take_over(*, session: Session, conversation_id: int, staff_id: int) -> Conversation:
    """Give the chat to a staff member: from now on the bot stays silent in it."""
    conversation = _lock_conversation(session, conversation_id)
    if conversation.holder != Holder.STAFF:
        conversation.hold_notice_at = None  # a new hold
    conversation.holder = Holder.STAFF
    conversation.holder_staff_id = staff_id
    conversation.updated_at = conversation.staff_active_at = utcnow()
    session.flush()
    return conversation


def hand_back(*, session: Session, conversation_id: int) -> Conversation:
    """Give the chat back to the bot, which resumes at the stage stored in its state.

    The messages the student wrote meanwhile are left ``held``: the caller
    decides whether the bot answers them (:func:`answer_held`) or not
    (:func:`settle_held`).
    """
    conversation = _lock_conversation(session, conversation_id)
    conversation.holder = Holder.BOT
    conversation.holder_staff_id = None
    conversation.hold_notice_at = None
    conversation.updated_at = utcnow()
    session.flush()
    return conversation


def answer_held(*, session: Session, kb: KnowledgeBase, conversation_id: int, now: datetime) -> Handled | None:
    """The chat is the bot's again: answer the student's latest message that no staff reply followed.

    Why: while staff held the chat the bot stored the student's messages
    without answering; a student who wrote after the last staff reply (or
    to a person who never replied) was left waiting for an answer nobody
    would give. That latest message goes through the normal flow as if it
    had just arrived (at ``now``), once: its stored row is reused (no
    second copy), and every held message of the conversation is marked
    ``received``, so a later hand-back answers nothing twice. Returns what
    the bot did, or None when there was nothing to answer. Call it after
    :func:`hand_back`, in the same transaction.
    """
    if now.tzinfo is None:
        raise InvalidInput("now must be timezone-aware")
    conversation = _lock_conversation(session, conversation_id)
    if conversation.holder != Holder.BOT:
        return None
    last_staff = session.exec(select(func.max(Message.id)).where(
        Message.conversation_id == conversation_id, Message.direction == Direction.OUT,
        Message.author == Author.STAFF)).one()
    latest = session.exec(
        select(Message).where(Message.conversation_id == conversation_id, Message.direction == Direction.IN,
                              Message.status == MessageStatus.HELD, col(Message.id) > (last_staff or 0))
        .order_by(col(Message.id).desc()).limit(1)
    ).first()
    settle_held(session=session, conversation_id=conversation_id)
    if latest is None:
        return None
    message = Incoming(text=latest.text, at=now, channel=conversation.channel,
                       attachments=tuple(Attachment(ref=str(a.get("ref") or ""),
                                                    content_type=str(a.get("content_type") or "application/octet-stream"),
                                                    name=str(a.get("name") or ""))
                                         for a in latest.attachments or [] if isinstance(a, dict)))
    outcome = advance(copy.deepcopy(conversation.state), message, kb)
    new_state = json.loads(json.dumps(outcome.state))
    latest.topic = outcome.topic
    ticket = None
    if outcome.actions:
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None  # the foreign key guarantees it
        ticket = perform_actions(session=session, conversation=conversation, contact=contact,
                                 actions=outcome.actions, now=now)
    replies = list(outcome.replies) + _ticket_news(kb, ticket, new_state, now)
    if ticket is not None:
        new_state["ticket_number"] = ticket.id
    conversation.state = new_state
    flag_modified(conversation, "state")
    conversation.updated_at = utcnow()
    _insert_messages(session, [_message_row(
        conversation_id=conversation_id, channel=conversation.channel, direction=Direction.OUT, author=Author.BOT,
        text=storable(reply.plain()), options=reply_options(reply), status=MessageStatus.PENDING,
        created_at=utcnow(),
    ) for reply in replies])
    session.flush()
    log.info("conversation %s back with the bot: answered message %s written while held (topic=%s, replies=%d)",
             conversation_id, latest.id, outcome.topic, len(replies))
    return Handled(replies=replies, topic=outcome.topic, state=copy.deepcopy(new_state), ticket=ticket,
                   conversation_id=conversation_id)


def settle_held(*, session: Session, conversation_id: int) -> int:
    """Mark the conversation's held messages ``received``: nothing left for the bot to answer."""
    result = session.execute(
        update(Message).where(col(Message.conversation_id) == conversation_id, Message.direction == Direction.IN,
                              Message.status == MessageStatus.HELD)
        .values(status=MessageStatus.RECEIVED).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reset_conversation(*, session: Session, conversation_id: int) -> Conversation:
    """Start the chat over: empty flow state, bot holding it, pending reminders cancelled.

    Messages and tickets stay: they are the desk's history.
    """
    conversation = _lock_conversation(session, conversation_id)
    conversation.state = None
    flag_modified(conversation, "state")
    conversation.holder = Holder.BOT
    conversation.holder_staff_id = None
    conversation.hold_notice_at = None
    conversation.updated_at = utcnow()
    _cancel_reminders(session, conversation_id, kind=None)
    settle_held(session=session, conversation_id=conversation_id)
    session.flush()
    return conversation


def perform_actions(
    *,
    session: Session,
    conversation: Conversation | ConversationRow,
    contact: Contact,
    actions: Iterable[Action],
    now: datetime | None = None,
) -> Ticket | None:
    """Carry out a flow step's actions in order; returns the last ticket opened or updated.

    An :class:`OpenTicket` whose reason matches a still-open ticket of this
    conversation updates that ticket (merging the data) instead of opening a
    second one; a :class:`ScheduleReminder` replaces pending reminders of its kind.
    """
    now = now or utcnow()
    ticket: Ticket | None = None
    for action in actions:
        touched = _perform(session, action, conversation=conversation, contact=contact, now=now)
        if touched is not None:
            ticket = touched
    session.flush()
    return ticket


def lock_conversation(*, session: Session, conversation_id: int) -> Conversation:
    """The conversation row, locked for this transaction (one worker per conversation)."""
    return _lock_conversation(session, conversation_id)


def find_conversation(*, session: Session, channel: str, address: str) -> Conversation | None:
    """The conversation with this channel address, if the student ever wrote."""
    stmt = select(Conversation).where(Conversation.channel == channel, Conversation.address == address)
    return session.exec(stmt).first()


# --- internals ---------------------------------------------------------------


def _ticket_news(kb: KnowledgeBase, ticket: Ticket | None, state: dict[str, Any], now: datetime) -> list[Reply]:
    """What the student is told about the ticket a step opened or updated: its number, or that it reopened."""
    if ticket is None:
        return []
    relative = speaker.is_relative(state)  # a parent writing for the student: "el número de reporte de tu hijo(a)"
    if ticket.created_at == now:
        return [Reply(kb.message("ticket_number", number=ticket.id, relative=relative))]
    if state.get("ticket_number") != ticket.id:
        # A ticket the conversation no longer knew of (resolved, its number forgotten): reopened.
        return [Reply(kb.message("ticket_reopened", number=ticket.id, relative=relative))]
    return []


def _message_row(*, conversation_id: int, channel: str, direction: str, author: str, text: str,
                 status: str, created_at: datetime, provider_id: str | None = None, topic: str | None = None,
                 attachments: list[dict[str, str]] | None = None,
                 options: list[list[str]] | None = None) -> dict[str, Any]:
    """A ``message`` row with every column set (a bulk insert applies no model defaults)."""
    return {
        "conversation_id": conversation_id, "channel": channel, "direction": direction, "author": author,
        "text": text, "provider_id": provider_id, "topic": topic, "attachments": attachments or [],
        "status": status, "created_at": created_at, "options": options or [], "template": False,
        "attempts": 0, "next_attempt_at": None, "last_error": None, "error_code": None, "sent_at": None,
    }


def _insert_messages(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert message rows in one statement, without building ORM objects.

    Why: this runs for every message the bot reads and every reply, and
    building a SQLModel instance costs more than the INSERT itself
    (pydantic resolves each field's default factory per instance).
    """
    if rows:
        session.connection().execute(MESSAGE_TABLE.insert(), rows)


def reply_options(reply: Reply) -> list[list[str]]:
    """A reply's menu as stored on its outbound message: ``[[key, label], ...]``."""
    return [[storable(o.key), storable(o.label)] for o in reply.options]


def storable(text: str) -> str:
    """``text`` as every database accepts it: no NUL (PostgreSQL refuses it), no lone surrogate."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _find_provider_message(session: Session, channel: str, provider_id: str) -> tuple[int, str | None] | None:
    """``(conversation_id, topic)`` of the inbound message with this provider id, if stored.

    Outbound rows hold the provider's ids of sent messages, hence the direction.
    """
    row = session.connection().execute(_PROVIDER_MESSAGE, {"b_channel": channel, "b_provider_id": provider_id}).first()
    return None if row is None else (int(row[0]), row[1])


def _duplicate(session: Session, conversation_id: int, topic: str | None) -> Handled:
    conversation = session.get(Conversation, conversation_id)
    log.info("duplicate provider message on conversation %s ignored", conversation_id)
    return Handled(
        replies=[],
        topic=topic,
        state=copy.deepcopy((conversation.state if conversation else None) or {}),
        ticket=None,
        duplicate=True,
        conversation_id=conversation_id,
    )


def _create_conversation(session: Session, *, channel: str, address: str, desk_address: str | None,
                         display_name: str | None, state: dict[str, Any], last_inbound_at: datetime,
                         now: datetime | None = None) -> ConversationRow:
    """A first message's contact and conversation, created unless another worker just did; returned locked.

    The conversation goes in with ``state`` (its first flow step's, run by
    the caller beforehand) and ``last_inbound_at``: no ``UPDATE`` follows.

    ``INSERT ... ON CONFLICT DO NOTHING`` for both rows: a worker that loses
    the race to create them inserts nothing and reads the winner's, with
    no savepoint and no ORM objects to flush (this runs for every new student).
    A contact that existed already keeps its name here; the caller updates it.
    """
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    now = now or utcnow()
    contact_values = {"channel": channel, "address": address, "display_name": display_name, "created_at": now}
    conversation_values = {"channel": channel, "address": address, "desk_address": desk_address,
                           "holder": Holder.BOT, "state": state, "last_inbound_at": last_inbound_at,
                           "created_at": now, "updated_at": now}
    name = display_name  # the stored name, when the contact is ours
    if postgres:  # both rows in one statement; none when the contact existed already
        row = conn.execute(_NEW_CONTACT_AND_CONVERSATION, {**contact_values, **conversation_values}).first()
        contact_id = None
    else:
        row = None
        contact_id = conn.execute(_NEW_CONTACT_ID[False], contact_values).scalar()
    if row is None:
        if contact_id is None:  # it existed already (another worker created it meanwhile): its name is unknown here
            name = None
            contact_id = conn.execute(_CONTACT_ID, {"b_channel": channel, "b_address": address}).scalar_one()
        row = conn.execute(_NEW_CONVERSATION_ROW[postgres], {**conversation_values, "contact_id": contact_id}).first()
    if row is not None:
        # Ours until this transaction ends: nobody else sees it, and another insert of it waits for us.
        return ConversationRow(id=row.id, contact_id=row.contact_id, channel=row.channel, holder=row.holder,
                               state=row.state, contact_name=name, new=True)
    conversation = _lock_conversation_at(session, channel, address)
    assert conversation is not None  # inserted by the worker that won the race
    return conversation


def _lock_conversation_at(session: Session, channel: str, address: str) -> ConversationRow | None:
    """The conversation of this address, read under ``SELECT ... FOR UPDATE``, or None for a new student."""
    row = session.connection().execute(_CONVERSATION_AT_LOCKED, {"b_channel": channel, "b_address": address}).first()
    if row is None:
        return None
    return ConversationRow(id=row.id, contact_id=row.contact_id, channel=row.channel, holder=row.holder,
                           state=row.state, contact_name=row.contact_name, hold_notice_at=row.hold_notice_at)


def _lock_conversation(session: Session, conversation_id: int) -> Conversation:
    """Re-read the row under ``SELECT ... FOR UPDATE`` (a no-op on SQLite, whose
    ``BEGIN IMMEDIATE`` already serialises writers)."""
    stmt = (
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    conversation = session.exec(stmt).first()
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


def _perform(
    session: Session, action: Action, *, conversation: Conversation | ConversationRow, contact: Contact,
    now: datetime
) -> Ticket | None:
    """Carry out one action of the flow; returns the ticket it opened or updated, if any."""
    if isinstance(action, OpenTicket):
        return _open_ticket(session, action, conversation=conversation, contact=contact, now=now)
    if isinstance(action, ScheduleReminder):
        if action.due.tzinfo is None:
            raise InvalidInput("ScheduleReminder.due must be timezone-aware")
        _cancel_reminders(session, conversation.id, kind=action.kind)  # type: ignore[arg-type]
        session.add(
            Reminder(
                conversation_id=conversation.id,  # type: ignore[arg-type]
                kind=action.kind,
                due_at=action.due,
                status=ReminderStatus.PENDING,
            )
        )
        return None
    if isinstance(action, CancelReminders):
        _cancel_reminders(session, conversation.id, kind=action.kind)  # type: ignore[arg-type]
        return None
    if isinstance(action, RecordConsent):
        at = action.at if action.at.tzinfo is not None else now
        session.add(Consent(contact_id=contact.id, kind=action.kind, at=at))  # type: ignore[arg-type]
        return None
    if isinstance(action, RequestHuman):
        # The ticket that goes with it is what staff see; nothing else to do yet.
        log.info("conversation %s asks for a person (%s)", conversation.id, action.reason)
        return None
    log.warning("unknown action %r ignored", type(action).__name__)
    return None


def _open_ticket(
    session: Session, action: OpenTicket, *, conversation: Conversation | ConversationRow, contact: Contact,
    now: datetime
) -> Ticket:
    attachments = [_attachment_json(a) for a in action.attachments]
    data = {k: storable(v) if isinstance(v, str) else v for k, v in action.data.items() if v not in (None, "")}
    description = storable(action.description)
    note = action.writer_note
    stmt = (
        select(Ticket)
        .where(
            Ticket.conversation_id == conversation.id,
            Ticket.reason == action.reason,
            col(Ticket.status).in_(UNRESOLVED),
        )
        .order_by(col(Ticket.id).desc())
    )
    ticket = session.exec(stmt).first()
    if ticket is None and action.replaces:
        # The open ticket of another reason is this case, told for what it is now: it takes the
        # new reason (staff filter by it), keeping what it already had.
        ticket = session.exec(
            select(Ticket)
            .where(Ticket.conversation_id == conversation.id, Ticket.reason == action.replaces,
                   col(Ticket.status).in_(UNRESOLVED))
            .order_by(col(Ticket.id).desc())
        ).first()
        if ticket is not None:
            from bot.staffdesk import record_reason_change  # the console builds on the desk, not the reverse

            before, ticket.reason = ticket.reason, action.reason
            record_reason_change(session, ticket=ticket, before=before, staff=None, now=now)
    if ticket is None:
        # The same problem again a few days after staff resolved it: reopen that
        # ticket (the console records it) rather than start the story over.
        from bot.staffdesk import reopen_recent  # the console builds on the desk, not the reverse

        ticket = reopen_recent(session=session, conversation_id=conversation.id,  # type: ignore[arg-type]
                               reason=action.reason, now=now)
    if ticket is None:
        ticket = Ticket(
            conversation_id=conversation.id,  # type: ignore[arg-type]
            contact_id=contact.id,  # type: ignore[arg-type]
            reason=action.reason,
            status=TicketStatus.OPEN,
            data=data,
            description=f"{description} {note}".strip() if note else description,
            urgent=action.urgent,
            attachments=attachments,
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
    else:
        ticket.data = merge_data(ticket.data, data)
        if action.urgent:
            ticket.urgent = True  # an emergency told later, with the report open or reopened
        if description and ticket.reopened_at is not None:
            # Since the student reopened it: what is new, shown apart (even if it repeats the story).
            added = ticket.reopen_text.split("\n") if ticket.reopen_text else []
            if description not in added:
                ticket.reopen_text = "\n".join([*added, description])
        if description and description not in (ticket.description or ""):
            # Later messages add to the story; they never erase what staff already read.
            ticket.description = f"{ticket.description}\n{description}" if ticket.description else description
        if note and note not in (ticket.description or ""):
            # A parent writes (again) for the student: staff know it once, whoever opened the ticket.
            ticket.description = f"{ticket.description}\n{note}" if ticket.description else note
        known = {a.get("ref") for a in ticket.attachments or []}
        ticket.attachments = list(ticket.attachments or []) + [a for a in attachments if a["ref"] not in known]
        ticket.updated_at = now
        flag_modified(ticket, "data")
        flag_modified(ticket, "attachments")
    student_id = data.get("student_id")
    if student_id and not contact.student_id:
        contact.student_id = str(student_id)
    session.flush()
    return ticket


#: A value's flags: what the bot noted about a datum (or its absence). A new value of the datum
#: makes them stale, unless the new data carries them again.
VALUE_FLAGS = {
    "nss": ("nss_unverified", "nss_unknown", "nss_refused"),
    "curp": ("curp_unverified", "curp_missing", "curp_unknown", "curp_refused"),
    "student_id": ("student_id_missing",),
}
#: Where a ticket keeps the NSS and CURP its data held before a correction: never shown as data,
#: only so the console still masks them in the conversation (the student typed them there).
REPLACED_KEY = "_replaced"


def merge_data(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A ticket's data with ``new`` over ``old``.

    A datum given again drops the flags ``old`` had about it (an NSS corrected with a valid one
    is no longer *sin verificar*; one given is no longer *no sabe su NSS*), unless ``new`` carries
    them too; an NSS or CURP replaced by another is kept under :data:`REPLACED_KEY`.
    """
    merged = dict(old or {})
    replaced = list(merged.get(REPLACED_KEY) or [])
    for key, value in new.items():
        if key not in VALUE_FLAGS:
            continue
        for flag in VALUE_FLAGS[key]:
            if flag not in new:
                merged.pop(flag, None)
        before = merged.get(key)
        if key in ("nss", "curp") and before and str(before) != str(value) and str(before) not in replaced:
            replaced.append(str(before))
    merged.update(new)
    if replaced:
        merged[REPLACED_KEY] = replaced
    return merged


def _cancel_reminders(session: Session, conversation_id: int, *, kind: str | None) -> None:
    stmt = select(Reminder).where(
        Reminder.conversation_id == conversation_id, Reminder.status == ReminderStatus.PENDING
    )
    if kind is not None:
        stmt = stmt.where(Reminder.kind == kind)
    for reminder in list(session.exec(stmt)):
        reminder.status = ReminderStatus.CANCELLED


def _attachment_json(attachment: Attachment) -> dict[str, str]:
    return asdict(attachment)
