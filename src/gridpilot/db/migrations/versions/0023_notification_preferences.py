"""Notification preferences per user (#22, docs/notifications.md).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05

A ``notification_preferences`` row per user who saved preferences (JSON; no row: the defaults),
and two nullable columns on ``notification_deliveries`` added with plain ``ADD COLUMN``: the
recipients of an e-mail delivery split by their owners' preferences, and a note saying why a
delivery is held or suppressed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("preferences", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.add_column("notification_deliveries", sa.Column("recipients", sa.JSON(), nullable=True))
    op.add_column("notification_deliveries", sa.Column("note", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("notification_deliveries", "note")
    op.drop_column("notification_deliveries", "recipients")
    op.drop_table("notification_preferences")
