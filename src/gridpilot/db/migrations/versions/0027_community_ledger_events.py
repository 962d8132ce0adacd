"""Status changes of community ledger lines (#18, docs/community.md): their history and audit.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05

One new table: each change of a ``community_transactions`` line's status (PENDING, PROCESSED,
FAILED) with who made it and the payment's method and reference; the line's amount never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "community_transaction_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "transaction_id",
            sa.Integer(),
            sa.ForeignKey(
                "community_transactions.id",
                name="fk_community_transaction_events_transaction",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("from_status", sa.String(10), nullable=False),
        sa.Column("to_status", sa.String(10), nullable=False),
        sa.Column("payment_method", sa.String(50)),
        sa.Column("payment_reference", sa.String(100)),
        sa.Column("note", sa.String(500)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(150)),
        sa.Column("at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_community_transaction_events_transaction_id",
        "community_transaction_events",
        ["transaction_id"],
    )


def downgrade() -> None:
    op.drop_table("community_transaction_events")
