"""Urgency is a field of the ticket: ticket.urgent.

A report made from an emergency room or a hospital while not covered was
urgent only as the word URGENTE inside its description, which the inbox
could neither filter on nor list first. Tickets whose description carries
the flow's mark (``URGENTE: ``, case and all) are urgent after the upgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('ticket', sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Case-sensitive on both databases (SQLite's LIKE is not): instr / strpos.
    found = "strpos(description, 'URGENTE: ') > 0" if op.get_bind().dialect.name == "postgresql" \
        else "instr(description, 'URGENTE: ') > 0"
    op.execute(f"UPDATE ticket SET urgent = true WHERE {found}")


def downgrade() -> None:
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('urgent')
