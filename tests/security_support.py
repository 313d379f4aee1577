"""The app with every channel on, against the fake Twilio and Telegram, for the attack tests.

:class:`Exposed` serves ``create_app`` on loopback exactly as the internet
sees it (real HTTP, so chunked bodies and odd headers arrive as a client
sends them) and keeps the app, so a test can check that no request reached
the catch-all error handler (``app.state.unhandled_errors``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.web.app import create_app
from tests.fakes import telegram as tg
from tests.fakes.server import ServerThread
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, DESK_NUMBERS, PUBLIC_BASE_URL, FakeTwilio, sign
from tests.service_support import settings_for

TELEGRAM_SECRET = "tg-webhook-secret-9d8e7f"


@dataclass
class Exposed:
    app: Any
    url: str
    twilio: FakeTwilio
    telegram: tg.FakeTelegram
    client: httpx.Client

    @property
    def services(self) -> Any:
        return self.app.state.services

    @property
    def unhandled(self) -> int:
        return int(self.app.state.unhandled_errors)

    def signed_form(self, path: str, body: bytes | str, params: Any) -> httpx.Response:
        """POST a raw form body with the signature Twilio would compute over ``params``."""
        signature = sign(PUBLIC_BASE_URL + path, params)
        return self.client.post(path, content=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

    def telegram_update(self, update: Any, *, raw: bytes | None = None, secret: str = TELEGRAM_SECRET,
                        content_type: str = "application/json") -> httpx.Response:
        body = raw if raw is not None else json.dumps(update).encode()
        return self.client.post("/webhooks/telegram", content=body, headers={
            "Content-Type": content_type, "X-Telegram-Bot-Api-Secret-Token": secret})


@contextmanager
def exposed_app(tmp_path: Path, *, workers: bool = True, **overrides: Any) -> Iterator[Exposed]:
    """The whole service (web chat, WhatsApp, Telegram, console) on loopback, with fakes behind it."""
    twilio = FakeTwilio()
    telegram = tg.FakeTelegram()
    twilio_server = ServerThread(twilio.app).start()
    telegram_server = ServerThread(telegram.app).start()
    twilio.url = twilio_server.url
    settings = settings_for(
        tmp_path,
        public_base_url=PUBLIC_BASE_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_numbers_raw=",".join(DESK_NUMBERS),
        twilio_api_base_url=twilio_server.url,
        telegram_bot_token=tg.TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_base_url=telegram_server.url,
        **overrides,
    )
    app = create_app(settings, workers=workers)
    server = ServerThread(app).start()
    client = httpx.Client(base_url=server.url, timeout=30)
    try:
        yield Exposed(app=app, url=server.url, twilio=twilio, telegram=telegram, client=client)
    finally:
        client.close()
        server.stop()
        twilio_server.stop()
        telegram_server.stop()
