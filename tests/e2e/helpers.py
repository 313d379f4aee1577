"""Building the real app with the console on a loopback port, staff accounts and escalated students.

Shared by the console's HTTP tests and the browser tests. The app is the
service's own ``create_app``; the console router is included here only
while the app does not mount it yet.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI

from bot.config import Settings
from bot.console import console_router
from bot.desk import Handled, handle_message
from flows.messages import Attachment, Incoming
from tests import dbs
from tests.conftest import ESCALATION_TURNS
from tests.fakes.server import ServerThread

TZ = ZoneInfo("America/Hermosillo")
PASSWORD = "una-contraseña-larga"


class Clock:
    """A movable clock for the app (session expiry, the 24-hour window)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(TZ) + self.offset


def build_app(tmp_path: Path, *, public_base_url: str = "http://127.0.0.1:8000", clock: Clock | None = None,
              kb: Any = None, **settings_overrides: Any) -> FastAPI:
    from bot.web.app import create_app

    settings = Settings(database_url=dbs.database_url(tmp_path, 'console.db'), media_dir=tmp_path / "media",
                        public_base_url=public_base_url, _env_file=None, **settings_overrides)  # type: ignore[call-arg]
    app = create_app(settings, kb=kb, channels={}, clock=clock, workers=False)
    if not any(getattr(r, "path", "").startswith("/console") for r in all_routes(app.routes)):
        app.include_router(console_router())
    return app


def all_routes(routes: Any) -> Iterator[Any]:
    """Every route, also inside included routers (FastAPI >= 0.16x keeps them nested in ``app.routes``)."""
    for route in routes:
        nested = getattr(route, "effective_candidates", None)
        if callable(nested):
            yield from all_routes(nested())
        else:
            yield route


def add_staff(app: FastAPI, email: str, name: str, role: str = "agent", password: str = PASSWORD) -> int:
    from bot.cli_staff import add_staff as cli_add

    return cli_add(database_url=app.state.services.settings.database_url, email=email, name=name, role=role,
                   password=password)


def student_says(app: FastAPI, text: str, *, address: str = "+5216440000001", channel: str = "whatsapp",
                 at: datetime | None = None, attachments: tuple[Attachment, ...] = ()) -> Handled:
    services = app.state.services
    with services.session() as session:
        return handle_message(session=session, kb=services.kb, channel=channel, address=address, provider_id=None,
                              message=Incoming(text=text, at=at or services.now(), channel=channel,
                                               attachments=attachments))


def escalate(app: FastAPI, *, address: str = "+5216440000001", channel: str = "whatsapp",
             at: datetime | None = None) -> int:
    """Talk as a student until the bot opens a ticket; its id."""
    for text in ESCALATION_TURNS:
        handled = student_says(app, text, address=address, channel=channel, at=at)
        if handled.ticket is not None:
            return int(handled.ticket.id)  # type: ignore[arg-type]
    raise AssertionError("the escalation opened no ticket")


@dataclass
class Browser:
    """An HTTP client with its own cookies: one staff member's browser."""

    client: httpx.Client
    csrf: str = ""

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = self.client.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = self.client.post("/console/login", data={"email": email, "password": password, "csrf": token,
                                                            "next": "/console/inbox"})
        if response.status_code == 303:
            self.refresh_csrf()
        return response

    def refresh_csrf(self) -> None:
        inbox = self.client.get("/console/inbox")
        found = re.search(r'data-csrf="([^"]+)"', inbox.text)
        self.csrf = found.group(1) if found else ""

    def post(self, path: str, **data: str) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf, **data})


@contextmanager
def running(app: FastAPI) -> Iterator[ServerThread]:
    server = ServerThread(app).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def browser(server: ServerThread) -> Iterator[Browser]:
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=10) as client:
        yield Browser(client)


@contextmanager
def logged() -> Iterator[list[str]]:
    """Every line any logger handles meanwhile (uvicorn's too), as logged, before any masking, with
    the root logger at DEBUG: for asserting that a value was never logged at all."""
    lines: list[str] = []
    original = logging.Logger.handle
    root = logging.getLogger()
    level = root.level

    def handle(logger: logging.Logger, record: logging.LogRecord) -> None:
        original(logger, record)
        try:
            lines.append(f"{record.name}: {record.getMessage()} {record.exc_text or ''}")
        except Exception:
            lines.append(f"{record.name}: {record.msg!r} {record.args!r}")

    logging.Logger.handle = handle  # type: ignore[method-assign]
    root.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logging.Logger.handle = original  # type: ignore[method-assign]
        root.setLevel(level)
