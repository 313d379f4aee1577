"""bot.web.app: the service starts with no configuration, reports its health, stops cleanly."""
from __future__ import annotations

import os
import subprocess
import time

import httpx

from bot.channels import build_channels
from bot.media import MediaStore
from bot.storage import make_engine
from bot.web.app import create_app
from tests.conftest import seguro_bot
from tests.fakes.server import free_port
from tests.service_support import running_app, settings_for


def test_starts_with_no_configuration_and_answers_healthz(tmp_path):
    settings = settings_for(tmp_path)
    with running_app(settings) as (server, services):
        response = httpx.get(server.url + "/healthz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "database": "ok",
            "channels": {"webchat": "on", "whatsapp": "off", "telegram": "off"},
            "warnings": [],
        }
        assert services.inbound is not None and services.inbound.running
        assert services.outbox is not None and services.outbox.running
        # the web chat page and its static files are served, with a CSP that forbids inline script
        page = httpx.get(server.url + "/chat")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text and 'name="viewport"' in page.text and 'lang="es"' in page.text
        for name in ("chat.js", "chat.css", "embed.js"):
            assert httpx.get(f"{server.url}/static/{name}").status_code == 200
        assert httpx.get(server.url + "/", follow_redirects=False).headers["location"] == "/chat"
        # load balancers and uptime monitors that ask HEAD get the same answer, without a body
        for path in ("/healthz", "/chat", "/console/login"):
            head = httpx.head(server.url + path)
            assert head.status_code == 200 and head.content == b"", path
    # stopped cleanly: the workers are gone
    assert services.inbound is None and services.outbox is None


def test_healthz_is_503_and_the_log_short_when_the_database_is_unreachable(tmp_path, caplog):
    """A restart of the database used to log a whole traceback at every try of each worker (thousands of lines)."""
    settings = settings_for(tmp_path)
    with caplog.at_level("INFO", logger="bot.workers"), running_app(settings) as (server, services):

        def said(text: str) -> list:
            return [r for r in caplog.records if r.name == "bot.workers" and text in r.getMessage()]

        good = services.engine
        services.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")  # nothing listens on port 1
        try:
            response = httpx.get(server.url + "/healthz")
            deadline = time.monotonic() + 20
            while len(said("claiming work failed again (2 times in a row")) < 2:  # both workers, two tries each
                assert time.monotonic() < deadline, caplog.text
                time.sleep(0.05)
        finally:
            services.engine.dispose()
            services.engine = good
        assert response.status_code == 503
        assert response.json()["database"] == "unreachable"
        assert httpx.get(server.url + "/healthz").status_code == 200
        while len(said("claiming work again")) < 2:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.05)
    for worker in ("inbound", "outbox"):
        failed = said(f"{worker}: claiming work failed")
        [first] = [r for r in failed if r.exc_info]
        assert first.getMessage() == f"{worker}: claiming work failed; trying again shortly" and first is failed[0]
        again = failed[1:]
        assert again and all(not r.exc_info for r in again)
        assert "2 times in a row" in again[0].getMessage() and "OperationalError" in again[0].getMessage()
        [back] = said(f"{worker}: claiming work again")
        assert f"after {len(failed)} failed tries" in back.getMessage()


def test_channels_need_their_settings(tmp_path, caplog):
    media = MediaStore(tmp_path / "media")
    assert set(build_channels(settings_for(tmp_path), media)) == {"webchat"}
    # half a configuration is no configuration
    half = settings_for(tmp_path, twilio_account_sid="AC123", twilio_auth_token="secret-token-value")
    assert "whatsapp" not in build_channels(half, media)
    assert "secret-token-value" not in caplog.text


