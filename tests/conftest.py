"""Shared fixtures and factories for the bot layer's tests.

Databases are real SQLite files in ``tmp_path``, or with
``TEST_DATABASE=postgres`` (or ``--db=postgres``) a PostgreSQL database per
test (:mod:`tests.dbs`); tests marked ``sqlite_only`` are skipped there. The
flows and the knowledge base are the real ones (imported lazily, so the
storage tests run even while those layers are being changed).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.storage import init_db, make_engine, session_scope
from tests import dbs

# A shell starts its background jobs with SIGINT ignored (no job control), and
# the processes the tests start inherit that: `seguro-bot telegram poll` and
# `chat` would then never see the Ctrl-C the tests send them. scripts/test runs
# its two passes in the background, so the default is restored here, for this
# process and (through exec, which resets a handler but keeps "ignored") for
# every process it starts.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# issue 6: the whole run's log is captured and searched for test secrets (tests/log_audit.py)
pytest_plugins = ["tests.log_audit"]

HERMOSILLO = ZoneInfo("America/Hermosillo")
#: A Tuesday morning in office hours, so flows that look at the clock behave alike.
T0 = datetime(2026, 2, 10, 10, 0, tzinfo=HERMOSILLO)
REPO = Path(__file__).resolve().parent.parent

# Valid personal data (check digits included), as students would type it.
VALID_NSS = "12345678903"
VALID_CURP = "BOXW310820HNERXN09"
VALID_STUDENT_ID = "00000123456"

#: A student asking for a person (the duda_general escalation) and answering
#: what the bot asks: the question, then all the data at once, then "yes".
#: Sent until a ticket appears; spare turns cover a re-asked item.
ALL_DATA = (f"Mi matrícula es {VALID_STUDENT_ID}, me llamo Ana López García, "
            f"mi NSS es {VALID_NSS} y mi CURP es {VALID_CURP}")
ESCALATION_TURNS = [
    "quiero hablar con una persona",
    "Quiero saber si puedo tramitar el seguro estando de intercambio en otro país",
    ALL_DATA,
    "sí",
    "sí",
    ALL_DATA,
    "sí",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=("sqlite", "postgres"), default=None,
                     help="database the tests run on (default: TEST_DATABASE, else sqlite)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--db"):
        os.environ["TEST_DATABASE"] = config.getoption("--db")
    config.addinivalue_line("markers", "sqlite_only(reason): the test checks something only SQLite has")
    config.addinivalue_line("markers", "postgres_only(reason): the test needs PostgreSQL (several processes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = dbs.postgres()
    for item in items:
        for name, skip in (("sqlite_only", on_postgres), ("postgres_only", not on_postgres)):
            marker = item.get_closest_marker(name)
            if marker is not None and skip:
                reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else name)
                item.add_marker(pytest.mark.skip(reason=f"{name}: {reason}"))


def pytest_sessionfinish(session: pytest.Session) -> None:
    dbs.close()


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """PostgreSQL databases made for a test are dropped after it (no-op on SQLite)."""
    yield
    dbs.release()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A database of the test's own: a SQLite file, or a PostgreSQL database with the schema."""
    return dbs.database_url(tmp_path, "test.db", empty=False)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    init_db(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def kb() -> Any:
    """The packaged knowledge base, loaded once."""
    from knowledge.loader import load

    return load()


def incoming(text: str, *, at: datetime = T0, channel: str = "console", attachments: tuple[Any, ...] = ()) -> Any:
    """An :class:`flows.messages.Incoming` with sensible defaults."""
    from flows.messages import Incoming

    return Incoming(text=text, at=at, channel=channel, attachments=attachments)


@dataclass
class Desk:
    """Sends student messages through :func:`bot.desk.handle_message`, one transaction each."""

    engine: Engine
    kb: Any

    def send(
        self,
        text: str,
        *,
        address: str = "+5216440000001",
        channel: str = "whatsapp",
        provider_id: str | None = None,
        at: datetime = T0,
        attachments: tuple[Any, ...] = (),
        display_name: str | None = None,
        desk_address: str | None = None,
    ) -> Any:
        from bot.desk import handle_message

        with session_scope(self.engine) as session:
            return handle_message(
                session=session,
                kb=self.kb,
                channel=channel,
                address=address,
                provider_id=provider_id,
                message=incoming(text, at=at, channel=channel, attachments=attachments),
                display_name=display_name,
                desk_address=desk_address,
            )


@pytest.fixture
def desk(engine: Engine, kb: Any) -> Desk:
    return Desk(engine=engine, kb=kb)


def rows(engine: Engine, model: Any, **where: Any) -> list[Any]:
    """Every row of ``model`` matching the equality filters, in id order."""
    from sqlmodel import select

    with session_scope(engine) as session:
        stmt = select(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return list(session.exec(stmt.order_by(model.id)))


def seguro_bot() -> list[str]:
    """The installed console script (the real entry point), or the module as a fallback."""
    script = Path(sys.executable).with_name("seguro-bot")
    if script.exists():
        return [str(script)]
    found = shutil.which("seguro-bot")
    return [found] if found else [sys.executable, "-c", "from bot.cli import main; main()"]


def run_cli(*args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``seguro-bot ARGS`` in a subprocess with a clean, credential-free environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_"))}
    full_env.pop("DATABASE_URL", None)
    full_env.pop("KNOWLEDGE_DIR", None)
    full_env["PYTHONIOENCODING"] = "utf-8"
    full_env.update(env or {})
    proc = subprocess.run(
        [*seguro_bot(), *args],
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        timeout=timeout,
        env=full_env,
    )
    from tests.log_audit import keep_output

    keep_output(proc.stderr, "cli")  # what it wrote beside its logs (errors, tracebacks) is audited too
    return proc


def jsonl(*items: Any) -> str:
    """Input for ``simulate``: dicts become JSON lines, strings are taken verbatim."""
    return "".join((json.dumps(i) if not isinstance(i, str) else i) + "\n" for i in items)


def parse_output(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]
