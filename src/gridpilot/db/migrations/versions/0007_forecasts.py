"""Stored forecasts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_forecasts_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", name="fk_forecasts_asset_id_assets", ondelete="CASCADE"),
        ),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("issued_ms", sa.BigInteger(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("step_ms", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("seasonality", sa.JSON(), nullable=False),
        sa.Column("regressors", sa.JSON(), nullable=False),
        sa.Column("calibration_errors", sa.Integer(), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_forecasts_target", "forecasts", ["site_id", "asset_id", "metric", "issued_ms"]
    )


def downgrade() -> None:
    op.drop_index("ix_forecasts_target", table_name="forecasts")
    op.drop_table("forecasts")
