"""Plausibility per asset: what an implausible power reading does (reject, flag, off).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

One column with a server default, added in place (``ALTER TABLE ... ADD COLUMN`` on both back
ends): SQLite does not rebuild ``assets``, so its AUTOINCREMENT and the ``sqlite_sequence``
high-water mark stay as they are (0010 had to restore them after its rebuild).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "assets",
        sa.Column("plausibility", sa.String(10), nullable=False, server_default="reject"),
    )


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place (no rebuild); older ones are not supported here
    op.drop_column("assets", "plausibility")
