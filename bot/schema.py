"""Schema versions: Alembic migrations, the schema lock, and the check every entry point makes.

The schema is owned by the migrations in :mod:`bot.migrations`; the
database records its revision in Alembic's ``alembic_version`` table. Three
ways of getting a usable database, all through :func:`ensure_schema`:

- ``seguro-bot db upgrade`` (:func:`upgrade`) runs the pending migrations:
  the deploy step;
- ``seguro-bot serve`` migrates an *empty* database itself (a first start
  needs no extra step) but refuses one that is behind, with a message to run
  ``db upgrade``: a schema change is a deploy decision, not a side effect of
  starting one of several workers;
- tests, ``simulate`` and ``chat`` use ``create_all`` on an empty database,
  which is faster, and stamp it at head. A test checks that the migrations
  and ``create_all`` produce the same schema on SQLite and PostgreSQL.

Every schema change runs under a deployment-wide lock (a PostgreSQL
advisory lock; SQLite's ``BEGIN IMMEDIATE`` on its file), so several
workers starting together on a new database migrate it once.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Literal

# Alembic logs a line per autogenerate plugin when it is imported, and "Context impl …" /
# "Will assume … DDL" each time it looks at a database: noise in every start-up log.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


class _AlembicChatter(logging.Filter):
    """Drops alembic's per-connection chatter; keeps "Running upgrade …" and everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_AlembicChatter())

from alembic import command  # noqa: E402  (after the logger set-up above, which its import logs through)
from alembic.config import Config  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import inspect, text  # noqa: E402
from sqlalchemy.engine import Connection, Engine  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from bot import models, staff_models  # noqa: E402,F401  (registers the tables on SQLModel.metadata)
from bot.errors import SchemaOutdated  # noqa: E402

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
#: Key of the PostgreSQL advisory lock held while the schema is checked or changed.
SCHEMA_LOCK_KEY = 0x5E6B_0001

State = Literal["empty", "current", "behind", "unknown", "unversioned"]


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no alembic.ini to find, works from an installed package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision this version of the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "bot/migrations/versions has no revision"
    return head


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, or None (empty, or made before migrations)."""
    return MigrationContext.configure(connection).get_current_revision()


def state(connection: Connection) -> State:
    """Where the database stands compared with this version of the code."""
    revision = current_revision(connection)
    if revision is None:
        tables = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
        return "unversioned" if tables & set(SQLModel.metadata.tables) else "empty"
    if revision == head_revision():
        return "current"
    return "behind" if revision in known_revisions() else "unknown"


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection holding the deployment-wide schema lock until the block ends.

    On PostgreSQL a session-level advisory lock, so that two workers starting
    at once on a new database do not both create its tables. SQLite needs
    none: every transaction there starts with ``BEGIN IMMEDIATE``.
    """
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            connection.commit()
        try:
            yield connection
        finally:
            if postgres:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
                connection.commit()


def ensure_schema(engine: Engine, *, empty: Literal["migrate", "create_all"] = "create_all") -> State:
    """Make sure the database can be used by this code; returns the state it was found in.

    An empty database is created (by migrations, or by ``create_all`` plus a
    stamp, which is faster); a current one is left alone; one made by an
    older version raises :class:`SchemaOutdated` telling to run
    ``seguro-bot db upgrade``. A database made before migrations existed
    (tables, no ``alembic_version``) is adopted when it has every column.

    Alembic's own INFO lines are held back here (this runs at every start-up);
    one line of ours says what was done.
    """
    with _quiet_alembic(), schema_lock(engine) as connection:
        found = state(connection)
        connection.commit()
        if found == "current":
            _check_columns(connection, f"although it is at revision {head_revision()} (was it changed by hand?)")
            return found
        if found == "behind":
            raise SchemaOutdated(
                f"the database schema is at revision {current_revision(connection)} but this version of "
                f"seguro-bot needs {head_revision()}: run `seguro-bot db upgrade` (with the same DATABASE_URL)"
            )
        if found == "unknown":
            raise SchemaOutdated(
                f"the database schema is at revision {current_revision(connection)}, which this version of "
                "seguro-bot does not know (was it migrated by a newer version?)"
            )
        if found == "unversioned":
            _adopt(connection)
            log.info("database adopted: tables made before migrations, stamped at revision %s", head_revision())
        elif empty == "migrate":
            _run(connection, "upgrade")
            log.info("empty database: schema created by the migrations, at revision %s", head_revision())
        else:
            SQLModel.metadata.create_all(connection)
            _run(connection, "stamp")
        connection.commit()
        return found


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic's INFO lines off for the block (warnings and errors still go through)."""
    logger = logging.getLogger("alembic")
    old = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(old)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Run every pending migration (``seguro-bot db upgrade``); returns (revision before, after)."""
    with schema_lock(engine) as connection:
        before = current_revision(connection)
        found = state(connection)
        connection.commit()
        if found == "unknown":
            raise SchemaOutdated(f"the database is at revision {before}, unknown to this version of seguro-bot")
        if found == "unversioned":
            _adopt(connection)
        else:
            _run(connection, "upgrade")
        connection.commit()
        return before, current_revision(connection) or ""


def _check_columns(connection: Connection, why: str) -> None:
    """Raise :class:`SchemaOutdated` naming every column the models need and the database lacks."""
    from bot.storage import missing_columns

    missing = missing_columns(connection)
    connection.commit()
    if missing:
        raise SchemaOutdated(f"the database lacks {', '.join(missing)} {why}")


def _adopt(connection: Connection) -> None:
    """Stamp a database made by ``create_all`` before migrations existed, if it has every column."""
    _check_columns(connection, "(it was created by an older version of seguro-bot, before schema migrations; "
                               "a development SQLite file can simply be deleted)")
    SQLModel.metadata.create_all(connection)  # tables added since, if any
    _run(connection, "stamp")


def _run(connection: Connection, what: Literal["upgrade", "stamp"]) -> None:
    config = alembic_config(connection)
    if what == "upgrade":
        command.upgrade(config, "head")
    else:
        command.stamp(config, "head")


def revision(engine: Engine, message: str) -> None:
    """Write a new migration by comparing the models with a database at head (for developers)."""
    with schema_lock(engine) as connection:
        command.revision(alembic_config(connection), message=message, autogenerate=True)
