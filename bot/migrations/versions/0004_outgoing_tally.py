"""The outgoing guard's tally: paid messages claimed a second, instead of counting sent messages.

The guard counted the paid messages sent in the last minute at every claim
of the outbox: thousands of rows under load, read in the claim's
transaction. It now adds up at most sixty rows of this table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outgoing_tally',
        sa.Column('second', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('second'),
    )


def downgrade() -> None:
    op.drop_table('outgoing_tally')
