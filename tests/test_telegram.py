"""Telegram end to end: updates as Telegram sends them to our app, replies at a fake Bot API.

Our app (``create_app``) and the fake Bot API both run on loopback ports
(:mod:`tests.fakes.server`); the database is a real SQLite file. Nothing of
ours is mocked: the webhook stores, the inbound processor prepares and
handles, the outbox sends through python-telegram-bot.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlmodel import select

from bot.config import Settings
from bot.models import Contact, Conversation, Direction, EventStatus, InboundEvent, Message, MessageStatus, Ticket
from bot.storage import session_scope
from bot.web.app import create_app
from tests import dbs
from tests.conftest import ALL_DATA, rows, seguro_bot
from tests.fakes import telegram as tg
from tests.fakes.server import ServerThread, serve

SECRET = "webhook-secret-4f9a1c2e"
PUBLIC_BASE_URL = "https://bot.example.mx"
WEBHOOK = "/webhooks/telegram"


# --- fixtures ---------------------------------------------------------------------------


class LogWatch(logging.Handler):
    """Every log line of the test (all loggers, DEBUG up, tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    """Fails the test if the bot token (plain or percent-encoded) reached any log line."""
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
    secret_part = tg.TOKEN.split(":")[1]
    leaked = [line for line in watch.lines if secret_part in line or quote(tg.TOKEN) in line]
    assert not leaked, f"the bot token reached the logs: {leaked[:3]}"


@pytest.fixture
def api(log_watch: LogWatch) -> Iterator[tg.FakeTelegram]:
    fake = tg.FakeTelegram()
    with serve(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


def telegram_settings(api_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": dbs.database_url(tmp_path, 'tg.db'),
        "public_base_url": PUBLIC_BASE_URL,
        "telegram_bot_token": tg.TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": api_url,
        "media_dir": tmp_path / "media",
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "twilio_whatsapp_numbers": "",
        "outbox_retry_base_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Service:
    """Our app on a loopback port, its database and the fake Bot API it talks to."""

    server: ServerThread
    api: tg.FakeTelegram
    services: Any

    @property
    def engine(self) -> Any:
        return self.services.engine

    def post(self, update: Any, *, secret: str | None = SECRET, raw: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        content = raw if raw is not None else httpx.Request("POST", "/", json=update).content
        return httpx.post(self.server.url + WEBHOOK, content=content, headers=headers, timeout=10)

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until every stored update is processed and every reply is sent (or failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session_scope(self.engine) as session:
                events = session.exec(select(InboundEvent)).all()
                outbound = session.exec(select(Message).where(Message.direction == Direction.OUT)).all()
            if all(e.status in (EventStatus.DONE, EventStatus.FAILED) for e in events) and all(
                m.status not in (MessageStatus.PENDING, MessageStatus.SENDING) for m in outbound
            ):
                return
            time.sleep(0.05)
        raise AssertionError("the service did not settle")

    def outbound(self) -> list[Message]:
        return [m for m in rows(self.engine, Message) if m.direction == Direction.OUT]

    def say(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Deliver one update, wait for the replies; returns the messages the fake received meanwhile."""
        before = len(self.api.sent)
        assert self.post(update).status_code == 200
        self.settle()
        return self.api.sent[before:]


@pytest.fixture
def service(api: tg.FakeTelegram, tmp_path: Path, kb: Any) -> Iterator[Service]:
    app = create_app(telegram_settings(api.url, tmp_path), kb=kb)  # type: ignore[attr-defined]
    with serve(app) as server:
        yield Service(server=server, api=api, services=app.state.services)


# --- the webhook's guard ------------------------------------------------------------------


def test_missing_or_wrong_secret_is_403_and_nothing_is_stored(service: Service):
    update = tg.message_update("hola")
    assert service.post(update, secret=None).status_code == 403
    assert service.post(update, secret="not-the-secret").status_code == 403
    assert service.post(update, secret=SECRET + "x").status_code == 403
    assert service.post(update, secret="").status_code == 403
    time.sleep(0.3)
    assert rows(service.engine, InboundEvent) == []
    assert service.api.sent == []


def test_malformed_bodies_are_400(service: Service):
    assert service.post(None, raw=b"{not json").status_code == 400
    assert service.post(None, raw=b"[1, 2]").status_code == 400
    assert service.post({"message": {"text": "hola"}}).status_code == 400  # no update_id
    assert service.post({"update_id": "12", "message": {}}).status_code == 400
    assert rows(service.engine, InboundEvent) == []


def test_update_types_we_do_not_handle_are_acknowledged_and_not_processed(service: Service):
    group = tg.message_update("hola a todos")
    group["message"]["chat"] = {"id": -1001234567890, "title": "Generación 2026", "type": "supergroup"}
    channel_post = {"update_id": tg.next_update_id(),
                    "channel_post": {"message_id": 5, "date": 1700000000, "text": "aviso",
                                     "chat": {"id": -1009876, "title": "Avisos", "type": "channel"}}}
    for update in (tg.edited_message_update("hola (editado)"), tg.my_chat_member_update(), channel_post, group,
                   {"update_id": tg.next_update_id(), "some_future_update": {"x": 1}}):
        response = service.post(update)
        assert response.status_code == 200 and response.json() == {}
    time.sleep(0.3)
    assert rows(service.engine, InboundEvent) == []
    assert rows(service.engine, Conversation) == []
    assert service.api.sent == []


# --- processing -----------------------------------------------------------------------------


def test_a_retried_update_is_processed_once(service: Service):
    update = tg.message_update("hola")
    first = service.say(update)
    assert first, "the bot answered"
    for _ in range(3):  # Telegram retries when it did not see our 200 in time
        assert service.post(update).status_code == 200
    service.settle()
    time.sleep(0.5)
    assert service.api.sent == first
    assert len(rows(service.engine, InboundEvent)) == 1
    inbound = [m for m in rows(service.engine, Message) if m.direction == Direction.IN]
    assert [(m.provider_id, m.text) for m in inbound] == [(str(update["update_id"]), "hola")]
    assert [m.status for m in service.outbound()] == [MessageStatus.SENT] * len(first)
    assert [m.provider_id for m in service.outbound()] == [f'{s["chat_id"]}:{s["message_id"]}' for s in first]

    # Deliveries racing each other (Telegram retrying while the first is in flight) store one event.
    racing = tg.message_update("requisitos")
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: service.post(racing).status_code, range(6)))
    assert statuses == [200] * 6
    service.settle()
    assert len(rows(service.engine, InboundEvent)) == 2
    assert [m.text for m in rows(service.engine, Message) if m.direction == Direction.IN] == ["hola", "requisitos"]


def test_a_button_of_an_earlier_menu_pressed_later_is_read_by_its_label_not_as_a_date(service: Service):
    """Walk-through 9: "11" (Hablar con una persona) pressed on the first menu while the bot asked
    for the save date was read as "the 11th"."""
    greeting = service.say(tg.message_update("/start", first_name="Ana"))
    menu = next(m for m in greeting if m["reply_markup"])
    keyboard = menu["reply_markup"]["inline_keyboard"]
    person = next(row[0] for row in keyboard if row[0]["text"].endswith("Hablar con una persona"))
    service.say(tg.message_update("sigo sin vigencia"))
    assert (rows(service.engine, Conversation)[0].state or {}).get("stage") == "waiting_saved_date"
    after = service.say(tg.callback_update(person["callback_data"], menu_text=menu["text"], keyboard=keyboard))
    said = "\n".join(m["text"] for m in after)
    assert "Guardaste tu solicitud" not in said and "Si guardaste tu solicitud" not in said
    assert "persona de la mesa de ayuda" in said
    assert (rows(service.engine, Conversation)[0].state or {}).get("stage", "").startswith("escalation_")


def test_menus_are_inline_keyboards_and_a_button_press_continues_the_flow(service: Service):
    greeting = service.say(tg.message_update("/start", first_name="Ana"))
    menu = next(m for m in greeting if m["reply_markup"])
    buttons = [row[0] for row in menu["reply_markup"]["inline_keyboard"]]
    assert len(buttons) >= 3
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)
    assert buttons[0]["callback_data"] == "1" and buttons[0]["text"].startswith("1. ")
    assert "\n1. " in menu["text"]  # the numbered list stays for whoever types the number
    assert menu["parse_mode"] == "HTML"

    press = tg.callback_update(buttons[0]["callback_data"], query_id="cbq-777", menu_text=menu["text"])
    after = service.say(press)
    assert [a["callback_query_id"] for a in service.api.answered] == ["cbq-777"]
    assert after and after[0]["text"] != menu["text"]
    conversation = rows(service.engine, Conversation)[0]
    assert conversation.address == str(tg.CHAT_ID)
    assert (conversation.state or {}).get("stage") == "prereq_coverage"  # option 1: the guided procedure
    assert "*" not in after[0]["text"] and "sí" in after[0]["text"]  # *sí* shown bold, not with asterisks
    inbound = [m.text for m in rows(service.engine, Message) if m.direction == Direction.IN]
    assert inbound == ["/start", "1"]


def test_a_photo_is_attached_to_the_conversation_and_to_the_ticket(service: Service, tmp_path: Path):
    service.api.add_file("AgACAgEAAxkBAAIB-screenshot", tg.PNG_BYTES, file_path="photos/file_42.png")
    service.say(tg.photo_update("AgACAgEAAxkBAAIB-screenshot", size=len(tg.PNG_BYTES)))
    assert service.api.file_downloads == ["photos/file_42.png"]
    inbound = [m for m in rows(service.engine, Message) if m.direction == Direction.IN]
    assert [a["content_type"] for a in inbound[0].attachments] == ["image/png"]
    ref = inbound[0].attachments[0]["ref"]
    assert (tmp_path / "media" / ref).read_bytes() == tg.PNG_BYTES

    for text in (ALL_DATA, "sí", "sí", ALL_DATA, "sí"):
        if rows(service.engine, Ticket):
            break
        service.say(tg.message_update(text))
    tickets = rows(service.engine, Ticket)
    assert [t.reason for t in tickets] == ["error_solicitud"]
    assert [a["ref"] for a in tickets[0].attachments] == [ref]
    contact_names = {c.display_name for c in rows(service.engine, Contact)}
    assert contact_names == {"Ana"}


def test_429_retry_after_is_honoured_and_the_reply_delivered_once(service: Service):
    service.api.rate_limit(1, retry_after=2)
    replies = service.say(tg.message_update("hola"))
    calls = [(t, ok) for t, name, ok in service.api.call_log if name == "sendMessage"]
    assert [ok for _, ok in calls][:2] == [False, True]
    assert calls[1][0] - calls[0][0] >= 1.9  # waited Telegram's retry_after
    texts = [r["text"] for r in replies]
    assert len(texts) == len(set(texts)) == len(service.outbound())
    assert all(m.status == MessageStatus.SENT for m in service.outbound())


def test_a_blocked_bot_fails_the_reply_for_good(service: Service):
    service.api.blocked_chats.add("4242")
    assert service.post(tg.message_update("hola", chat_id=4242)).status_code == 200
    service.settle()
    assert service.api.sent == []
    assert {(m.status, m.error_code) for m in service.outbound()} == {(MessageStatus.FAILED, "403")}


# --- commands ---------------------------------------------------------------------------------


def _env(api_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    env.update({
        "DATABASE_URL": dbs.database_url(tmp_path, 'cli.db'),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TELEGRAM_BOT_TOKEN": tg.TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": api_url,
        "MEDIA_DIR": str(tmp_path / "media"),
        "PYTHONIOENCODING": "utf-8",
    })
    env.update(extra)
    return env


def test_set_webhook_registers_url_secret_and_update_types(api: tg.FakeTelegram, tmp_path: Path):
    proc = subprocess.run([*seguro_bot(), "telegram", "set-webhook"], capture_output=True, text=True,
                          env=_env(api.url, tmp_path), cwd=tmp_path, timeout=60)  # type: ignore[attr-defined]
    assert proc.returncode == 0, proc.stderr
    assert api.webhooks == [{"url": PUBLIC_BASE_URL + WEBHOOK, "secret_token": SECRET,
                             "allowed_updates": ["message", "callback_query"]}]
    assert PUBLIC_BASE_URL + WEBHOOK in proc.stdout
    output = proc.stdout + proc.stderr
    assert SECRET not in output and tg.TOKEN.split(":")[1] not in output

    proc = subprocess.run([*seguro_bot(), "telegram", "delete-webhook"], capture_output=True, text=True,
                          env=_env(api.url, tmp_path), cwd=tmp_path, timeout=60)  # type: ignore[attr-defined]
    assert proc.returncode == 0, proc.stderr
    assert len(api.deleted_webhooks) == 1 and api.webhook_url == ""


def test_set_webhook_with_a_rejected_token_fails_without_showing_it(api: tg.FakeTelegram, tmp_path: Path):
    wrong = "111:RejectedRejectedRejectedRejected"
    proc = subprocess.run([*seguro_bot(), "telegram", "set-webhook"], capture_output=True, text=True,
                          env=_env(api.url, tmp_path, TELEGRAM_BOT_TOKEN=wrong),  # type: ignore[attr-defined]
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "setWebhook failed" in proc.stderr
    assert "Rejected" not in proc.stdout + proc.stderr
    assert api.webhooks == []


def test_poll_deletes_the_webhook_and_answers_a_pushed_update(api: tg.FakeTelegram, tmp_path: Path):
    api.webhook_url = PUBLIC_BASE_URL + WEBHOOK  # as left by a deployment: getUpdates answers 409 meanwhile
    api.add_file("poll-photo", tg.JPEG_BYTES, file_path="photos/file_7.jpg")
    update = tg.message_update("hola")
    api.push_update(update)
    env = _env(api.url, tmp_path)  # type: ignore[attr-defined]
    del env["TELEGRAM_WEBHOOK_SECRET"]  # a developer without a public address needs none
    proc = subprocess.Popen([*seguro_bot(), "telegram", "poll"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=tmp_path)
    try:
        assert api.wait_for(lambda f: f.sent, timeout=30), "no reply by polling"
        api.push_update(tg.photo_update("poll-photo", size=len(tg.JPEG_BYTES)))
        assert api.wait_for(lambda f: f.file_downloads and len(f.sent) >= 2, timeout=30)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "webhook deleted" in err and "polling stopped" in err
    assert api.deleted_webhooks and api.pending_updates() == []  # the offset confirmed both updates
    assert tg.TOKEN.split(":")[1] not in out + err
    assert any("hola" in s["text"].lower() for s in api.sent)
    from bot.storage import make_engine

    engine = make_engine(dbs.database_url(tmp_path, 'cli.db'))
    try:
        events = rows(engine, InboundEvent)
        assert [e.provider_id for e in events][0] == str(update["update_id"])
        assert {e.status for e in events} == {EventStatus.DONE}
        assert (tmp_path / "media").is_dir() and any((tmp_path / "media").iterdir())
    finally:
        engine.dispose()


# --- staff replies ------------------------------------------------------------------------------


@pytest.fixture
def plain_http_service(api: tg.FakeTelegram, tmp_path: Path, kb: Any) -> Iterator[Service]:
    """As ``service``, but published on plain http, so the console's Secure-less cookies work on loopback."""
    app = create_app(telegram_settings(api.url, tmp_path, public_base_url="http://127.0.0.1"), kb=kb)  # type: ignore[attr-defined]
    with serve(app) as server:
        yield Service(server=server, api=api, services=app.state.services)


def test_a_staff_reply_from_the_console_reaches_the_student_on_telegram(plain_http_service: Service):
    """The student escalates on Telegram; Ana takes the chat in the console and answers; Telegram gets it."""
    from bot.cli_staff import add_staff
    from bot.models import Author
    from tests.conftest import ESCALATION_TURNS
    from tests.e2e.helpers import browser

    service = plain_http_service

    for text in ESCALATION_TURNS:
        service.say(tg.message_update(text))
        if rows(service.engine, Ticket):
            break
    [ticket] = rows(service.engine, Ticket)
    add_staff(database_url=service.services.settings.database_url, email="ana@itson.edu.mx", name="Ana López",
              role="agent", password="una-contraseña-larga")

    with browser(service.server) as ana:
        assert ana.login("ana@itson.edu.mx", "una-contraseña-larga").status_code == 303
        before = len(service.api.sent)
        assert ana.post(f"/console/tickets/{ticket.id}/take").status_code == 303
        assert service.api.wait_for(lambda api: any("Ana" in t for t in api.texts_to(tg.CHAT_ID)[before:]))

        answer = "Hola, soy Ana <mesa de ayuda>. Sí puedes tramitarlo desde el extranjero & te explico cómo."
        before = len(service.api.sent)
        assert ana.post(f"/console/tickets/{ticket.id}/reply", text=answer).status_code == 303
        assert service.api.wait_for(lambda api: answer in api.texts_to(tg.CHAT_ID)[before:])
        [sent] = [m for m in service.api.sent[before:] if m["text"] == answer]
        assert sent["chat_id"] == str(tg.CHAT_ID), "to the student's own chat"
        service.settle()
        [stored] = [m for m in service.outbound() if m.author == Author.STAFF]
        assert stored.text == answer and stored.channel == "telegram" and stored.status == "sent"
        assert stored.provider_id and str(sent["message_id"]) in stored.provider_id

        # the student's answer reaches the console, and the bot stays quiet while Ana holds the chat
        # (outside office hours the student is told once when a person will answer: bot.desk)
        from flows.context import office_hours_for

        sent = [m["text"] for m in service.say(tg.message_update("Gracias, espero los pasos"))]
        closed = not office_hours_for(service.services.kb).is_open(service.services.now())
        assert len(sent) == int(closed) and all(t.startswith("🕗 Ahorita estamos fuera de horario") for t in sent)
        assert "espero los pasos" in ana.client.get(f"/console/api/tickets/{ticket.id}").json()["html"]
