"""Database engine and transactions.

Everything goes through :func:`make_engine` so SQLite gets the settings it
needs to behave like a server database (foreign keys, WAL, real
transactions with savepoints, writers queued instead of failing) while
``postgresql+psycopg://`` URLs get a plain connection pool. It is also the
one place a URL is read, so ``postgres://`` and ``postgresql://`` (what
hosting providers and ``psql`` hand out) are taken as psycopg there, for
``DATABASE_URL`` and ``--db`` alike.
The schema itself is :mod:`bot.schema`'s business (Alembic migrations).
"""
from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Table, event, inspect, literal_column, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

from bot import models, staff_models  # noqa: F401  (registers the tables on SQLModel.metadata)

SQLITE_BUSY_TIMEOUT_S = 30
#: The in-process lock each SQLite engine's transactions queue on (see make_engine).
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


#: Driver-less PostgreSQL schemes, read as the driver the project installs (SQLAlchemy would
#: load psycopg2 for ``postgresql://`` and knows no ``postgres://`` at all).
_POSTGRES_WITHOUT_DRIVER = frozenset({"postgres", "postgresql"})
POSTGRES_DRIVER = "postgresql+psycopg"


def database_url(url: str) -> URL:
    """``url`` parsed, with ``postgres://`` and ``postgresql://`` made ``postgresql+psycopg://``."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_WITHOUT_DRIVER:
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


#: Engines whose SQLite file is checkpointed by :func:`checkpoint` (a service task), not by each commit.
_BACKGROUND_CHECKPOINT: weakref.WeakSet[Engine] = weakref.WeakSet()


def make_engine(url: str, *, echo: bool = False, background_checkpoint: bool = False) -> Engine:
    """An engine for ``url``; SQLite connections are set up for concurrent use.

    ``background_checkpoint`` (the service's engine): SQLite's WAL is not
    copied into the database file by whichever commit crosses 1,000 pages
    (SQLite's automatic checkpoint), but by :func:`checkpoint`, which the
    service runs every second from a thread of its own. Why: the automatic
    checkpoint runs inside a commit, under this process's writer lock, and
    took 4-12 ms where a commit takes 0.3 (one group commit in 55 measured);
    the webhooks' intake commits on the event loop when the lock is free, so
    the whole process stalled with it. A checkpoint of its own blocks no
    writer (WAL mode lets them append meanwhile).
    """
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite":
        # READ COMMITTED (PostgreSQL's default) plus explicit row and advisory
        # locks is what the workers rely on; see bot.inbound and bot.desk.
        # No pool_pre_ping: it costs a round trip per transaction, and a
        # connection lost to a database restart is caught where it is used
        # (the disconnect invalidates the whole pool; a webhook answers 5xx
        # and the provider retries; the workers retry their writes).
        return create_engine(parsed, echo=echo, pool_size=10, max_overflow=10)

    engine = create_engine(
        parsed,
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
        if background_checkpoint and not in_memory:
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    # One writer at a time in this process, queued on a lock rather than on
    # SQLite's busy handler, which polls with sleeps of up to 100 ms: under
    # load, threads would spend most of their time asleep while the file is
    # free. Other processes on the same file still wait in busy_timeout.
    _WRITER_LOCKS[engine] = threading.RLock()
    if background_checkpoint and not in_memory:
        _BACKGROUND_CHECKPOINT.add(engine)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: SQLite has no row locks, so
        # this is what serialises two processes handling messages, and it
        # avoids the read-then-write upgrade failing with SQLITE_BUSY.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def checkpoints_in_background(engine: Engine) -> bool:
    """Whether ``engine``'s SQLite file waits for :func:`checkpoint` (see :func:`make_engine`)."""
    return engine in _BACKGROUND_CHECKPOINT


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """Copy what SQLite's WAL holds into the database file without blocking writers (PASSIVE).

    Returns SQLite's answer: (1 if a reader kept it from finishing, frames in
    the WAL, frames copied). Outside this process's writer lock on purpose:
    a checkpoint and a writer run side by side in WAL mode.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            row = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)


def init_db(engine: Engine) -> None:
    """Make the database usable: create an empty one, accept a current one, refuse an outdated one.

    An empty database gets every table from ``create_all`` (faster than
    replaying migrations; a test checks both give the same schema) and is
    stamped with the migrations' head, so ``serve`` and ``db upgrade`` know
    where it stands. One made by an older version raises
    :class:`~bot.errors.SchemaOutdated` naming ``seguro-bot db upgrade``
    (``create_all`` never adds a column, so it would otherwise fail later,
    on some query, with "no such column").
    """
    from bot.schema import ensure_schema

    ensure_schema(engine, empty="create_all")


def missing_columns(bind: Engine | Connection) -> list[str]:
    """``table.column`` for every column the models declare that the database lacks.

    One catalogue query for all tables (``get_multi_columns``), as this runs
    at every start-up.
    """
    inspector = inspect(bind)
    names = [t.name for t in SQLModel.metadata.sorted_tables]
    existing = set(inspector.get_table_names())
    found = inspector.get_multi_columns(filter_names=[n for n in names if n in existing])
    have = {table: {c["name"] for c in columns} for (_schema, table), columns in found.items()}
    missing: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in existing:
            continue
        missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have.get(table.name, set())]
    return missing


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error.

    On SQLite the transaction holds the engine's writer lock (see
    :func:`make_engine`) from start to end.
    """
    lock = _WRITER_LOCKS.get(engine)
    if lock is not None:
        lock.acquire()
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if lock is not None:
            lock.release()


@contextmanager
def connection_scope(engine: Engine) -> Iterator[Connection]:
    """:func:`session_scope` for Core statements only: a connection in a transaction, no ORM session.

    Why: the webhooks' intake runs a group's two statements and nothing
    else, and an ORM session (its transaction object, its event dispatch)
    cost about as much as the statements. Same writer lock on SQLite.
    """
    lock = _WRITER_LOCKS.get(engine)
    if lock is not None:
        lock.acquire()
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        if lock is not None:
            lock.release()


@contextmanager
def connection_if_free(engine: Engine) -> Iterator[Connection | None]:
    """:func:`connection_scope` without waiting, for the event loop's own thread: ``None`` unless
    the database is SQLite and its writer lock is free this instant.

    Why: a webhook group's write on SQLite takes a fraction of a millisecond; the hop to a
    thread and back, and the two threads' turns at the interpreter, cost more than the write
    and leave the event loop idle meanwhile. Run where it stands, it must never wait: not for
    the lock (another transaction in a thread holds it: the caller takes the thread instead),
    and never on PostgreSQL, where every statement is a round trip.
    """
    lock = _WRITER_LOCKS.get(engine)
    if lock is None or not lock.acquire(blocking=False):
        yield None
        return
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        lock.release()


def unindexed(column: ColumnElement[str]) -> ColumnElement[str]:
    """``column || ''``: the same value, in a form no index can serve.

    Why: SQLite has no statistics unless ``ANALYZE`` runs, and without them
    its planner takes an equality on a column over an ``IN`` on another. The
    workers' claims filter on status (few rows in flight, indexed) and on
    channel (nearly every row ever stored); this keeps the channel's index
    out of the plan, so a claim reads the rows in flight, not the history.
    On PostgreSQL, which has statistics, only where no estimate is needed
    (inside the claims' per-row subqueries): elsewhere an expression it
    cannot estimate makes it misjudge a query.
    """
    return column.concat(literal_column("''"))


def on_conflict_statements(build: Callable[[Any], Any]) -> dict[bool, Any]:
    """``build(insert)`` with each dialect's ``insert`` (the one that knows ``ON CONFLICT``),
    by "is the database PostgreSQL".

    Built once by the callers (hot paths): the two dialects spell the
    statement with different constructs, so both are made up front.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return {False: build(sqlite_insert), True: build(pg_insert)}


def insert_ignoring(table: Table, *, conflict: list[str] | None = None) -> dict[bool, Any]:
    """``INSERT ... ON CONFLICT DO NOTHING`` into ``table`` (see :func:`on_conflict_statements`).

    ``conflict`` names the unique columns (None: any constraint).
    """
    return on_conflict_statements(lambda insert: insert(table).on_conflict_do_nothing(index_elements=conflict))


def lock_key(session: Session, *parts: str) -> None:
    """Hold a lock named by ``parts`` until the session's transaction ends (PostgreSQL).

    A transaction-level advisory lock, for serialising writers of something
    that has no row to lock yet (the first webhook of a student). On SQLite
    it does nothing: ``BEGIN IMMEDIATE`` already lets one writer in at a time.
    """
    lock_keys(session, ["\x1f".join(parts)])


def lock_keys(session: Session | Connection, keys: Sequence[str]) -> None:
    """Hold the locks named ``keys``, taken in the order given, until the transaction ends (PostgreSQL).

    One round trip for all of them. Callers taking several pass them
    sorted, so that two transactions never wait for each other's locks.
    """
    if not keys or dialect_name(session) != "postgresql":
        return
    if len(keys) == 1:
        session.execute(_LOCK_ONE, {"key": keys[0]})
    else:
        session.execute(_LOCK_MANY, {"keys": list(keys)})


def dialect_name(session: Session | Connection) -> str:
    """"postgresql" or "sqlite", for a session or a connection."""
    return session.dialect.name if isinstance(session, Connection) else session.get_bind().dialect.name


_LOCK_ONE = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
#: ``WITH ORDINALITY ... ORDER BY``: the locks are taken in the array's order, whatever the plan.
_LOCK_MANY = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k.key, 0)) "
    "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS k(key, n) ORDER BY k.n"
)
