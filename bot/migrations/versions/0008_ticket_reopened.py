"""A ticket the student reopened says so: ticket.reopened_at and ticket.reopen_text.

A student who wrote again about a problem staff had resolved (within
``REOPEN_WITHIN``) reopened the same ticket, but the console showed it as
any open ticket, and what the student added was lost in the middle of the
description. ``reopened_at`` is the last time the student reopened it;
``reopen_text`` what they added since. Tickets reopened before the upgrade
get ``reopened_at`` from the audit log's last reopening by the student (no
staff member); what they added then is not known (NULL).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('ticket', sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('ticket', sa.Column('reopen_text', sa.String(), nullable=True))
    op.execute(
        "UPDATE ticket SET reopened_at = ("
        " SELECT MAX(a.at) FROM staff_audit a"
        " WHERE a.ticket_id = ticket.id AND a.action = 'reopen' AND a.staff_id IS NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('reopen_text')
        batch.drop_column('reopened_at')
