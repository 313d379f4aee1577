"""Holds that expire: conversation.staff_active_at and hold_notice_at, and the index the expiry reads.

A chat staff took stayed theirs forever (a staff member who left without
handing it back kept the bot silent to that student). The outbox now hands
back holds with no staff activity for ``HOLD_TIMEOUT_MINUTES``, read from
``staff_active_at``; ``hold_notice_at`` records the one "we are closed"
notice a hold sends. Chats held at the upgrade count as last worked on at
their last change, so an old forgotten hold goes back to the bot at once.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-15
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('conversation', sa.Column('staff_active_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('conversation', sa.Column('hold_notice_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_conversation_holder_staff_active', 'conversation', ['holder', 'staff_active_at'], unique=False)
    op.execute("UPDATE conversation SET staff_active_at = updated_at WHERE holder = 'staff'")


def downgrade() -> None:
    op.drop_index('ix_conversation_holder_staff_active', table_name='conversation')
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('hold_notice_at')
        batch.drop_column('staff_active_at')
