"""Schema migrations (bot/migrations, bot/schema.py) on the test database (SQLite or PostgreSQL).

The migrations are the schema's source of truth for deployments; tests and
``chat`` use ``create_all``. Both must give exactly the models' schema, so
alembic's autogenerate comparison must find nothing to do after either.
"""
from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel
from typer.testing import CliRunner

from bot import schema
from bot.errors import SchemaOutdated
from bot.storage import init_db, make_engine
from tests import dbs
from tests.conftest import run_cli


def _diff(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, SQLModel.metadata)


@pytest.fixture
def empty_engine(tmp_path):
    engine = make_engine(dbs.database_url(tmp_path, "empty.db", empty=True))
    yield engine
    engine.dispose()


def test_the_migrations_create_exactly_the_models_schema(empty_engine):
    before, after = schema.upgrade(empty_engine)
    assert (before, after) == (None, schema.head_revision())
    assert _diff(empty_engine) == []


def test_create_all_gives_the_same_schema_and_stamps_it_at_head(empty_engine):
    init_db(empty_engine)
    assert _diff(empty_engine) == []
    with empty_engine.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()
        assert schema.state(connection) == "current"


def test_downgrade_then_upgrade_round_trips(empty_engine):
    from alembic import command

    schema.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        command.downgrade(schema.alembic_config(connection), "base")
        connection.commit()
        assert set(inspect(connection).get_table_names()) <= {schema.VERSION_TABLE}
    schema.upgrade(empty_engine)
    assert _diff(empty_engine) == []


def test_upgrade_is_idempotent_and_init_db_accepts_a_migrated_database(empty_engine):
    schema.upgrade(empty_engine)
    assert schema.upgrade(empty_engine) == (schema.head_revision(), schema.head_revision())
    init_db(empty_engine)


def test_a_database_behind_head_is_refused_with_db_upgrade_named(empty_engine, monkeypatch):
    init_db(empty_engine)
    old = schema.head_revision()
    monkeypatch.setattr(schema, "head_revision", lambda: "9999")
    monkeypatch.setattr(schema, "known_revisions", lambda: frozenset({old, "9999"}))
    with pytest.raises(SchemaOutdated, match="seguro-bot db upgrade"):
        init_db(empty_engine)


def test_serve_refuses_an_outdated_database_and_says_to_run_db_upgrade(tmp_path, monkeypatch):
    from bot.cli import app

    url = dbs.database_url(tmp_path, "old.db")
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()
    old = schema.head_revision()
    monkeypatch.setattr(schema, "head_revision", lambda: "9999")
    monkeypatch.setattr(schema, "known_revisions", lambda: frozenset({old, "9999"}))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "seguro-bot db upgrade" in result.output


