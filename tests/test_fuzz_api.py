"""schemathesis against the app's own OpenAPI document: no 5xx, and responses match the schema.

The document comes from ``app.openapi()`` (the service publishes none: no
``/openapi.json`` on the internet), built with no channel configured but the
web chat. Every operation in it is fuzzed over loopback HTTP against a
running service: the web chat API, /healthz, and the console's JSON API and
media, the latter with a logged-in staff cookie so the handlers behind the
login run too. Bounded for CI: 30 examples per operation, and a time budget
(counted from the first fuzz example, not from collection) after which
remaining examples send nothing. The last test then checks that every
operation fuzzed really got at least ``MIN_REQUESTS`` requests, so a budget
used up elsewhere fails the run instead of passing examples that sent nothing.

The webhooks are not in the document (they need Twilio's signature or
Telegram's secret, which schemathesis cannot make); ``test_security_inputs``
drives them, and shows unsigned requests get 403, never 5xx.
"""
from __future__ import annotations

import re
import time
from collections import Counter
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

#: Total wall-clock budget for the fuzzing in this module, from its first example.
BUDGET_SECONDS = 90.0
#: Requests each operation must really have got for the fuzzing to count.
MIN_REQUESTS = 10
STARTED: list[float] = []  # when the first example ran (not when the module was collected)
SENT: Counter[str] = Counter()  # requests really sent, per operation
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
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    SENT.setdefault(operation, 0)
    if not STARTED:
        STARTED.append(time.monotonic())
    if time.monotonic() - STARTED[0] > BUDGET_SECONDS:
        return  # counted as not sent: the check below fails the run if an operation got too few
    cookies = service["cookies"] if case.path.startswith("/console") else None
    response = case.call(base_url=service["url"], cookies=cookies, timeout=30)
    SENT[operation] += 1
    case.validate_response(response, checks=[not_a_server_error, content_type_conformance,
                                             response_schema_conformance])


def test_every_operation_was_really_fuzzed(request: pytest.FixtureRequest) -> None:
    """Runs after the fuzz tests (same module, later): each operation got real requests, all of them ran."""
    fuzzed = [item for item in request.session.items
              if getattr(item, "originalname", item.name).startswith("test_no_operation_answers_5xx")]
    if not fuzzed:
        pytest.skip("the fuzz tests were not selected")
    operations = {f"{op.method.upper()} {op.path}" for op in (result.ok() for result in SCHEMA.get_all_operations())}
    assert set(SENT) == operations, f"operations never fuzzed: {sorted(operations - set(SENT))}"
    starved = {op: n for op, n in SENT.items() if n < MIN_REQUESTS}
    assert not starved, f"operations that got fewer than {MIN_REQUESTS} requests (budget used up?): {starved}"
