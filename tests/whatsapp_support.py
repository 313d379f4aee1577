"""Shared set-up of the WhatsApp tests: settings pointed at the fake Twilio, and a log watch.

The log watch records every log record of the test (all loggers, DEBUG and
up, tracebacks included) so a test can prove the auth token never reached
a log line.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from tests import dbs
from tests.fakes.server import ServerThread
from tests.fakes.twilio import ACCOUNT_SID, AUTH_TOKEN, DESK_NUMBERS, PUBLIC_BASE_URL, FakeTwilio

TEMPLATE_SID = "HX" + "b" * 32


def whatsapp_settings(api_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings as a deployment behind https://bot.example.mx would have them."""
    values: dict[str, Any] = {
        "database_url": dbs.database_url(tmp_path, 'wa.db'),
        "public_base_url": PUBLIC_BASE_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_whatsapp_numbers": ",".join(DESK_NUMBERS),
        "twilio_api_base_url": api_url,
        "twilio_template_content_sid": TEMPLATE_SID,
        "telegram_bot_token": None,
        "telegram_webhook_secret": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class LogWatch(logging.Handler):
    """Keeps every formatted record (message and traceback) seen while installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception as exc:  # a record that cannot be formatted is still evidence
            self.lines.append(f"unformattable {record.msg!r} {record.args!r}: {exc}")

    def containing(self, needle: str) -> list[str]:
        return [line for line in self.lines if needle in line]


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    """Records all logging of the test and fails it if the auth token appears anywhere."""
    watch = LogWatch()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        root.removeHandler(watch)
        root.setLevel(old_level)
    leaked = watch.containing(AUTH_TOKEN)
    assert not leaked, f"the auth token reached the logs: {leaked[:3]}"


@pytest.fixture
def fake_twilio(log_watch: LogWatch) -> Iterator[FakeTwilio]:
    """A fake Twilio on a loopback port; ``fake.url`` is its base address."""
    fake = FakeTwilio()
    server = ServerThread(fake.app).start()
    fake.url = server.url
    try:
        yield fake
    finally:
        server.stop()
