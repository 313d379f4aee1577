"""The one small interface every channel implements.

A channel only translates (Rasa's ``channels/``, errbot's backends): it
verifies and stores what its webhook receives, turns a stored payload into
the neutral :class:`Prepared` message the core understands, and sends a
neutral :class:`Outgoing` message. Everything else (dedupe, state, flows,
tickets, retries) is the core's.

The path of a message:

1. webhook route (a :class:`WebhookRoute` in the channel's ``router()``): verify the signature or
   secret (403 otherwise), then ``services.store_webhook(Arrival(...))`` the
   raw payload in the database (unique per channel + provider id; webhooks
   arriving together share a transaction, ``bot.intake``), then answer 2xx.
2. the inbound processor (``bot.inbound``) claims stored events in arrival
   order per conversation, calls ``prepare(payload)`` (media downloaded
   here, so the webhook answers fast), then ``bot.desk.handle_message``.
3. replies are outbound ``Message`` rows; the outbox (``bot.outbox``)
   claims them and calls ``send(Outgoing)``, retrying on ``RetryLater``.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import Route

from flows.messages import Attachment

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.requests import Request
    from starlette.responses import Response


class WebhookRoute(Route):
    """A provider's webhook: a plain Starlette route (POST only) in a channel's router.

    Why not ``router.post``: a webhook reads and verifies its own body, so
    FastAPI's per-request machinery (dependency solving, parameter
    validation, its route context) does nothing for it, yet it cost a
    fifth of the webhook path's CPU, on the route every student message
    takes. The app puts these routes first, on itself rather than inside
    an included router (``bot.web.app``): routes are matched in order, and
    each included router adds a layer of matching. Measured together, back
    to back, the webhook path alone: 3,278-3,420 → 4,793-4,925 webhooks/s
    (README, "Performance").
    Errors are unchanged: an ``HTTPException`` the endpoint raises goes
    through the app's exception handlers (``{"detail": ...}``), and the
    middleware sees these routes like any other.
    """

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(path, endpoint, methods=["POST"], include_in_schema=False)


@dataclass(frozen=True)
class Prepared:
    """A stored inbound payload, ready for the core."""

    text: str
    attachments: tuple[Attachment, ...] = ()
    display_name: str | None = None
    button_label: str | None = None  # the label of a pressed button, whose key is ``text``


@dataclass(frozen=True)
class Outgoing:
    """One message to send to a student, read from an outbound Message row.

    ``template`` is True when the message must go as an approved template
    (WhatsApp, more than 24 h after the student's last message).
    ``options`` are (key, label) menu choices: buttons where the channel has
    them; the text already lists them as a numbered menu.
    """

    message_id: int
    conversation_id: int
    channel: str
    address: str
    text: str
    desk_address: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    template: bool = False
    template_variables: dict[str, str] = field(default_factory=dict)
    last_inbound_at: datetime | None = None


def menu_body(text: str, options: Sequence[Sequence[str]]) -> str:
    """``text`` without the numbered menu ``Reply.plain()`` appended to it.

    For channels that show ``options`` as buttons (Telegram's inline
    keyboard, the web chat) and would otherwise list them twice.
    """
    if not options:
        return text
    listing = "\n\n" + "\n".join(f"{key}. {label}" for key, label in options)
    return text[: -len(listing)] if text.endswith(listing) else text


class SendError(Exception):
    """Sending failed; the outbox decides what to do from the subclass."""


class RetryLater(SendError):
    """A transient failure (5xx, timeout, 429): try again, after ``retry_after`` s if given."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NeedsTemplate(SendError):
    """WhatsApp refused a free-form message outside the 24-hour window (63016)."""


class PermanentFailure(SendError):
    """The provider refused the message for good (bad number, blocked bot)."""

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.code = code


class Channel(Protocol):
    """What the app needs of a channel. One implementation per file."""

    name: str

    def router(self) -> APIRouter:
        """The webhook routes, mounted by ``create_app``."""
        ...

    async def start(self) -> None:
        """Open clients (called in the app's lifespan)."""
        ...

    async def stop(self) -> None:
        ...

    async def prepare(self, payload: dict[str, Any], *, last_try: bool = False) -> Prepared:
        """Turn a stored payload into text and attachments (downloads media).

        Raises RetryLater when a download fails transiently; on the
        ``last_try`` a file that still cannot be fetched becomes a note in the
        text instead, so the student is answered without it.
        """
        ...

    async def send(self, message: Outgoing) -> str | None:
        """Send one message; return the provider's message id.

        Raises RetryLater, NeedsTemplate or PermanentFailure.
        """
        ...
