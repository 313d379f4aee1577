"""Test databases: a SQLite file in ``tmp_path``, or a fresh PostgreSQL database.

``TEST_DATABASE=postgres`` (``scripts/test`` sets it for its second run)
makes every test database a PostgreSQL database of its own, created on the
server named by ``TEST_POSTGRES_URL`` (default: the local one, trust auth)
and dropped after the test, so tests stay as independent as with SQLite
files. Creating one costs ~0.15 s: it is copied from a template database
that already holds the schema (made once per session by ``create_all``),
unless the test needs an empty one (``empty=True``: migrations, start-up).
Drops run in a background thread, overlapping the next test.
"""
from __future__ import annotations

import os
import queue
import secrets
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def backend() -> str:
    """``sqlite`` or ``postgres``, from ``TEST_DATABASE``."""
    value = os.environ.get("TEST_DATABASE", "sqlite").strip().lower()
    return "postgres" if value in ("postgres", "postgresql", "pg") else "sqlite"


def postgres() -> bool:
    return backend() == "postgres"


def admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)


class PostgresDatabases:
    """Creates and drops the per-test databases on one server."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.prefix = f"sbt_{os.getpid()}_{secrets.token_hex(3)}"
        self.template: str | None = None
        self.by_key: dict[str, str] = {}
        self.created: list[str] = []
        self._count = 0
        self._lock = threading.Lock()
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_loop, name="drop-test-databases", daemon=True)
        self._dropper.start()

    def _connect(self):  # type: ignore[no-untyped-def]
        import psycopg

        u = self.url
        return psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                               password=u.password, dbname=u.database or "postgres", autocommit=True)

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, *, empty: bool) -> str:
        """A new database; with the schema at head unless ``empty``. Returns its URL."""
        template = "template0" if empty else self._schema_template()
        with self._lock:
            self._count += 1
            name = f"{self.prefix}_{self._count}"
            self.created.append(name)
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url_for(name)

    def _schema_template(self) -> str:
        with self._lock:
            if self.template is not None:
                return self.template
            name = f"{self.prefix}_tpl"
            with self._connect() as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            from bot.storage import init_db, make_engine

            engine = make_engine(self.url_for(name))
            try:
                init_db(engine)
            finally:
                engine.dispose()
            self.template = name
            return name

    def release(self) -> None:
        """Drop (in the background) every database made since the last call."""
        with self._lock:
            names, self.created = self.created, []
            self.by_key.clear()
        for name in names:
            self._drops.put(name)

    def _drop_loop(self) -> None:
        conn = None
        while True:
            name = self._drops.get()
            try:
                if name is None:
                    return
                if conn is None:
                    conn = self._connect()
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception:  # a leftover database is harmless; never fail a test for it
                conn = None
            finally:
                self._drops.task_done()

    def close(self) -> None:
        self.release()
        if self.template is not None:
            self._drops.put(self.template)
            self.template = None
        self._drops.put(None)
        self._dropper.join(timeout=60)


_pg: PostgresDatabases | None = None


def pg() -> PostgresDatabases:
    global _pg
    if _pg is None:
        _pg = PostgresDatabases(admin_url())
    return _pg


def database_url(tmp_path: Path, name: str = "test.db", *, empty: bool = True) -> str:
    """The URL of a test database: ``sqlite:///tmp_path/name``, or its PostgreSQL stand-in.

    The same (``tmp_path``, ``name``) gives the same database within a test
    (a service restarted on "the same file"). ``empty=False`` allows a
    database that already has the schema (faster on PostgreSQL).
    """
    if not postgres():
        return f"sqlite:///{tmp_path / name}"
    databases = pg()
    key = str(tmp_path / name)
    if key not in databases.by_key:
        databases.by_key[key] = databases.create(empty=empty)
    return databases.by_key[key]


def release() -> None:
    """After each test: drop its PostgreSQL databases."""
    if _pg is not None:
        _pg.release()


def close() -> None:
    """At the end of the session: drop what is left, the template included."""
    global _pg
    if _pg is not None:
        _pg.close()
        _pg = None


def has_schema(url: str) -> bool:
    """True when the database at ``url`` exists and holds the bot's tables (without creating a SQLite file)."""
    from sqlalchemy import inspect

    from bot.storage import make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return False
    engine = make_engine(url)
    try:
        return {"contact", "conversation", "message"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
