"""The database tables (SQLModel), portable between SQLite and PostgreSQL.

Timestamps are timezone-aware UTC on both databases (:class:`UTCDateTime`);
structured values use the generic JSON type. Status-like columns are plain
strings whose values are the constants of the small classes below, so adding
a value later needs no database enum migration.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, PostgreSQL's ``timestamptz`` does; converting on
    the way in and tagging on the way out makes both behave the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware values only")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Holder:
    """Who answers a conversation."""

    BOT = "bot"
    STAFF = "staff"


class Direction:
    IN = "in"
    OUT = "out"


class Author:
    STUDENT = "student"
    BOT = "bot"
    STAFF = "staff"
    SYSTEM = "system"


class MessageStatus:
    """Delivery status of an outbound message (inbound ones are ``received``).

    pending → sending (claimed by the outbox, under a lease) → sent (the
    provider accepted it) → delivered → read, or failed / undelivered.
    """

    RECEIVED = "received"
    #: An inbound message stored while staff held the chat: the bot has not answered it (yet).
    #: When the chat goes back to the bot the latest one after the last staff reply is answered,
    #: and all of them become ``received`` (bot.desk.answer_held).
    HELD = "held"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"


class EventStatus:
    """Processing status of a stored inbound webhook payload."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


class TicketStatus:
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class ReminderStatus:
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)  # type: ignore[arg-type]


