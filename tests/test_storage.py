"""bot.models and bot.storage on a real SQLite file."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import select

from bot.models import (
    Consent,
    Contact,
    Conversation,
    Message,
    MessageStatus,
    Reminder,
    ReminderStatus,
    Ticket,
    TicketStatus,
)
from bot.storage import init_db, make_engine, session_scope
from tests import dbs
from tests.conftest import HERMOSILLO, VALID_CURP, VALID_NSS, rows


def _conversation(session, address: str = "+5216440000001") -> Conversation:
    contact = Contact(channel="whatsapp", address=address, display_name="Ana")
    session.add(contact)
    session.flush()
    conversation = Conversation(contact_id=contact.id, channel="whatsapp", address=address, state={"stage": "menu"})
    session.add(conversation)
    session.flush()
    return conversation


def test_every_table_is_created(engine):
    names = set(inspect(engine).get_table_names())
    assert {"contact", "conversation", "message", "ticket", "reminder", "consent"} <= names


def test_init_db_is_idempotent(engine):
    init_db(engine)
    init_db(engine)


def test_round_trip_keeps_json_and_utc_timestamps(engine):
    local = datetime(2026, 2, 10, 10, 0, tzinfo=HERMOSILLO)
    with session_scope(engine) as session:
        conversation = _conversation(session)
        conversation.state = {"stage": "waiting", "saved_on": "2026-02-09", "nested": {"n": [1, 2]}}
        conversation.last_inbound_at = local
        session.add(
            Message(
                conversation_id=conversation.id, channel="whatsapp", direction="in", author="student",
                text="¿qué necesito? 🙏", provider_id="SM1",
                attachments=[{"ref": "f1", "content_type": "image/png", "name": "error.png"}],
            )
        )
        session.add(
            Ticket(
                conversation_id=conversation.id, contact_id=conversation.contact_id, reason="error_cia",
                data={"nss": VALID_NSS, "curp": VALID_CURP}, description="no me deja",
            )
        )
        session.add(Reminder(conversation_id=conversation.id, kind="vigencia_check", due_at=local + timedelta(days=7)))
        session.add(Consent(contact_id=conversation.contact_id, kind="privacy_notice", at=local))
        conversation_id = conversation.id

    with session_scope(engine) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation.state == {"stage": "waiting", "saved_on": "2026-02-09", "nested": {"n": [1, 2]}}
        assert conversation.holder == "bot"
        assert conversation.last_inbound_at == local
        assert conversation.last_inbound_at.tzinfo is not None
        assert conversation.last_inbound_at.utcoffset() == timedelta(0)
        assert conversation.created_at.tzinfo is not None

        message = session.exec(select(Message)).one()
        assert message.text == "¿qué necesito? 🙏"
        assert message.attachments == [{"ref": "f1", "content_type": "image/png", "name": "error.png"}]
        assert message.status == MessageStatus.RECEIVED

        ticket = session.exec(select(Ticket)).one()
        assert ticket.status == TicketStatus.OPEN
        assert ticket.data == {"nss": VALID_NSS, "curp": VALID_CURP}
        assert ticket.attachments == []
        assert ticket.resolved_at is None

        reminder = session.exec(select(Reminder)).one()
        assert reminder.status == ReminderStatus.PENDING
        assert reminder.due_at == local + timedelta(days=7)

        assert session.exec(select(Consent)).one().at == local


def test_naive_timestamps_are_refused(engine):
    with pytest.raises(StatementError):
        with session_scope(engine) as session:
            conversation = _conversation(session)
            conversation.last_inbound_at = datetime(2026, 2, 10, 10, 0)
            session.flush()


def test_contact_is_unique_per_channel_and_address(engine):
    with session_scope(engine) as session:
        session.add(Contact(channel="whatsapp", address="+521"))
        session.add(Contact(channel="telegram", address="+521"))
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(Contact(channel="whatsapp", address="+521"))
    assert len(rows(engine, Contact)) == 2


def test_provider_id_is_unique_per_channel_but_may_be_missing(engine):
    with session_scope(engine) as session:
        conversation_id = _conversation(session).id
        for provider_id in (None, None, "42"):
            session.add(Message(conversation_id=conversation_id, channel="telegram", direction="in",
                                author="student", text="x", provider_id=provider_id))
        session.add(Message(conversation_id=conversation_id, channel="whatsapp", direction="in",
                            author="student", text="x", provider_id="42"))
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(Message(conversation_id=conversation_id, channel="telegram", direction="in",
                                author="student", text="again", provider_id="42"))
    assert len(rows(engine, Message)) == 4


def test_session_scope_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            session.add(Contact(channel="console", address="x"))
            session.flush()
            raise RuntimeError("boom")
    assert rows(engine, Contact) == []


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError):
        with session_scope(engine) as session:
            session.add(Message(conversation_id=999, channel="console", direction="in", author="student", text="x"))


@pytest.mark.sqlite_only("a SQLite pragma")
def test_sqlite_file_uses_wal(engine):
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_savepoints_survive_a_unique_violation(engine):
    # desk's get-or-create relies on a savepoint surviving a unique violation.
    with session_scope(engine) as session:
        session.add(Contact(channel="console", address="a"))
        session.flush()
        with pytest.raises(IntegrityError):
            with session.begin_nested():
                session.add(Contact(channel="console", address="a"))
        session.add(Contact(channel="console", address="b"))
    assert [c.address for c in rows(engine, Contact)] == ["a", "b"]


def test_make_engine_accepts_postgresql_urls_without_connecting():
    pytest.importorskip("psycopg")
    engine = make_engine("postgresql+psycopg://user:secret@127.0.0.1:5432/test")
    assert engine.dialect.name == "postgresql"
    assert engine.url.password == "secret"


def test_postgres_urls_without_a_driver_use_psycopg(tmp_path):
    # What hosting providers and psql hand out; SQLAlchemy alone says "Can't load plugin: sqlalchemy.dialects:postgres".
    pytest.importorskip("psycopg")
    for scheme in ("postgres", "postgresql"):
        engine = make_engine(f"{scheme}://user:secret@127.0.0.1:5432/test")
        assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
        assert engine.url.password == "secret"
    if dbs.postgres():  # and it really connects
        url = dbs.database_url(tmp_path, "bare.db", empty=False).replace("postgresql+psycopg://", "postgres://", 1)
        assert url.startswith("postgres://")
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        finally:
            engine.dispose()


def test_timestamps_default_to_now_in_utc(engine):
    before = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        session.add(Contact(channel="console", address="t"))
    contact = rows(engine, Contact)[0]
    assert before - timedelta(seconds=5) <= contact.created_at <= datetime.now(timezone.utc)


def test_a_database_made_by_an_older_version_is_refused_with_the_missing_columns(tmp_path):
    from bot.errors import SchemaOutdated

    engine = make_engine(dbs.database_url(tmp_path, 'old.db'))
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE message DROP COLUMN error_code"))
    with pytest.raises(SchemaOutdated, match="message.error_code"):
        init_db(engine)
    engine.dispose()


def test_a_write_on_the_event_loop_never_waits_for_the_writer_lock(engine):
    """bot.storage.connection_if_free: the intake writes a webhook group where it stands only when
    nothing else writes (SQLite); held by another thread's transaction, or on PostgreSQL, it is
    None at once and the group goes to a thread."""
    import threading
    import time

    from bot.storage import connection_if_free, connection_scope

    with connection_if_free(engine) as conn:
        if engine.dialect.name != "sqlite":
            assert conn is None  # a round trip a statement: never on the event loop
            return
        assert conn is not None and conn.execute(text("SELECT 1")).scalar() == 1
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with connection_scope(engine):
            held.set()
            release.wait(5)

    writer = threading.Thread(target=hold)
    writer.start()
    assert held.wait(5)
    started = time.monotonic()
    with connection_if_free(engine) as conn:
        assert conn is None
    assert time.monotonic() - started < 0.5
    release.set()
    writer.join()
    with connection_if_free(engine) as conn:
        assert conn is not None


def _fill(engine, rows_count: int) -> None:
    for start in range(0, rows_count, 200):
        with session_scope(engine) as session:
            for i in range(start, start + 200):
                _conversation(session, address=f"+52164{i:08d}").state = {"stage": "menu", "pad": "x" * 4000}


def test_a_service_engine_leaves_the_wal_to_its_own_checkpoints(tmp_path):
    """bot.storage.make_engine(background_checkpoint=True): no commit pays SQLite's automatic
    checkpoint (4-12 ms under the writer lock); bot.storage.checkpoint copies the WAL, writers unblocked."""
    from bot.storage import checkpoint, checkpoints_in_background

    plain = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    served = make_engine(f"sqlite:///{tmp_path / 'served.db'}", background_checkpoint=True)
    for engine in (plain, served):
        init_db(engine)
    assert checkpoints_in_background(served) and not checkpoints_in_background(plain)
    sizes = {name: (tmp_path / name).stat().st_size for name in ("plain.db", "served.db")}
    _fill(plain, 3000)
    _fill(served, 3000)
    assert (tmp_path / "plain.db").stat().st_size > sizes["plain.db"] * 4  # SQLite checkpointed during the commits
    assert (tmp_path / "served.db").stat().st_size == sizes["served.db"]  # all of it still in the WAL
    busy, frames, copied = checkpoint(served)
    assert busy == 0 and frames > 1000 and copied == frames
    assert (tmp_path / "served.db").stat().st_size > sizes["served.db"] * 4
    with session_scope(served) as session:
        assert len(session.exec(select(Conversation)).all()) == 3000
    plain.dispose()
    served.dispose()
