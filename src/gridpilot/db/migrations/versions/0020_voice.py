"""Voice interactions log (voice): every voice query, its intent, slots, answer and latency.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04

A new table only (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_interactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("user_id", sa.Integer()),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("utterance", sa.String(1000)),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("intent", sa.String(40)),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("answer", sa.String(2000), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("cached", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_voice_interactions_at", "voice_interactions", ["at"])
    op.create_index("ix_voice_interactions_user_id", "voice_interactions", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_voice_interactions_user_id", table_name="voice_interactions")
    op.drop_index("ix_voice_interactions_at", table_name="voice_interactions")
    op.drop_table("voice_interactions")