class Contact(SQLModel, table=True):
    """A student as seen on one channel (one WhatsApp number, one Telegram chat)."""

    __table_args__ = (UniqueConstraint("channel", "address", name="uq_contact_channel_address"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(32))  # type: ignore[call-overload]
    address: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    display_name: str | None = Field(default=None, sa_type=String(255))  # type: ignore[call-overload]
    student_id: str | None = Field(default=None, sa_type=String(16), index=True)  # type: ignore[call-overload]
    created_at: datetime = _ts(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    """The chat with one contact: the flow's state and who is answering it.

    One row per (channel, address); the row is what workers lock so that the
    messages of one student are processed one at a time.
    """

    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_conversation_channel_address"),
        # The outbox looks for holds nobody has worked on for HOLD_TIMEOUT_MINUTES (bot.staffdesk.expire_hold).
        Index("ix_conversation_holder_staff_active", "holder", "staff_active_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(sa_type=String(32))  # type: ignore[call-overload]
    address: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    desk_address: str | None = Field(default=None, sa_type=String(255))  # type: ignore[call-overload]
    state: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # type: ignore[call-overload]
    holder: str = Field(default=Holder.BOT, sa_type=String(16))  # type: ignore[call-overload]
    holder_staff_id: int | None = Field(default=None)
    #: When the staff member holding the chat last worked on it (took it, replied, wrote a note):
    #: a hold with no such activity for ``HOLD_TIMEOUT_MINUTES`` goes back to the bot.
    staff_active_at: datetime | None = _ts(default=None)
    #: When the student was told, during the current hold, that the desk is closed (once a hold).
    hold_notice_at: datetime | None = _ts(default=None)
    last_inbound_at: datetime | None = _ts(default=None)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class Message(SQLModel, table=True):
    """One message in either direction.

    ``(channel, provider_id)`` is the dedupe key: Twilio's MessageSid,
    Telegram's update_id, or none (console, simulate); on an outbound row it
    is the id the provider gave the sent message. ``status`` tracks outbound
    delivery; ``next_attempt_at`` is when the outbox may (re)try a pending
    message, or when the lease of a ``sending`` one expires.
    """

    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_message_channel_provider_id"),
        Index("ix_message_conversation_created", "conversation_id", "created_at"),
        Index("ix_message_status_next_attempt", "status", "next_attempt_at"),
        # The outbox claims the oldest due messages of each status, reading no more than it takes.
        Index("ix_message_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    channel: str = Field(sa_type=String(32))  # type: ignore[call-overload]
    direction: str = Field(sa_type=String(8))  # type: ignore[call-overload]
    author: str = Field(sa_type=String(16))  # type: ignore[call-overload]
    text: str = Field(default="", sa_type=String)  # type: ignore[call-overload]
    provider_id: str | None = Field(default=None, sa_type=String(255))  # type: ignore[call-overload]
    topic: str | None = Field(default=None, sa_type=String(64))  # type: ignore[call-overload]
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)  # type: ignore[call-overload]
    status: str = Field(default=MessageStatus.RECEIVED, sa_type=String(16))  # type: ignore[call-overload]
    created_at: datetime = _ts(default_factory=utcnow)
    #: Menu choices of an outbound message as ``[[key, label], ...]`` (buttons where the channel has them).
    options: list[list[str]] = Field(default_factory=list, sa_type=JSON)  # type: ignore[call-overload]
    #: Send as the approved WhatsApp template (outside the 24-hour window).
    template: bool = Field(default=False, sa_type=Boolean)  # type: ignore[call-overload]
    attempts: int = Field(default=0, sa_type=Integer)  # type: ignore[call-overload]
    next_attempt_at: datetime | None = _ts(default=None)
    last_error: str | None = Field(default=None, sa_type=String(500))  # type: ignore[call-overload]
    error_code: str | None = Field(default=None, sa_type=String(32))  # type: ignore[call-overload]
    sent_at: datetime | None = _ts(default=None)


class InboundEvent(SQLModel, table=True):
    """A webhook payload as received, stored before the 2xx so nothing is lost.

    ``(channel, provider_id)`` is unique: a provider's retry of the same
    MessageSid or update_id is stored once. The inbound processor claims
    pending events (``lease_until`` is both the retry time of a pending
    event and the lease of a processing one) and marks them done in the
    transaction that handles the message.
    """

    __tablename__ = "inbound_event"
    __table_args__ = (
        UniqueConstraint("channel", "provider_id", name="uq_inbound_event_channel_provider_id"),
        Index("ix_inbound_event_status_id", "status", "id"),
        Index("ix_inbound_event_channel_address", "channel", "address"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(32))  # type: ignore[call-overload]
    provider_id: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    address: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    desk_address: str | None = Field(default=None, sa_type=String(255))  # type: ignore[call-overload]
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # type: ignore[call-overload]
    received_at: datetime = _ts(default_factory=utcnow)
    status: str = Field(default=EventStatus.PENDING, sa_type=String(16))  # type: ignore[call-overload]
    attempts: int = Field(default=0, sa_type=Integer)  # type: ignore[call-overload]
    lease_until: datetime | None = _ts(default=None)
    last_error: str | None = Field(default=None, sa_type=String(500))  # type: ignore[call-overload]
    processed_at: datetime | None = _ts(default=None)


class Ticket(SQLModel, table=True):
    """A case for a person: why, what the bot collected, who has it."""

    __table_args__ = (Index("ix_ticket_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    reason: str = Field(sa_type=String(64))  # type: ignore[call-overload]
    status: str = Field(default=TicketStatus.OPEN, sa_type=String(16))  # type: ignore[call-overload]
    #: A student (or a parent) at an emergency room or a hospital while not covered: staff look at it
    #: first. Set from the flow's ``OpenTicket.urgent``; never cleared.
    urgent: bool = Field(default=False, sa_type=Boolean,  # type: ignore[call-overload]
                         sa_column_kwargs={"server_default": false()})
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # type: ignore[call-overload]
    description: str = Field(default="", sa_type=String)  # type: ignore[call-overload]
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)  # type: ignore[call-overload]
    #: Who holds the ticket's chat now (or resolved it): cleared when the chat goes back to the bot.
    assigned_staff_id: int | None = Field(default=None)
    #: Who worked on it: the first staff member who replied (or, without a reply, who resolved it).
    #: Never cleared, so a hand-back or a disabled account does not erase it (reports, the CSV export).
    handled_by_staff_id: int | None = Field(default=None)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)
    resolved_at: datetime | None = _ts(default=None)
    #: When the student last reopened it (wrote about the same problem within a few days of its
    #: resolution, bot.staffdesk.reopen_recent); kept afterwards, as its history.
    reopened_at: datetime | None = _ts(default=None)
    #: What the student added since that reopening (the detail of their new messages), apart from
    #: the description that also holds it, so staff see what is new.
    reopen_text: str | None = Field(default=None, sa_type=String)  # type: ignore[call-overload]


class Reminder(SQLModel, table=True):
    """A message the bot must send on its own later (end of the waiting period)."""

    __table_args__ = (Index("ix_reminder_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    kind: str = Field(sa_type=String(64))  # type: ignore[call-overload]
    due_at: datetime = _ts()
    status: str = Field(default=ReminderStatus.PENDING, sa_type=String(16))  # type: ignore[call-overload]
    created_at: datetime = _ts(default_factory=utcnow)


class Consent(SQLModel, table=True):
    """When a contact acknowledged a notice (the privacy notice, before personal data)."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kind: str = Field(sa_type=String(64))  # type: ignore[call-overload]
    at: datetime = _ts()


class SendRate(SQLModel, table=True):
    """The send schedule of one provider limit (a Twilio sender, a Telegram bot or chat).

    ``tat`` is the "theoretical arrival time" of the generic cell-rate
    algorithm, in seconds since the epoch: the earliest moment the next
    message may go. It lives in the database, not in a process, so a limit
    holds for every worker of the deployment (see :mod:`bot.sendrate`).
    """

    __tablename__ = "send_rate"

    key: str = Field(primary_key=True, sa_type=String(128))  # type: ignore[call-overload]
    tat: float = Field(default=0.0, sa_type=Float)  # type: ignore[call-overload]


class OutgoingTally(SQLModel, table=True):
    """Paid messages claimed for sending in one second (the outgoing guard's window, bot/limits.py).

    Why a table: the guard used to count the messages sent in the last
    minute, which under load is thousands of rows read at every claim of
    the outbox (4 ms with 10,000, inside the claim's transaction). Sixty of
    these rows say the same. ``second`` is wall-clock seconds since the epoch.
    """

    __tablename__ = "outgoing_tally"

    second: int = Field(primary_key=True, sa_type=BigInteger,  # type: ignore[call-overload]
                        sa_column_kwargs={"autoincrement": False})
    count: int = Field(default=0, sa_type=Integer)  # type: ignore[call-overload]
