"""Several real ``seguro-bot serve`` processes on one PostgreSQL database.

Students write on Telegram (webhooks with the secret header, to a fake Bot
API on loopback); their messages are spread over the workers, several
students at once, each student's next message sent once the previous one
was acknowledged. Every student must get exactly the replies a student
alone gets, in the same order, each sent once; which worker took a webhook
must not matter. The processes start together on an empty database, so
the schema lock is exercised too.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.models import Direction, EventStatus, InboundEvent, Message, MessageStatus
from bot.storage import make_engine, session_scope
from tests import dbs
from tests.conftest import seguro_bot
from tests.fakes import telegram as tg
from tests.fakes.server import free_port, serve
from tests.service_support import wait_healthy

pytestmark = pytest.mark.postgres_only("several serve processes need a database server")

SECRET = "multi-worker-secret-7d1e"
PUBLIC_BASE_URL = "https://bot.example.mx"
SCRIPT = ["hola", "q ocupo pa sacar el seguro", "sigo sin vigencia", "quiero hablar con una persona", "menú"]
STUDENTS = 6


def _env(url: str, api_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    env.pop("KNOWLEDGE_DIR", None)
    env.update({
        "DATABASE_URL": url,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TELEGRAM_BOT_TOKEN": tg.TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": api_url,
        "TELEGRAM_CHAT_SEND_RATE": "20",  # the per-chat pace is tested in test_sendrate; keep this quick
        "MEDIA_DIR": str(tmp_path / "media"),
        "LOG_LEVEL": "WARNING",
        "PYTHONIOENCODING": "utf-8",
    })
    return env


def _start(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*seguro_bot(), "serve", *args], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _post(port: int, text: str, chat_id: int) -> None:
    response = httpx.post(f"http://127.0.0.1:{port}/webhooks/telegram", json=tg.message_update(text, chat_id=chat_id),
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=15)
    assert response.status_code == 200, response.text


def _settled(engine: Any, timeout: float = 90) -> None:
    """Wait until every stored event is processed and every reply sent."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(engine) as session:
            open_events = session.exec(select(func.count()).select_from(InboundEvent).where(
                InboundEvent.status != EventStatus.DONE)).one()
            unsent = session.exec(select(func.count()).select_from(Message).where(
                Message.direction == Direction.OUT, Message.status != MessageStatus.SENT)).one()
        if open_events == 0 and unsent == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled: {open_events} events open, {unsent} replies unsent")
        time.sleep(0.2)


@pytest.fixture
def api() -> Iterator[tg.FakeTelegram]:
    fake = tg.FakeTelegram()
    with serve(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


def _converse(ports: list[int], api: tg.FakeTelegram, engine: Any) -> None:
    """A reference student alone, then STUDENTS at once over every port; all must match the reference."""
    reference_chat = 9_000_000
    for n, text in enumerate(SCRIPT):
        _post(ports[n % len(ports)], text, reference_chat)
        _settled(engine)
    reference = api.texts_to(reference_chat)
    assert len(reference) >= len(SCRIPT)

    chats = [9_100_000 + s for s in range(STUDENTS)]
    errors: list[BaseException] = []

    def student(index: int, chat: int) -> None:
        try:
            for n, text in enumerate(SCRIPT):
                _post(ports[(index + n) % len(ports)], text, chat)  # each message to another worker
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=student, args=(i, c)) for i, c in enumerate(chats)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    _settled(engine)

    for chat in chats:
        assert api.texts_to(chat) == reference, f"chat {chat} got other replies or another order"
    with session_scope(engine) as session:
        sent = list(session.exec(select(Message).where(Message.direction == Direction.OUT)))
    assert len(sent) == len(api.sent), "every stored reply was sent exactly once"
    provider_ids = [m.provider_id for m in sent]
    assert len(set(provider_ids)) == len(provider_ids)


def test_three_serve_processes_answer_every_student_once_and_in_order(tmp_path, api):
    url = dbs.database_url(tmp_path, "multi.db", empty=True)  # migrated by the processes as they start
    env = _env(url, api.url, tmp_path)  # type: ignore[attr-defined]
    ports = [free_port() for _ in range(3)]
    procs = [_start(["--port", str(port)], env, tmp_path) for port in ports]
    engine = make_engine(url)
    try:
        for port, proc in zip(ports, procs):
            wait_healthy(port, proc)
        _converse(ports, api, engine)
        _console_on_every_worker(ports, url)
    finally:
        _stop(procs)
        engine.dispose()


def _console_on_every_worker(ports: list[int], url: str) -> None:
    """A staff login made on one worker is valid on the others, which all show the same inbox."""
    import re

    from bot.cli_staff import add_staff

    add_staff(database_url=url, email="ana@itson.edu.mx", name="Ana López", role="admin",
              password="una-contraseña-larga")
    first = f"http://127.0.0.1:{ports[0]}"
    page = httpx.get(first + "/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    cookies = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    login = httpx.post(first + "/console/login", headers={"Cookie": cookies},
                       data={"email": "ana@itson.edu.mx", "password": "una-contraseña-larga", "csrf": token})
    assert login.status_code in (302, 303), login.text
    # The cookie is Secure (PUBLIC_BASE_URL is https): send it back by hand over loopback http.
    session_cookie = "; ".join(part.split(";", 1)[0] for part in login.headers.get_list("set-cookie"))
    signatures = set()
    for port in ports:
        inbox = httpx.get(f"http://127.0.0.1:{port}/console/api/inbox", headers={"Cookie": session_cookie})
        assert inbox.status_code == 200, (port, inbox.status_code)
        signatures.add(inbox.json()["signature"])
    assert len(signatures) == 1, "every worker shows the same inbox, read from the database"


def test_serve_with_two_uvicorn_workers(tmp_path, api):
    url = dbs.database_url(tmp_path, "workers.db", empty=True)
    env = _env(url, api.url, tmp_path)  # type: ignore[attr-defined]
    port = free_port()
    procs = [_start(["--port", str(port), "--workers", "2"], env, tmp_path)]
    engine = make_engine(url)
    try:
        wait_healthy(port, procs[0])
        _converse([port], api, engine)
    finally:
        _stop(procs)
        engine.dispose()
