"""The ``seguro-bot`` commands other than simulate, the settings and the log filter."""
from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.cli import masked_ticket_data
from bot.config import Settings
from bot.models import Conversation
from bot.storage import make_engine
from tests import dbs
from tests.conftest import ESCALATION_TURNS, REPO, VALID_CURP, VALID_NSS, VALID_STUDENT_ID, rows, run_cli

# --- knowledge check -------------------------------------------------------------------


def test_knowledge_check_passes_on_the_packaged_knowledge(tmp_path):
    proc = run_cli("knowledge", "check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("knowledge OK: ")
    assert int(proc.stdout.split()[2]) > 0
    assert proc.stdout.rstrip().endswith("topics")


def _knowledge_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", copy, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return copy


def test_knowledge_check_passes_on_an_unchanged_copy(tmp_path):
    copy = _knowledge_copy(tmp_path)
    proc = run_cli("knowledge", "check", "--dir", str(copy), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_knowledge_check_fails_on_broken_yaml_naming_the_file(tmp_path):
    copy = _knowledge_copy(tmp_path)
    victim = sorted((copy / "topics").glob("*.yaml"))[0]
    victim.write_text(victim.read_text(encoding="utf-8") + "\nbroken: [unclosed, list\n  : :\n", encoding="utf-8")
    proc = run_cli("knowledge", "check", "--dir", str(copy), cwd=tmp_path)
    assert proc.returncode == 1
    assert victim.name in proc.stderr
    assert "knowledge OK" not in proc.stdout


def test_knowledge_check_fails_on_a_link_that_is_not_https(tmp_path):
    copy = _knowledge_copy(tmp_path)
    desk = copy / "desk.yaml"
    desk.write_text(desk.read_text(encoding="utf-8").replace("https://www.itson.mx/cia", "http://www.itson.mx/cia"),
                    encoding="utf-8")
    proc = run_cli("knowledge", "check", "--dir", str(copy), cwd=tmp_path)
    assert proc.returncode == 1
    assert "desk.yaml" in proc.stderr


def test_knowledge_dir_comes_from_the_environment_too(tmp_path):
    copy = _knowledge_copy(tmp_path)
    victim = sorted((copy / "topics").glob("*.yaml"))[0]
    victim.write_text("id: [\n", encoding="utf-8")
    proc = run_cli("knowledge", "check", cwd=tmp_path, env={"KNOWLEDGE_DIR": str(copy)})
    assert proc.returncode == 1
    assert victim.name in proc.stderr


# --- db init ---------------------------------------------------------------------


def test_db_init_creates_the_tables(tmp_path):
    url = dbs.database_url(tmp_path, 'desk.db')
    proc = run_cli("db", "init", "--db", url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    engine = make_engine(url)
    try:
        assert {"contact", "conversation", "message", "ticket", "reminder", "consent"} <= set(
            inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_init_uses_database_url(tmp_path):
    url = dbs.database_url(tmp_path, 'from-env.db')
    proc = run_cli("db", "init", cwd=tmp_path, env={"DATABASE_URL": url})
    assert proc.returncode == 0, proc.stderr
    assert dbs.has_schema(url)


# --- chat ------------------------------------------------------------------------


def test_chat_answers_and_exits_cleanly(tmp_path):
    url = dbs.database_url(tmp_path, 'chat.db')
    proc = run_cli("chat", "--db", url, input="hola\n/ayuda\n/reiniciar\nhola\n/salir\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Tú" in proc.stdout
    assert "/reiniciar" in proc.stdout  # the help
    assert "Hasta luego" in proc.stdout
    engine = make_engine(url)
    try:
        (conversation,) = rows(engine, Conversation)
        assert conversation.address.startswith("terminal-")
        assert conversation.channel == "console"
    finally:
        engine.dispose()


def test_chat_ends_on_end_of_input(tmp_path):
    proc = run_cli("chat", "--db", dbs.database_url(tmp_path, 'chat.db'), input="hola\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Hasta luego" in proc.stdout


def test_chat_uses_database_url_by_default(tmp_path):
    url = dbs.database_url(tmp_path, 'env.db')
    proc = run_cli("chat", input="hola\n", cwd=tmp_path, env={"DATABASE_URL": url})
    assert proc.returncode == 0, proc.stderr
    assert dbs.has_schema(url)


def test_chat_shows_a_ticket_with_masked_data(tmp_path):
    turns = ESCALATION_TURNS
    proc = run_cli("chat", "--db", dbs.database_url(tmp_path, 'chat.db'), input="\n".join(turns) + "\n/salir\n",
                   cwd=tmp_path, env={"COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr
    assert "🎫 Ticket #" in proc.stdout
    assert "duda_general" in proc.stdout
    assert masked_ticket_data({"nss": VALID_NSS})["nss"] in proc.stdout


def test_masked_ticket_data():
    shown = masked_ticket_data({"nss": VALID_NSS, "curp": VALID_CURP, "name": "Ana", "student_id": VALID_STUDENT_ID})
    assert shown["nss"] != VALID_NSS and shown["nss"].startswith(VALID_NSS[:2]) and shown["nss"].endswith("*")
    assert len(shown["nss"]) == len(VALID_NSS)
    assert VALID_CURP not in shown["curp"] and shown["curp"].startswith(VALID_CURP[:2])
    assert shown["name"] == "Ana" and shown["student_id"] == VALID_STUDENT_ID
    # an NSS a correction replaced is kept for masking the conversation, never shown
    shown = masked_ticket_data({"nss": VALID_NSS, "_replaced": ["12345678901"]})
    assert list(shown) == ["nss"]


# --- settings --------------------------------------------------------------------

ENV_NAMES = ["DATABASE_URL", "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_NUMBERS",
             "TWILIO_API_BASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_API_BASE_URL",
             "KNOWLEDGE_DIR", "LOG_LEVEL"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_settings_defaults(clean_env):
    s = Settings()
    assert s.database_url == "sqlite:///./seguro-bot.db"
    assert s.public_base_url == "http://127.0.0.1:8000"
    assert s.twilio_api_base_url == "https://api.twilio.com"
    assert s.telegram_api_base_url == "https://api.telegram.org"
    assert s.twilio_whatsapp_numbers == []
    assert s.knowledge_dir is None
    assert not s.whatsapp_enabled and not s.telegram_enabled


def test_settings_from_the_environment(clean_env):
    clean_env.setenv("TWILIO_WHATSAPP_NUMBERS", "+5216444207351, +5216441617836,")
    clean_env.setenv("TWILIO_ACCOUNT_SID", "AC123")
    clean_env.setenv("TWILIO_AUTH_TOKEN", "tok-secret-value")
    clean_env.setenv("TELEGRAM_BOT_TOKEN", "123:ABC")
    clean_env.setenv("TELEGRAM_WEBHOOK_SECRET", "hook-secret")
    clean_env.setenv("KNOWLEDGE_DIR", "/srv/knowledge")
    s = Settings()
    assert s.twilio_whatsapp_numbers == ["+5216444207351", "+5216441617836"]
    assert s.twilio_auth_token.get_secret_value() == "tok-secret-value"
    assert "tok-secret-value" not in repr(s) and "hook-secret" not in repr(s)
    assert s.knowledge_dir == Path("/srv/knowledge")
    assert s.whatsapp_enabled and s.telegram_enabled


def test_a_twilio_sid_that_is_not_an_account_sid_is_refused_at_start_up(tmp_path):
    proc = run_cli("db", "current", cwd=tmp_path, env={"TWILIO_ACCOUNT_SID": "SK0123456789abcdef0123456789abcdef"})
    assert proc.returncode == 2
    assert "seguro-bot: invalid settings: TWILIO_ACCOUNT_SID:" in proc.stderr and "starts with AC" in proc.stderr
    assert "SK0123" not in proc.stderr and "Traceback" not in proc.stderr


def test_settings_from_a_dotenv_file(clean_env, tmp_path):
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:///./other.db\nPUBLIC_BASE_URL=https://bot.example\n")
    s = Settings()
    assert s.database_url == "sqlite:///./other.db"
    assert s.public_base_url == "https://bot.example"


def test_settings_built_in_code(clean_env):
    s = Settings(database_url="sqlite://", twilio_whatsapp_numbers="+5216444207351, +14155238886")
    assert s.database_url == "sqlite://"
    assert s.twilio_whatsapp_numbers == ["+5216444207351", "+14155238886"]


# --- the log filter ----------------------------------------------------------------


def test_logs_never_carry_personal_data_or_secrets():
    from bot.logging import PersonalDataFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter(secrets=["123456:SECRET-TOKEN"]))
    logger = logging.getLogger("tests.privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("student wrote NSS %s CURP %s", VALID_NSS, VALID_CURP)
        logger.info("GET https://api.telegram.org/file/bot123456:SECRET-TOKEN/photo.jpg")
        try:
            raise ValueError(f"bad nss {VALID_NSS}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert VALID_NSS not in text
    assert VALID_CURP not in text
    assert "SECRET-TOKEN" not in text
    assert "ValueError" in text


def test_chat_masks_personal_data_pasted_into_the_description_too(tmp_path):
    turns = [
        "me sale error al guardar, soy Juan Pérez López id 234567 nss 12345678903 curp BOXW310820HNERXN09",
        "si",
        'dice "no se pudo guardar, mi nss 12345678903 no coincide"',
        "si",
    ]
    proc = run_cli("chat", "--db", dbs.database_url(tmp_path, 'chat.db'), input="\n".join(turns) + "\n/salir\n",
                   cwd=tmp_path, env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "Aviso de privacidad" in proc.stdout
    panel = proc.stdout.split("🎫 Ticket #", 1)[1]
    assert "12345678903" not in panel and "BOXW310820HNERXN09" not in panel


def test_a_malformed_setting_is_named_without_echoing_its_value(tmp_path):
    """A Telegram secret Telegram would refuse is refused at start-up, and the message names the
    variable but never repeats what was given (it is a secret)."""
    proc = run_cli("db", "current", cwd=tmp_path, env={"TELEGRAM_WEBHOOK_SECRET": "mi secreto!"})
    assert proc.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in proc.stderr and "mi secreto" not in proc.stderr + proc.stdout


def test_several_workers_on_sqlite_are_warned_about(tmp_path):
    # (an address that does not exist: the service stops right after the warning)
    proc = run_cli("serve", "--workers", "2", "--host", "256.1.1.1", "--port", "8999", cwd=tmp_path,
                   env={"DATABASE_URL": "sqlite:///x.db"}, timeout=60)
    assert "several workers on SQLite" in proc.stderr
