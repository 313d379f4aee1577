"""An index for the outbox's claim: the messages of one status in id order.

With it the claim reads the oldest due messages and stops at its limit;
without it, it read every message in flight, checked each against its
conversation's earlier ones, and sorted them all, on every claim (5 ms
with 2,000 replies waiting, and the backlog is largest when load is).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_message_status_id', 'message', ['status', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_status_id', table_name='message')
