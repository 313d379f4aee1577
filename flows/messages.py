"""Value types that cross the boundary between the pure flows and the world.

The core (``bot``) builds an :class:`Incoming` from whatever a channel
received, hands it to :func:`flows.machine.advance` with the stored state, and
gets back an :class:`Outcome`: the new state, the replies to send and the
actions to perform. Nothing here knows about channels or databases.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


#: How a channel tells the flows that a file the student sent was refused
#: (too big, a type we do not keep, a download that failed): a note in the
#: text, "[archivo no aceptado: <why>]", so staff reading the conversation see it too.
FILE_NOTE = re.compile(r"\[archivo no [^\]]{0,200}\]")


@dataclass(frozen=True)
class Attachment:
    """A file the student sent (a screenshot of the error, usually).

    ``ref`` is opaque to the flows: the channel layer decides what it means
    (a stored file's id, a path); the flows only pass it on to the ticket.
    """

    ref: str
    content_type: str = "application/octet-stream"
    name: str = ""


@dataclass(frozen=True)
class Incoming:
    """One student message, already translated out of its channel's format."""

    text: str
    at: datetime
    channel: str = "console"
    attachments: tuple[Attachment, ...] = ()
    #: A button pressed (Telegram): its label, while ``text`` is the key it sends. An old
    #: button pressed after the menu changed is read by its label, not as "11".
    button_label: str | None = None


@dataclass(frozen=True)
class Option:
    """One choice of a menu: numbered on WhatsApp and text, a button on Telegram.

    ``key`` is what the student may type back ("1", "2", ...); a button sends it too.
    """

    key: str
    label: str


@dataclass(frozen=True)
class Reply:
    """One message to the student. Options, when present, are a menu."""

    text: str
    options: tuple[Option, ...] = ()

    def plain(self) -> str:
        """The reply as one plain-text message, options as a numbered list."""
        if not self.options:
            return self.text
        lines = [f"{o.key}. {o.label}" for o in self.options]
        return self.text + "\n\n" + "\n".join(lines)


class Action:
    """Something the core must do in the world after a step (marker base class)."""


@dataclass(frozen=True)
class OpenTicket(Action):
    """Open a ticket for a person, with what the bot collected.

    ``data`` holds the validated items (student_id, name, nss, curp, ...);
    missing ones are absent, never empty strings.
    """

    reason: str
    description: str
    data: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    #: The reason of the open ticket this one is: the same case, told for what it is now ("otra
    #: duda", then "sigo sin vigencia, la guardé el 5"). That ticket takes ``reason``.
    replaces: str | None = None
    #: Staff should look at it first: the student (or a parent) is at an emergency room or a
    #: hospital while not covered. The description says why ("URGENTE: …").
    urgent: bool = False
    #: What staff should know of who writes, when it is not the student: a parent (flows/speaker.py),
    #: "(Escribe un familiar a nombre del estudiante.)". Set on every report of such a conversation
    #: by :func:`flows.machine.advance`; the ticket's description carries it once.
    writer_note: str = ""


@dataclass(frozen=True)
class ScheduleReminder(Action):
    """Write to the student on ``due`` (the end of the waiting period)."""

    due: datetime
    kind: str = "vigencia_check"


@dataclass(frozen=True)
class CancelReminders(Action):
    """Drop pending reminders of this conversation (the student moved on)."""

    kind: str = "vigencia_check"


@dataclass(frozen=True)
class RecordConsent(Action):
    """The student acknowledged the privacy notice at ``at``."""

    at: datetime
    kind: str = "privacy_notice"


@dataclass(frozen=True)
class RequestHuman(Action):
    """Ask staff to take the chat (a ticket already exists or is being opened)."""

    reason: str


@dataclass
class Outcome:
    """What one step of the machine produced.

    ``stored_text`` is the student's text as it may be stored: passwords
    redacted. ``topic`` is the id from topics.md the message was understood
    as, or None when it answered a question the bot had asked.
    """

    state: dict[str, Any]
    replies: list[Reply]
    actions: list[Action]
    topic: str | None
    stored_text: str
