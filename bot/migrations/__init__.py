"""Alembic migrations of the seguro-bot schema (run through :mod:`bot.schema`, not an alembic.ini).

``versions/`` holds one file per schema change; the first one creates the
whole schema of :mod:`bot.models` and :mod:`bot.staff_models`. After a
model change, add a revision with ``seguro-bot db revision -m "what"``
(autogenerate against a database at head) and review it.
"""
