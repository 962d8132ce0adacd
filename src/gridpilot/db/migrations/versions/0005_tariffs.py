"""Versioned time-of-use tariffs and KPI inputs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tariff_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_tariff_versions_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("valid_from_ms", sa.BigInteger(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("site_id", "valid_from_ms", name="uq_tariff_versions_site_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tariff_versions_site_id", "tariff_versions", ["site_id"])


def downgrade() -> None:
    op.drop_index("ix_tariff_versions_site_id", table_name="tariff_versions")
    op.drop_table("tariff_versions")
