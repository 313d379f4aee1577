"""Personal data and secrets never reach a log line or an error report; nothing personal in URLs.

Also checks the log audit itself (``tests/log_audit.py``): that it knows the
tests' secrets and would find one, so its green line at the end of a run
means something.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.logging import PersonalDataFilter
from tests.conftest import VALID_CURP, VALID_NSS, VALID_STUDENT_ID
from tests.fakes import telegram, twilio
from tests.log_audit import _Recorder, known_secrets, scan
from tests.service_support import settings_for, wait_healthy

PHONE = "+52 1 644 123 4567"
PASSWORD_TEXT = "mi contraseña es Tigre.Azul#2024"


def production_line(message: str, *args: object, exc: BaseException | None = None,
                    secrets: tuple[str, ...] = ()) -> str:
    """What the service's handler (bot.logging.install) writes for one record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter(secrets))
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.privacy_logs.production")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error(message, *args, exc_info=(type(exc), exc, exc.__traceback__) if exc else None)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


@pytest.mark.parametrize("value", [VALID_NSS, "12 34 56 7890 3", VALID_CURP, VALID_CURP.lower(), VALID_STUDENT_ID,
                                   PHONE, "Tigre.Azul#2024"])
def test_every_kind_of_personal_data_is_masked_in_messages_args_and_tracebacks(value: str) -> None:
    text = PASSWORD_TEXT if value == "Tigre.Azul#2024" else f"datos: {value}"
    try:
        raise ValueError(f"could not parse {text}")
    except ValueError as exc:
        line = production_line("student wrote %s", text, exc=exc)
    assert value not in line and value.replace(" ", "") not in line.replace(" ", "")
    assert "could not parse" in line and "Traceback" in line


def test_configured_tokens_are_masked_even_percent_encoded() -> None:
    token = telegram.TOKEN
    line = production_line("GET https://api.telegram.org/file/bot%s/photos/1.jpg and %s",
                           token.replace(":", "%3A"), twilio.AUTH_TOKEN, secrets=(token, twilio.AUTH_TOKEN))
    assert token.split(":")[1] not in line and twilio.AUTH_TOKEN not in line


