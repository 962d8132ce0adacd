"""Flexibility: flexible resources and stored schedules (flex domain).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Two new tables; nothing existing changes, so no batch mode is needed on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flex_resources",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_flex_resources_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey(
                "assets.id", name="fk_flex_resources_asset_id_assets", ondelete="SET NULL"
            ),
        ),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("auto_dispatch", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("site_id", "name", name="uq_flex_resources_site_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_flex_resources_site_id", "flex_resources", ["site_id"])
    op.create_index("ix_flex_resources_asset_id", "flex_resources", ["asset_id"])
    op.create_table(
        "flex_schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_flex_schedules_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("step_s", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("solver_status", sa.String(20), nullable=False),
        sa.Column("objective_eur", sa.String(40), nullable=False),
        sa.Column("cost", sa.JSON(), nullable=False),
        sa.Column("savings", sa.JSON(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("message", sa.String(4000), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("series", sa.JSON(), nullable=False),
        sa.Column("solve_time_ms", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_flex_schedules_site_created", "flex_schedules", ["site_id", "created_ms"])


def downgrade() -> None:
    op.drop_index("ix_flex_schedules_site_created", table_name="flex_schedules")
    op.drop_table("flex_schedules")
    op.drop_index("ix_flex_resources_asset_id", table_name="flex_resources")
    op.drop_index("ix_flex_resources_site_id", table_name="flex_resources")
    op.drop_table("flex_resources")