def test_a_half_configured_channel_is_a_warning_naming_what_is_missing(tmp_path, caplog):
    """Credentials without the numbers (or a token without its secret) are a mistake, not a choice: say which."""
    half = settings_for(tmp_path, twilio_account_sid="AC" + "0" * 32, twilio_auth_token="secret-token-value",
                        telegram_bot_token="123:secret-bot-token")
    with caplog.at_level("INFO"), running_app(half) as (server, services):
        body = httpx.get(server.url + "/healthz").json()
    assert body["channels"] == {"webchat": "on", "whatsapp": "off", "telegram": "off"}
    assert body["warnings"] == [
        "whatsapp is OFF: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set but TWILIO_WHATSAPP_NUMBERS is not; "
        "set it too, or unset the rest",
        "telegram is OFF: TELEGRAM_BOT_TOKEN is set but TELEGRAM_WEBHOOK_SECRET is not; set it too, or unset the rest",
    ]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == body["warnings"]
    # not also the line said when nothing is set
    assert "OFF: set" not in caplog.text
    assert "secret-token-value" not in caplog.text and "secret-bot-token" not in caplog.text


class _Broken:
    name = "broken"

    def router(self):
        from fastapi import APIRouter

        return APIRouter()

    async def start(self) -> None:
        raise ConnectionError("provider unreachable at start-up")

    async def stop(self) -> None:  # pragma: no cover - never started
        raise AssertionError("a channel that failed to start is not stopped")

    async def prepare(self, payload):  # pragma: no cover
        raise NotImplementedError

    async def send(self, message):  # pragma: no cover
        raise NotImplementedError


def test_a_channel_that_fails_to_start_is_off_and_the_rest_works(tmp_path):
    with running_app(settings_for(tmp_path), channels={"broken": _Broken()}) as (server, services):
        body = httpx.get(server.url + "/healthz").json()
        assert body["channels"]["broken"] == "error"
        assert body["channels"]["webchat"] == "on"
        assert "broken" not in services.channels


def test_create_app_builds_no_module_level_state(tmp_path):
    a = create_app(settings_for(tmp_path / "a"))
    b = create_app(settings_for(tmp_path / "b"))
    assert a.state.services is not b.state.services
    assert a.state.services.engine.url != b.state.services.engine.url


