"""Helpers for tests of the running service (bot.web, bot.inbound, bot.outbox).

- :class:`Clock`: a wall clock that can be moved (reminders and the 24-hour
  window depend on the time) but keeps ticking, so backoffs still expire.
- :class:`FakeProvider`: a tiny HTTP "provider" served on loopback that
  accepts, fails (503), throttles (429) or refuses messages on command, and
  records every request it got.
- :class:`HttpChannel`: a real :class:`bot.channels.base.Channel` whose
  ``send`` POSTs to a :class:`FakeProvider` and whose webhook stores JSON
  payloads like the real channels do. Nothing of ours is mocked.
"""
from __future__ import annotations

import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bot.channels.base import NeedsTemplate, Outgoing, PermanentFailure, Prepared, RetryLater
from bot.config import Settings
from bot.web.app import create_app
from bot.web.deps import ServicesDep
from tests import dbs
from tests.fakes.server import ServerThread


class Clock:
    """Real time shifted by an offset; :meth:`set` moves it, time keeps running."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            self.set(start)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def set(self, at: datetime) -> None:
        self._offset = at - datetime.now(timezone.utc)


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: its own SQLite file and media folder, no credentials, fast retries."""
    values: dict[str, Any] = {
        "database_url": dbs.database_url(tmp_path, 'service.db'),
        "media_dir": tmp_path / "media",
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "twilio_whatsapp_numbers_raw": "",
        "telegram_bot_token": None,
        "telegram_webhook_secret": None,
        "outbox_retry_base_seconds": 0.1,
        "outbox_retry_max_seconds": 1.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def session_id() -> str:
    return secrets.token_urlsafe(24)


def wait_healthy(port: int, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Wait until a ``seguro-bot serve`` subprocess answers /healthz; fail with its stderr if it died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.communicate(timeout=10)[1] or ""
            raise AssertionError(f"serve on port {port} did not start: {err[-3000:]}")
        time.sleep(0.2)


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class FakeProvider:
    """What the fake provider does with the next sends, and what it saw."""

    #: Answers for the next requests, consumed in order: "ok", "503", "429", "400", "63016".
    script: list[str] = field(default_factory=list)
    #: What to answer once the script is used up.
    default: str = "ok"
    #: Answers for messages with this exact text, consumed first (order-independent scripts).
    per_text: dict[str, list[str]] = field(default_factory=dict)
    #: The id of every accepted message, when set (a provider whose ids are not unique).
    fixed_sid: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/send")
        async def send(request: Request) -> JSONResponse:
            body = await request.json()
            with self.lock:
                self.requests.append(body)
                queue = self.per_text.get(body.get("text", ""))
                if queue:
                    answer = queue.pop(0)
                else:
                    answer = self.script.pop(0) if self.script else self.default
                if answer == "ok":
                    sid = self.fixed_sid or f"SM{len(self.accepted) + 1:04d}{secrets.token_hex(4)}"
                    self.accepted.append({**body, "sid": sid})
                    return JSONResponse({"sid": sid})
            if answer == "429":
                return JSONResponse({"retry_after": 0.2}, status_code=429)
            if answer == "400":
                return JSONResponse({"code": "21211"}, status_code=400)
            if answer == "63016":
                return JSONResponse({"code": "63016"}, status_code=409)
            return JSONResponse({"error": "unavailable"}, status_code=503)

        return app

    def accepted_ids(self) -> list[int]:
        with self.lock:
            return [a["message_id"] for a in self.accepted]

    def accepted_texts(self) -> list[str]:
        with self.lock:
            return [a["text"] for a in self.accepted]

    def requested_texts(self) -> list[str]:
        with self.lock:
            return [r["text"] for r in self.requests]


class HttpChannel:
    """A channel for tests: JSON webhook in, HTTP POST to a :class:`FakeProvider` out."""

    def __init__(self, name: str, provider: FakeProvider) -> None:
        self.name = name
        self.provider = provider
        self.client: httpx.AsyncClient | None = None
        self.prepared: list[dict[str, Any]] = []

    async def start(self) -> None:
        self.client = httpx.AsyncClient(timeout=5.0)

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def router(self) -> APIRouter:
        router = APIRouter()
        name = self.name

        @router.post(f"/webhooks/{name}")
        def webhook(payload: dict[str, Any], services: ServicesDep) -> dict[str, bool]:
            from bot.inbound import enqueue

            with services.session() as session:
                new = enqueue(session=session, channel=name, provider_id=str(payload["id"]),
                              address=str(payload["from"]), desk_address=payload.get("to"),
                              payload=payload, received_at=services.now())
            services.notify_inbound()
            return {"new": new}

        return router

    async def prepare(self, payload: dict[str, Any], *, last_try: bool = False) -> Prepared:
        self.prepared.append(payload)
        if payload.get("prepare") == "retry" and sum(p["id"] == payload["id"] for p in self.prepared) < 3:
            raise RetryLater("media server busy", retry_after=0.1)
        if payload.get("prepare") == "crash":
            raise RuntimeError("cannot parse this payload")
        return Prepared(text=str(payload.get("text", "")), display_name=payload.get("name"))

    async def send(self, message: Outgoing) -> str | None:
        assert self.client is not None
        body = {"message_id": message.message_id, "conversation_id": message.conversation_id,
                "to": message.address, "from": message.desk_address, "text": message.text,
                "template": message.template, "variables": message.template_variables,
                "options": [list(o) for o in message.options]}
        try:
            response = await self.client.post(self.provider.url + "/send", json=body)
        except httpx.HTTPError as exc:
            raise RetryLater(f"network: {type(exc).__name__}") from None
        if response.status_code == 200:
            return str(response.json()["sid"])
        if response.status_code == 429:
            raise RetryLater("429", retry_after=float(response.json()["retry_after"]))
        if response.status_code == 409:
            raise NeedsTemplate("63016")
        if response.status_code == 400:
            raise PermanentFailure("invalid number", code=response.json()["code"])
        raise RetryLater(f"HTTP {response.status_code}")


def make_conversation(engine: Any, *, channel: str, address: str, last_inbound_at: datetime | None = None,
                      desk_address: str | None = None) -> int:
    """A contact and conversation as the desk would have made them; returns the conversation id."""
    from bot.models import Contact, Conversation
    from bot.storage import session_scope

    with session_scope(engine) as session:
        contact = Contact(channel=channel, address=address)
        session.add(contact)
        session.flush()
        conversation = Conversation(contact_id=contact.id, channel=channel, address=address,  # type: ignore[arg-type]
                                    desk_address=desk_address,
                                    last_inbound_at=last_inbound_at or datetime.now(timezone.utc))
        session.add(conversation)
        session.flush()
        return int(conversation.id)  # type: ignore[arg-type]


def queue(engine: Any, conversation_id: int, *texts: str) -> list[int]:
    """Outbound messages queued through :func:`bot.outbox.queue_message`; returns their ids."""
    from bot.outbox import queue_message
    from bot.storage import session_scope

    with session_scope(engine) as session:
        return [int(queue_message(session=session, conversation_id=conversation_id, text=t).id)  # type: ignore[arg-type]
                for t in texts]


@contextmanager
def provider_server(provider: FakeProvider) -> Iterator[FakeProvider]:
    server = ServerThread(provider.app()).start()
    provider.url = server.url
    try:
        yield provider
    finally:
        server.stop()


@contextmanager
def running_app(settings: Settings, **kwargs: Any) -> Iterator[tuple[ServerThread, Any]]:
    """``create_app(settings, **kwargs)`` served on loopback; yields (server, services)."""
    app = create_app(settings, **kwargs)
    server = ServerThread(app).start()
    try:
        yield server, app.state.services
    finally:
        server.stop()
