"""Database engine and transactions.

Everything goes through :func:`make_engine` so SQLite gets the settings it
needs to behave like a server database (foreign keys, WAL, real
transactions with savepoints, writers queued instead of failing) while
``postgresql+psycopg://`` URLs are passed through untouched.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

from bot import models, staff_models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.errors import SchemaOutdated

SQLITE_BUSY_TIMEOUT_S = 30


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite connections are set up for concurrent use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)

    engine = create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
    )
    in_memory = parsed.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin, so
        # BEGIN below and SAVEPOINTs work (SQLAlchemy's pysqlite recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: SQLite has no row locks, so
        # this is what serialises two processes handling messages, and it
        # avoids the read-then-write upgrade failing with SQLITE_BUSY.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def init_db(engine: Engine) -> None:
    """Create every table that does not exist yet; refuse a database whose tables are outdated.

    ``create_all`` never adds a column to an existing table, so a database
    made by an older version would fail later, on some query, with "no such
    column". Until migrations exist this says so up front.
    """
    SQLModel.metadata.create_all(engine)
    missing = missing_columns(engine)
    if missing:
        raise SchemaOutdated(
            "the database was created by an older version of seguro-bot and lacks "
            + ", ".join(missing)
            + " (a development SQLite file can simply be deleted; migrations come with PostgreSQL)"
        )


def missing_columns(engine: Engine) -> list[str]:
    """``table.column`` for every column the models declare that the database lacks."""
    inspector = inspect(engine)
    existing = set(inspector.get_table_names())
    missing: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing:
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return missing


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
