"""schemathesis against the app's own OpenAPI document: no 5xx, and responses match the schema.

The document comes from ``app.openapi()`` (the service publishes none: no
``/openapi.json`` on the internet), built with no channel configured but the
web chat. Every operation in it is fuzzed over loopback HTTP against a
running service: the web chat API, /healthz, and the console's JSON API and
media, the latter with a logged-in staff cookie so the handlers behind the
login run too. Bounded for CI: 30 examples per operation, and a time budget
after which remaining examples pass without a request.

The webhooks are not in the document (they need Twilio's signature or
Telegram's secret, which schemathesis cannot make); ``test_security_inputs``
drives them, and shows unsigned requests get 403, never 5xx.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from bot.config import Settings
from bot.web.app import create_app
from tests.conftest import ESCALATION_TURNS
from tests.service_support import running_app, settings_for

#: Total wall-clock budget for the fuzzing in this module.
BUDGET_SECONDS = 90.0
STARTED = time.monotonic()
PASSWORD = "fuzz-password-" + "x" * 8

SCHEMA = schemathesis.openapi.from_dict(
    create_app(Settings(_env_file=None, database_url="sqlite://", telegram_bot_token=None,  # type: ignore[call-arg]
                        twilio_account_sid=None)).openapi()
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A running service per operation (on PostgreSQL each test's database is dropped after it)."""
    from bot.cli_staff import add_staff
    from bot.desk import handle_message
    from flows.messages import Incoming

    with running_app(settings_for(tmp_path)) as (server, services):
        add_staff(database_url=services.settings.database_url, email="fuzz@itson.edu.mx", name="Fuzz Admin",
                  role="admin", password=PASSWORD)
        for text in ESCALATION_TURNS:  # one ticket, so /console/api/tickets/1 has something behind it
            with services.session() as session:
                handle_message(session=session, kb=services.kb, channel="webchat", address="web-fuzz",
                               provider_id=None, message=Incoming(text=text, at=services.now(), channel="webchat"))
        with httpx.Client(base_url=server.url) as browser:
            page = browser.get("/console/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            login = browser.post("/console/login", data={"email": "fuzz@itson.edu.mx", "password": PASSWORD,
                                                         "csrf": token, "next": "/console/inbox"})
            assert login.status_code == 303, login.text
            cookies = dict(browser.cookies)
        yield {"url": server.url, "cookies": cookies, "app_state": services}


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_and_responses_conform(case: Any, service: dict[str, Any]) -> None:
    if time.monotonic() - STARTED > BUDGET_SECONDS:
        return
    cookies = service["cookies"] if case.path.startswith("/console") else None
    response = case.call(base_url=service["url"], cookies=cookies, timeout=30)
    case.validate_response(response, checks=[not_a_server_error, content_type_conformance,
                                             response_schema_conformance])
