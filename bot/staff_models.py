"""The staff console's tables: accounts, sessions, login attempts, audit, canned replies, notes.

They live on the same ``SQLModel.metadata`` as :mod:`bot.models`, so
``init_db`` creates them; importing this module (``bot.console`` does)
registers them. Sessions and login attempts are rows, not signed cookies or
process memory, so logout and expiry are real and the login throttle holds
across every worker of the service.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.models import UTCDateTime, utcnow


class Role:
    """What a staff member may do: agents handle tickets; admins also manage the desk."""

    AGENT = "agent"
    ADMIN = "admin"
    ALL = (AGENT, ADMIN)


def _ts(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)  # type: ignore[arg-type]


class StaffUser(SQLModel, table=True):
    """A person of the help desk who logs into the console."""

    __tablename__ = "staff_user"
    __table_args__ = (UniqueConstraint("email", name="uq_staff_user_email"),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    name: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    role: str = Field(default=Role.AGENT, sa_type=String(16))  # type: ignore[call-overload]
    password_hash: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    active: bool = Field(default=True, sa_type=Boolean)  # type: ignore[call-overload]
    created_at: datetime = _ts(default_factory=utcnow)
    last_login_at: datetime | None = _ts(default=None)

    @property
    def first_name(self) -> str:
        """What the student is told: "Te atiende Ana"."""
        return (self.name.split() or ["la mesa de ayuda"])[0]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class StaffSession(SQLModel, table=True):
    """A logged-in browser. ``id`` is the SHA-256 of the cookie value, never the value itself."""

    __tablename__ = "staff_session"

    id: str = Field(primary_key=True, sa_type=String(64))  # type: ignore[call-overload]
    staff_id: int = Field(foreign_key="staff_user.id", index=True)
    csrf_token: str = Field(sa_type=String(64))  # type: ignore[call-overload]
    created_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()


class LoginAttempt(SQLModel, table=True):
    """One try at the login form; failures in a window slow down that account and that address."""

    __tablename__ = "staff_login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=String(255))  # type: ignore[call-overload]
    ip: str = Field(sa_type=String(64))  # type: ignore[call-overload]
    ok: bool = Field(default=False, sa_type=Boolean)  # type: ignore[call-overload]
    at: datetime = _ts(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Who did what to which ticket, and when: read by admins, never edited."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index("ix_staff_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow)
    staff_id: int | None = Field(default=None, index=True)
    action: str = Field(sa_type=String(32))  # type: ignore[call-overload]
    ticket_id: int | None = Field(default=None, index=True)
    conversation_id: int | None = Field(default=None)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # type: ignore[call-overload]


class CannedResponse(SQLModel, table=True):
    """A ready answer staff insert with one click; admins edit them."""

    __tablename__ = "staff_canned"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=String(120))  # type: ignore[call-overload]
    body: str = Field(sa_type=String)  # type: ignore[call-overload]
    updated_at: datetime = _ts(default_factory=utcnow)


class TicketNote(SQLModel, table=True):
    """An internal note on a ticket: staff only, never sent to the student."""

    __tablename__ = "staff_note"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    staff_id: int = Field(foreign_key="staff_user.id")
    text: str = Field(sa_type=String)  # type: ignore[call-overload]
    created_at: datetime = _ts(default_factory=utcnow)


class TicketView(SQLModel, table=True):
    """The last message of a conversation a staff member has seen: the inbox's unread marks."""

    __tablename__ = "staff_ticket_view"
    __table_args__ = (UniqueConstraint("staff_id", "conversation_id", name="uq_staff_view"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_id: int = Field(foreign_key="staff_user.id")
    conversation_id: int = Field(foreign_key="conversation.id")
    last_message_id: int = Field(default=0)
