"""Drop the index on message (status, sent_at): nothing reads it since the guard's tally (0004).

It served the outgoing guard's count of the last minute's sends; the guard
now adds up ``outgoing_tally``. Kept, it cost an index entry to write on
every message stored and every change of a reply's status, for no query.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_message_status_sent', table_name='message')


def downgrade() -> None:
    op.create_index('ix_message_status_sent', 'message', ['status', 'sent_at'], unique=False)