def test_seguro_bot_serve_starts_with_no_configuration(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    env.pop("DATABASE_URL", None)
    env.pop("KNOWLEDGE_DIR", None)
    proc = subprocess.Popen(
        [*seguro_bot(), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {proc.communicate(timeout=5)}") from None
                time.sleep(0.2)
        assert response.json()["channels"]["webchat"] == "on"
        chat = httpx.post(f"http://127.0.0.1:{port}/chat/api/messages",
                          json={"session": "s" * 32, "text": "hola"}, timeout=20)
        assert chat.status_code == 200 and chat.json()["messages"]
        # a session id in the URL is refused, and the access log never shows it
        leaked = httpx.get(f"http://127.0.0.1:{port}/chat/api/messages",
                           params={"after": 0, "session": "s" * 32}, timeout=5)
        assert leaked.status_code == 400 and "X-Chat-Session" in leaked.json()["detail"]
        # ... on a POST and on the page too
        posted = httpx.post(f"http://127.0.0.1:{port}/chat/api/messages", params={"session": "s" * 32},
                            json={"session": "s" * 32, "text": "hola"}, timeout=20)
        assert posted.status_code == 400 and "X-Chat-Session" in posted.json()["detail"]
        page = httpx.get(f"http://127.0.0.1:{port}/chat", params={"embed": 1, "session": "s" * 32}, timeout=5)
        assert page.status_code == 400
        mismatch = httpx.post(f"http://127.0.0.1:{port}/chat/api/messages", headers={"X-Chat-Session": "t" * 32},
                              json={"session": "s" * 32, "text": "hola"}, timeout=20)
        assert mismatch.status_code == 400
        polled = httpx.get(f"http://127.0.0.1:{port}/chat/api/messages", headers={"X-Chat-Session": "s" * 32})
        assert polled.status_code == 200 and polled.json()["messages"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert (tmp_path / "seguro-bot.db").exists(), "the default database is ./seguro-bot.db"
    assert "channels ON [webchat]" in err and "OFF [telegram, whatsapp]" in err
    # the start-up log is short: no alembic chatter, one line about the new database, both addresses
    assert "alembic" not in err, err
    assert "schema created by the migrations" in err
    assert "web chat at /chat, staff console at /console" in err
    assert "WARNING" not in err, "no warning without WhatsApp"
    assert "s" * 32 not in err, "the session id reached the log"
    assert '"GET /chat/api/messages?after=0&session=*** HTTP/1.1" 400' in err, err
    assert '"POST /chat/api/messages?session=*** HTTP/1.1" 400' in err, err
    assert '"GET /chat?embed=1&session=*** HTTP/1.1" 400' in err, err


def test_whatsapp_without_a_template_warns_at_start_up_and_in_healthz(tmp_path, caplog):
    """Reminders and late staff replies would fail for good (no_template): say so before they do."""
    from tests.fakes.twilio import FakeTwilio
    from tests.fakes.server import serve
    from tests.whatsapp_support import whatsapp_settings

    fake = FakeTwilio()
    with serve(fake.app) as twilio:
        settings = whatsapp_settings(twilio.url, tmp_path, twilio_template_content_sid=None)
        with caplog.at_level("INFO"), running_app(settings) as (server, services):
            body = httpx.get(server.url + "/healthz").json()
        assert body["status"] == "ok" and body["database"] == "ok" and body["channels"]["whatsapp"] == "on"
        [warning] = body["warnings"]
        assert "TWILIO_TEMPLATE_CONTENT_SID" in warning and "no_template" in warning and "step 5" in warning
        [record] = [r for r in caplog.records if r.levelname == "WARNING" and "TEMPLATE" in r.getMessage()]
        assert record.getMessage() == warning

        caplog.clear()
        (tmp_path / "ok").mkdir()
        settings = whatsapp_settings(twilio.url, tmp_path / "ok", twilio_template_content_sid="HX" + "1" * 32)
        with caplog.at_level("INFO"), running_app(settings) as (server, services):
            assert httpx.get(server.url + "/healthz").json()["warnings"] == []
        assert not [r for r in caplog.records if "TWILIO_TEMPLATE_CONTENT_SID" in r.getMessage()]


def test_a_worker_leaves_its_start_up_objects_out_of_the_collectors_walks(tmp_path):
    """bot/heap.py: each full collection walked the knowledge base and the app again (40-120 ms,
    one in the middle of a burst). A worker built by the factory (what `serve --workers N` runs)
    has its matcher built and its start-up objects frozen, so collections only walk what came after."""
    import sys

    script = (
        "import gc, json\n"
        "from bot.web.factory import create_app_from_env\n"
        "from bot.web.app import create_app\n"
        "from bot.config import Settings\n"
        "plain = create_app(Settings())\n"
        "walked_plain = len(gc.get_objects())\n"
        "app = create_app_from_env()\n"
        "print(json.dumps({'plain': walked_plain, 'after': len(gc.get_objects()), 'frozen': gc.get_freeze_count(),\n"
        "                  'matcher': 'matcher' in app.state.services.kb.__dict__}))\n"
    )
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'heap.db'}", "LOG_LEVEL": "WARNING"}
    for key in [k for k in env if k.startswith(("TWILIO_", "TELEGRAM_"))]:
        del env[key]
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    import json

    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["matcher"]
    assert seen["plain"] > 50_000 and seen["frozen"] > seen["plain"]
    assert seen["after"] < seen["plain"] // 10, seen


def test_the_service_checkpoints_its_sqlite_file_in_the_background(tmp_path):
    """The service's engine leaves the WAL to a task of its own (bot.web.services): what students
    wrote reaches the database file within a few seconds, with no commit paying for the copy."""
    from datetime import datetime, timezone

    from bot.inbound import Arrival, enqueue_many
    from bot.storage import connection_scope

    from pathlib import Path

    settings = settings_for(tmp_path, database_url=f"sqlite:///{tmp_path / 'wal.db'}")  # SQLite's own behaviour
    with running_app(settings, workers=False) as (server, services):
        db = Path(services.engine.url.database)
        time.sleep(1.5)
        before = db.stat().st_size
        now = datetime.now(timezone.utc)
        for group in range(40):
            arrivals = [Arrival("webchat", f"m{group}-{i}", f"s{group}-{i}", None, {"text": "hola " * 200}, now)
                        for i in range(50)]
            with connection_scope(services.engine) as conn:
                enqueue_many(conn, arrivals)
        deadline = time.monotonic() + 10
        while db.stat().st_size <= before:
            assert time.monotonic() < deadline, "the WAL was never copied into the database file"
            time.sleep(0.1)