def test_an_unknown_revision_is_refused(empty_engine):
    init_db(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffffffff'"))
    with pytest.raises(SchemaOutdated, match="does not know"):
        init_db(empty_engine)


def test_a_database_made_before_migrations_is_adopted_when_complete(empty_engine):
    SQLModel.metadata.create_all(empty_engine)
    init_db(empty_engine)
    with empty_engine.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()


def test_a_database_made_before_migrations_lacking_columns_is_refused(empty_engine):
    SQLModel.metadata.create_all(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("ALTER TABLE ticket DROP COLUMN resolved_at"))
    with pytest.raises(SchemaOutdated, match="ticket.resolved_at"):
        init_db(empty_engine)


def test_db_upgrade_and_db_current_commands(tmp_path):
    url = dbs.database_url(tmp_path, "cli.db")
    proc = run_cli("db", "current", "--db", url, cwd=tmp_path)
    assert proc.returncode == 1 and "empty" in proc.stdout
    proc = run_cli("db", "upgrade", "--db", url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"upgraded from empty to {schema.head_revision()}" in proc.stdout
    proc = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": url})
    assert proc.returncode == 0 and "already at revision" in proc.stdout
    proc = run_cli("db", "current", "--db", url, cwd=tmp_path)
    assert proc.returncode == 0 and "current" in proc.stdout
    assert dbs.has_schema(url)


def test_db_commands_on_an_unreachable_database_say_why_in_one_line(tmp_path):
    url = "postgresql+psycopg://postgres:S3cretPw@127.0.0.1:5432/no_such_database_here"
    for command in ("current", "upgrade"):
        proc = run_cli("db", command, "--db", url, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("seguro-bot: cannot open database") and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "S3cretPw" not in proc.stderr


def test_upgrading_an_old_database_keeps_who_replied_on_each_ticket_and_dates_its_holds(empty_engine):
    """0006: who worked on a ticket used to live only in the assignment a hand-back clears;
    the audit log's first reply brings it back for tickets handled before the upgrade.
    0007: a chat held at the upgrade counts as last worked on at its last change."""
    from alembic import command

    with empty_engine.connect() as connection:
        command.upgrade(schema.alembic_config(connection), "0005")
        connection.commit()
        at = "'2026-02-10 10:00:00'"
        connection.execute(text(f"INSERT INTO contact (id, channel, address, created_at) VALUES (1, 'whatsapp', 'a', {at})"))
        connection.execute(text(
            "INSERT INTO conversation (id, contact_id, channel, address, holder, created_at, updated_at) "
            f"VALUES (1, 1, 'whatsapp', 'a', 'bot', {at}, {at})"))
        connection.execute(text(
            "INSERT INTO conversation (id, contact_id, channel, address, holder, holder_staff_id, created_at, updated_at)"
            f" VALUES (2, 1, 'telegram', 'b', 'staff', 5, {at}, '2026-02-10 11:30:00')"))
        for ticket, status, assigned in ((1, "open", "NULL"), (2, "resolved", "9"), (3, "open", "NULL")):
            connection.execute(text(
                "INSERT INTO ticket (id, conversation_id, contact_id, reason, status, data, description, attachments,"
                f" assigned_staff_id, created_at, updated_at) VALUES ({ticket}, 1, 1, 'duda_general', '{status}',"
                f" '{{}}', '', '[]', {assigned}, {at}, {at})"))
        for entry, staff, action, minute in ((1, 5, "take_over", 0), (2, 7, "reply", 2), (3, 5, "reply", 1)):
            connection.execute(text(
                "INSERT INTO staff_audit (id, at, staff_id, action, ticket_id, detail) "
                f"VALUES ({entry}, '2026-02-10 10:0{minute}:00', {staff}, '{action}', 1, '{{}}')"))
        connection.commit()
    schema.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        handled = {row[0]: row[1] for row in connection.execute(text("SELECT id, handled_by_staff_id FROM ticket"))}
        active = {row[0]: bool(row[1]) for row in connection.execute(text(
            "SELECT id, staff_active_at IS NOT NULL AND staff_active_at = updated_at FROM conversation"))}
    # ticket 1: the first reply (staff 5, a minute before staff 7's); 2: resolved without a reply, its
    # assignee; 3: nobody replied
    assert handled == {1: 5, 2: 9, 3: None}
    assert active == {1: False, 2: True}


def test_upgrading_marks_the_tickets_students_reopened_before(empty_engine):
    """0008: a ticket the student reopened (an audit entry of no staff member) is marked reopened
    at its last such reopening; one only staff reopened, or never reopened, is not."""
    from alembic import command

    with empty_engine.connect() as connection:
        command.upgrade(schema.alembic_config(connection), "0007")
        connection.commit()
        at = "'2026-02-10 10:00:00'"
        connection.execute(text(f"INSERT INTO contact (id, channel, address, created_at) VALUES (1, 'whatsapp', 'a', {at})"))
        connection.execute(text(
            "INSERT INTO conversation (id, contact_id, channel, address, holder, created_at, updated_at) "
            f"VALUES (1, 1, 'whatsapp', 'a', 'bot', {at}, {at})"))
        for ticket in (1, 2, 3):
            connection.execute(text(
                "INSERT INTO ticket (id, conversation_id, contact_id, reason, status, data, description, attachments,"
                f" created_at, updated_at) VALUES ({ticket}, 1, 1, 'duda_general', 'open', '{{}}', '', '[]', {at}, {at})"))
        for entry, staff, ticket, day in ((1, "NULL", 1, 11), (2, "NULL", 1, 12), (3, "5", 2, 11), (4, "NULL", 3, 13)):
            connection.execute(text(
                "INSERT INTO staff_audit (id, at, staff_id, action, ticket_id, detail) "
                f"VALUES ({entry}, '2026-02-{day} 10:00:00', {staff}, '{'reopen' if ticket != 3 else 'hand_back'}',"
                f" {ticket}, '{{}}')"))
        connection.commit()
    schema.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        found = {row[0]: (str(row[1])[:10] if row[1] else None, row[2]) for row in connection.execute(
            text("SELECT id, reopened_at, reopen_text FROM ticket"))}
    assert found == {1: ("2026-02-12", None), 2: (None, None), 3: (None, None)}


def test_upgrading_makes_the_reports_marked_urgente_urgent(empty_engine):
    """0009: urgency was the flow's mark in the description ("URGENTE: …"); it becomes the field.
    The mark as the flow writes it, after an opening too; a student's "urgente" is not it."""
    from alembic import command

    with empty_engine.connect() as connection:
        command.upgrade(schema.alembic_config(connection), "0008")
        connection.commit()
        at = "'2026-02-10 10:00:00'"
        connection.execute(text(f"INSERT INTO contact (id, channel, address, created_at) VALUES (1, 'whatsapp', 'a', {at})"))
        connection.execute(text(
            "INSERT INTO conversation (id, contact_id, channel, address, holder, created_at, updated_at) "
            f"VALUES (1, 1, 'whatsapp', 'a', 'bot', {at}, {at})"))
        descriptions = {1: "URGENTE: estoy en urgencias y no salgo vigente", 2: "me urge, es urgente: no me deja",
                        3: "no sale vigente / URGENTE: mi hijo está internado", 4: ""}
        for ticket, description in descriptions.items():
            connection.execute(text(
                "INSERT INTO ticket (id, conversation_id, contact_id, reason, status, data, description, attachments,"
                f" created_at, updated_at) VALUES ({ticket}, 1, 1, 'sin_vigencia', 'open', '{{}}', :d, '[]', {at}, {at})"),
                {"d": description})
        connection.commit()
    schema.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        urgent = {row[0]: bool(row[1]) for row in connection.execute(text("SELECT id, urgent FROM ticket"))}
        connection.execute(text(
            "INSERT INTO ticket (id, conversation_id, contact_id, reason, status, data, description, attachments,"
            " created_at, updated_at) VALUES (5, 1, 1, 'sin_vigencia', 'open', '{}', '', '[]',"
            " '2026-02-10 10:00:00', '2026-02-10 10:00:00')"))
        assert connection.execute(text("SELECT urgent FROM ticket WHERE id = 5")).scalar() in (False, 0)
    assert urgent == {1: True, 2: False, 3: True, 4: False}
