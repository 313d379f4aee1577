"""Alembic's environment: our metadata, and the connection :mod:`bot.schema` hands over.

:mod:`bot.schema` always passes an open connection in
``config.attributes["connection"]`` (it holds the deployment-wide schema
lock on it), so there is no URL handling and no offline mode here.
"""
from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from bot import models, staff_models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare `alembic` call
    raise RuntimeError("run migrations through `seguro-bot db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
