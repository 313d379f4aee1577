"""An index for the outgoing guard's count of the last minute's sends (bot.limits).

Without it the count read every message ever sent, on every outbox claim.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_message_status_sent', 'message', ['status', 'sent_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_status_sent', table_name='message')