def test_the_catch_all_error_report_is_masked_by_the_service_handler(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from bot.logging import install
    from bot.web.app import create_app

    stream = io.StringIO()
    handler = install("INFO")
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        app = create_app(settings_for(tmp_path), workers=False)

        def boom() -> None:
            raise RuntimeError(f"failed for NSS {VALID_NSS} and CURP {VALID_CURP}")

        app.add_api_route("/boom", boom)
        # Once answered and logged, the error is not raised again to the server (TestClient would
        # raise it here), which logged it a second time ("Exception in ASGI application").
        with TestClient(app) as client:
            response = client.get("/boom")
        assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    finally:
        logging.getLogger().removeHandler(handler)
    written = stream.getvalue()
    assert "unhandled RuntimeError on GET /boom" in written and written.count("Traceback") == 1
    assert VALID_NSS not in written and VALID_CURP not in written


def all_routes(routes: Any) -> Iterator[Any]:
    """Every route, also inside included routers (recent FastAPI keeps them nested)."""
    for route in routes:
        nested = getattr(route, "effective_candidates", None)
        if callable(nested):
            yield from all_routes(nested())
        else:
            yield route


def test_no_url_carries_personal_data(tmp_path: Path) -> None:
    """Console URLs name tickets and files by id or content hash; the web chat's session goes in a header."""
    from bot.web.app import create_app

    app = create_app(settings_for(tmp_path), workers=False)
    allowed = {"ticket_id", "action", "ref", "name", "rest", "path"}
    routes = list(all_routes(app.routes))
    assert len(routes) > 20
    for route in routes:
        for param in getattr(route, "param_convertors", {}):
            assert param in allowed, (getattr(route, "path", route), param)
    chat = (Path(__file__).parents[1] / "bot" / "web" / "static" / "chat.js").read_text()
    assert "X-Chat-Session" in chat and "?session=" not in chat
    api = [r for r in routes if getattr(r, "path", None) == "/chat/api/messages"]
    assert {m for r in api for m in r.methods} == {"GET", "POST"}


def test_the_log_audit_knows_the_tests_secrets_and_finds_them(tmp_path: Path) -> None:
    secrets = known_secrets()
    for value in (VALID_NSS, VALID_CURP, twilio.AUTH_TOKEN, telegram.TOKEN.split(":")[1], "una-contraseña-larga",
                  "Tigre.Azul#2024"):
        assert value in secrets, value
    log = tmp_path / "run.log"
    log.write_text("fine line\nleak " + twilio.AUTH_TOKEN + "\nanother " + VALID_CURP + "\n", encoding="utf-8")
    kinds = {kind for kind, _, _ in scan(log, secrets)}
    assert {"Twilio auth token", "CURP"} <= kinds
    for _, masked, _ in scan(log, secrets):
        assert twilio.AUTH_TOKEN not in masked and VALID_CURP not in masked


def test_the_recorder_writes_what_production_would(tmp_path: Path) -> None:
    recorder = _Recorder(tmp_path / "rec.log")
    record = logging.LogRecord("bot.test", logging.INFO, __file__, 1, "nss %s", (VALID_NSS,), None)
    recorder.write(record)
    recorder.stream.close()
    text = (tmp_path / "rec.log").read_text()
    assert "nss 12*********" in text and VALID_NSS not in text
    assert record.getMessage() == f"nss {VALID_NSS}", "the record itself is left alone for other handlers"


def test_the_console_search_is_posted_never_put_in_a_url(tmp_path: Path) -> None:
    import re

    import httpx

    from bot.cli_staff import add_staff
    from tests.conftest import ESCALATION_TURNS
    from tests.service_support import running_app

    with running_app(settings_for(tmp_path)) as (server, services):
        add_staff(database_url=services.settings.database_url, email="ana@itson.edu.mx", name="Ana Ruiz",
                  role="agent", password="una-contraseña-larga")
        from bot.desk import handle_message
        from flows.messages import Incoming

        for text in ESCALATION_TURNS:
            with services.session() as session:
                handle_message(session=session, kb=services.kb, channel="whatsapp", address="whatsapp:+5216440000009",
                               provider_id=None, message=Incoming(text=text, at=services.now(), channel="whatsapp"))
        with httpx.Client(base_url=server.url) as browser:
            token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/console/login").text).group(1)  # type: ignore[union-attr]
            assert browser.post("/console/login", data={"email": "ana@itson.edu.mx", "csrf": token,
                                                        "password": "una-contraseña-larga"}).status_code == 303
            inbox = browser.get("/console/inbox")
            form = re.search(r'<form method="(\w+)"[^>]*id="filters">\s*<input type="hidden" name="csrf" value="([^"]+)"',
                             inbox.text)
            assert form and form.group(1) == "post", "the filter form must not put the search in the URL"
            csrf = form.group(2)
            found = browser.post("/console/inbox", data={"csrf": csrf, "q": VALID_NSS, "status": "all"})
            assert found.status_code == 200 and "/console/tickets/1" in found.text
            assert VALID_NSS not in str(found.url)
            polled = browser.post("/console/api/inbox", data={"csrf": csrf, "q": VALID_CURP, "status": "all"})
            assert polled.status_code == 200 and "/tickets/1" in polled.json()["html"]
            nothing = browser.post("/console/api/inbox", data={"csrf": csrf, "q": "ZZZZ999", "status": "all"})
            assert "/tickets/1" not in nothing.json()["html"]
            assert browser.post("/console/api/inbox", data={"q": VALID_NSS}).status_code == 403  # no CSRF token
        js = (Path(__file__).parents[1] / "bot" / "console" / "static" / "console.js").read_text()
        assert 'method: "POST"' in js and "new FormData(filterForm)" in js


INNER_TEST = '''
import subprocess, sys

from tests.log_audit import keep_output

CHILD = {
    # production's logging, a CURP and an NSS in a record and in a traceback: masked, nothing leaks
    "masked": "from bot.logging import install; import logging; install(); log = logging.getLogger('bot.x');"
              "log.warning('CURP %s NSS %s', CURP, NSS)\\n"
              "try:\\n    raise ValueError(CURP)\\nexcept ValueError:\\n    log.exception('failed')",
    # a raw handler that bypasses the filter writes the CURP to stderr, which the test captures
    "raw": "import logging, sys; log = logging.getLogger('x'); log.addHandler(logging.StreamHandler(sys.stderr));"
           "log.propagate = False; log.warning('CURP %s', CURP)",
    # an uncaught exception: Python prints the traceback to stderr itself
    "traceback": "raise RuntimeError('no contact for ' + CURP)",
    # production masks a configured token on stderr, but it was logged: the subprocess's audit log has it
    "token": "from bot.logging import install; import logging; install(secrets=[TOKEN]);"
             "logging.getLogger('bot.x').warning('calling with %s', TOKEN)",
}


def test_child() -> None:
    prelude = "CURP = %r; NSS = %r; TOKEN = %r\\n" % (@CURP@, @NSS@, @TOKEN@)
    proc = subprocess.run([sys.executable, "-c", prelude + CHILD[@MODE@]], capture_output=True, text=True)
    keep_output(proc.stderr, "child")
'''


@pytest.mark.parametrize("mode, leaked", [("masked", None), ("raw", "CURP"), ("traceback", "CURP"),
                                          ("token", "Twilio auth token")])
def test_the_log_audit_fails_a_run_whose_subprocess_leaks(tmp_path: Path, mode: str, leaked: str | None) -> None:
    """A whole pytest run (the plugin loaded) whose one test starts a subprocess that logs personal data."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    inner = tmp_path / "inner" / "test_child.py"
    inner.parent.mkdir()
    source = INNER_TEST
    for name, value in {"CURP": VALID_CURP, "NSS": VALID_NSS, "TOKEN": twilio.AUTH_TOKEN, "MODE": mode}.items():
        source = source.replace(f"@{name}@", repr(value))
    inner.write_text(source, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SEGURO_BOT_LOG_AUDIT"}
    env.update({"PYTHONPATH": str(repo), "LOG_AUDIT_FILE": str(tmp_path / "inner.log")})
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.log_audit",
                           "--rootdir", str(inner.parent), "--basetemp", str(tmp_path / "tmp"), str(inner)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    if leaked is None:
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert "no NSS, CURP, password or token" in proc.stdout
        assert "and 2 subprocess logs" in proc.stdout  # the child's log and its kept stderr
    else:
        assert proc.returncode == 1, proc.stdout[-2000:]
        assert "1 passed" in proc.stdout and "secrets in the test run's log" in proc.stdout
        assert f"{leaked} " in proc.stdout and "inner.log.d" in proc.stdout
    assert VALID_CURP not in proc.stdout and twilio.AUTH_TOKEN not in proc.stdout


@pytest.mark.parametrize("line, hidden", [
    ('POST /chat/api/messages {"text": "mi contrase\\u00f1a es Cajeme2024!"}', "Cajeme2024"),
    ("mi nss es \uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff13", "\uff11\uff12\uff13\uff14\uff15\uff16"),
    ("mi nss es \u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0663", "\u0661\u0662\u0663\u0664"),
    ("CURP BOXW 310820 HNERXN09", "310820"),
    ("CURP BOXW 310820 HNERXN09", "HNERXN09"),
    ("CURP boxw-310820-hnerxn09.", "hnerxn"),
    ("CURP \uff22\uff2f\uff38\uff37\uff13\uff11\uff10\uff18\uff12\uff10\uff28\uff2e\uff25\uff32\uff38\uff2e\uff10\uff19",
     "\uff13\uff11\uff10"),
    ('"GET /console/inbox?q=1234+5678+903 HTTP/1.1" 200', "5678"),
    ('"GET /console/inbox?q=1234%205678%20903 HTTP/1.1" 200', "5678"),
    ('"GET /console/inbox?q=BOXW%20310820%20HNERXN09 HTTP/1.1" 200', "HNERXN"),
    ('{"text": "nss 1234\\u200b5678903"}', "5678903"),
])
def test_disguised_personal_data_is_masked_too(line: str, hidden: str) -> None:
    """JSON escapes, fullwidth and Arabic-Indic digits, CURPs in groups, URL encodings."""
    written = production_line("%s", line)
    assert hidden not in written and hidden.upper() not in written.upper()
    plain = "".join(ch for ch in written if ch.isalnum())
    assert VALID_NSS not in plain and VALID_CURP not in plain.upper(), written


def test_a_search_in_a_console_url_never_reaches_the_access_log(tmp_path: Path) -> None:
    """``serve`` with uvicorn's access log: ``GET /console/inbox?q=<name and NSS>`` works, logged as ``q=***``."""
    import os
    import re
    import subprocess

    import httpx

    from bot.cli_staff import add_staff
    from tests import dbs
    from tests.conftest import seguro_bot
    from tests.fakes.server import free_port
    from tests.log_audit import keep_output

    port, url = free_port(), dbs.database_url(tmp_path, "serve.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "KNOWLEDGE_DIR"))}
    env.update({"DATABASE_URL": url, "MEDIA_DIR": str(tmp_path / "media"), "LOG_LEVEL": "INFO",
                "PYTHONIOENCODING": "utf-8"})
    proc = subprocess.Popen([*seguro_bot(), "serve", "--port", str(port)], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    search = f"Juana Pérez {VALID_NSS[:4]} {VALID_NSS[4:]}"
    try:
        wait_healthy(port, proc)
        add_staff(database_url=url, email="ana@itson.edu.mx", name="Ana Ruiz", role="agent",
                  password="una-contraseña-larga")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
            token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/console/login").text).group(1)  # type: ignore[union-attr]
            assert browser.post("/console/login", data={"email": "ana@itson.edu.mx", "csrf": token,
                                                        "password": "una-contraseña-larga"}).status_code == 303
            page = browser.get("/console/inbox", params={"q": search, "status": "all"})
            assert page.status_code == 200 and "No hay reportes" in page.text
            assert browser.get("/console/api/inbox", params={"q": search}).status_code == 200
    finally:
        proc.terminate()
        err = proc.communicate(timeout=30)[1]
        keep_output(err, "serve")
    assert '"GET /console/inbox?status=all&q=*** HTTP/1.1" 200' in err, err[-3000:]
    assert '"GET /console/api/inbox?q=*** HTTP/1.1" 200' in err
    assert "Juana" not in err and "P%C3%A9rez" not in err and VALID_NSS[4:] not in err
