"""Who worked on a ticket, kept apart from who holds its chat: ticket.handled_by_staff_id.

``assigned_staff_id`` is cleared whenever the chat goes back to the bot
(Devolver al bot, a disabled account), which erased the only record of who
had replied: the console showed "Sin asignar" and the CSV's
``atendido_por`` was empty. The new column is set on the first staff reply
and never cleared. Existing tickets get it from the audit log's first reply
(or, for a resolved ticket nobody replied on, its assignee, as before).

Revision ID: 0006
Revises: 0005
Create Date: 2027-01-15
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('ticket', sa.Column('handled_by_staff_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE ticket SET handled_by_staff_id = ("
        " SELECT a.staff_id FROM staff_audit a"
        " WHERE a.ticket_id = ticket.id AND a.action = 'reply' AND a.staff_id IS NOT NULL"
        " ORDER BY a.at, a.id LIMIT 1)"
    )
    op.execute("UPDATE ticket SET handled_by_staff_id = assigned_staff_id"
               " WHERE handled_by_staff_id IS NULL AND status = 'resolved'")


def downgrade() -> None:
    with op.batch_alter_table('ticket') as batch:
        batch.drop_column('handled_by_staff_id')
