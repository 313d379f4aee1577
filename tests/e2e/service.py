"""The whole service as deployed for WhatsApp, on loopback: our app and a fake Twilio.

:func:`whatsapp_desk` starts the fake Twilio (``tests/fakes/twilio.py``) and
OUR app (``create_app`` with real WhatsApp settings: ``TWILIO_API_BASE_URL``
pointed at the fake, ``PUBLIC_BASE_URL`` at the app's own loopback address,
workers on) on a real SQLite file. Students talk through the signed
webhook exactly as Twilio posts it; what the bot and the staff send them is
read back from the fake Twilio. Nothing of ours is mocked.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from bot.config import Settings
from bot.models import Direction, InboundEvent, Message, Ticket
from tests import dbs
from tests.fakes.server import ServerThread, free_port
from tests.fakes.twilio import DESK_NUMBERS, FakeTwilio, Sent, inbound_form, post_signed
from tests.whatsapp_support import whatsapp_settings

STUDENT = "+5216440000001"
INBOUND = "/webhooks/whatsapp"


def wait_until(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class LiveDesk:
    """Our running app (``url`` is also its PUBLIC_BASE_URL) and the fake Twilio it talks to."""

    url: str
    app: Any
    fake: FakeTwilio
    settings: Settings

    @property
    def services(self) -> Any:
        return self.app.state.services

    # -- the student, through Twilio ------------------------------------------

    def say(self, body: str, *, sender: str = STUDENT, to: str = DESK_NUMBERS[0]) -> httpx.Response:
        """The student writes; Twilio posts the signed webhook to our public URL. Must be acknowledged."""
        form = inbound_form(body, sender=sender, to=to)
        response = post_signed(self.url, INBOUND, form, public_base_url=self.url)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        return response

    def converse(self, body: str, *, sender: str = STUDENT, timeout: float = 20.0) -> list[Sent]:
        """Say ``body`` and wait until it is processed and every reply left the outbox; the new replies."""
        before = len(self.fake.messages(sender))
        self.say(body, sender=sender)
        self.settle(timeout=timeout)
        return self.fake.messages(sender)[before:]

    # -- the database, read-only ------------------------------------------------

    def rows(self, model: Any, **where: Any) -> list[Any]:
        with self.services.session() as session:
            stmt = select(model)
            for key, value in where.items():
                stmt = stmt.where(getattr(model, key) == value)
            return list(session.exec(stmt.order_by(model.id)))

    def settled(self) -> bool:
        """Every stored event processed and every reply out of the outbox (sent, or given up)."""
        with self.services.session() as session:
            busy_in = session.exec(select(InboundEvent.id).where(
                col(InboundEvent.status).in_(("pending", "processing")))).first()
            busy_out = session.exec(select(Message.id).where(
                Message.direction == Direction.OUT, col(Message.status).in_(("pending", "sending")))).first()
        return busy_in is None and busy_out is None

    def settle(self, timeout: float = 20.0) -> None:
        wait_until(self.settled, timeout=timeout, what="the inbound queue and the outbox to drain")

    def tickets(self) -> list[Ticket]:
        return self.rows(Ticket)

    def message_for(self, sent: Sent) -> Message:
        """Our stored outbound message behind what the fake Twilio received."""
        [message] = [m for m in self.rows(Message, direction=Direction.OUT) if m.provider_id == sent.sid]
        return message


@contextmanager
def whatsapp_desk(tmp_path: Path, kb: Any, *, clock: Any = None, **overrides: Any) -> Iterator[LiveDesk]:
    fake = FakeTwilio()
    fake_server = ServerThread(fake.app).start()
    fake.url = fake_server.url
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    values: dict[str, Any] = {"database_url": dbs.database_url(tmp_path, 'desk.db'), "media_dir": tmp_path / "media",
                              "public_base_url": url, "outbox_retry_base_seconds": 0.05,
                              "outbox_retry_max_seconds": 0.3}
    values.update(overrides)
    settings = whatsapp_settings(fake.url, tmp_path, **values)
    from bot.web.app import create_app

    app = create_app(settings, kb=kb, clock=clock)  # workers on, channels from the settings
    try:
        server = ServerThread(app, port).start()
        try:
            assert "whatsapp" in app.state.services.channels, "the WhatsApp channel did not start"
            yield LiveDesk(url=url, app=app, fake=fake, settings=settings)
        finally:
            server.stop()
    finally:
        fake_server.stop()
