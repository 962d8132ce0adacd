"""ISO 50001 energy baselines and anomaly results.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "baselines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_baselines_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", name="fk_baselines_asset_id_assets", ondelete="CASCADE"),
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("granularity", sa.String(10), nullable=False),
        sa.Column("energy_metric", sa.String(64), nullable=False),
        sa.Column("drivers", sa.JSON(), nullable=False),
        sa.Column("auto_refit", sa.Boolean(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_baselines_site_id", "baselines", ["site_id"])
    op.create_index("ix_baselines_asset_id", "baselines", ["asset_id"])
    op.create_table(
        "baseline_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "baseline_id",
            sa.Integer(),
            sa.ForeignKey(
                "baselines.id",
                name="fk_baseline_versions_baseline_id_baselines",
                ondelete="CASCADE",
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("fitted_at", UtcDateTime(), nullable=False),
        sa.Column("fitted_by", sa.String(200), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("r2", sa.Float(), nullable=False),
        sa.Column("cv_rmse_pct", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.UniqueConstraint("baseline_id", "version", name="uq_baseline_versions_baseline_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", name="fk_anomalies_asset_id_assets", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_anomalies_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("asset_id", "metric", "method", "ts_ms", name="uq_anomalies_asset_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_anomalies_site_id_ts_ms", "anomalies", ["site_id", "ts_ms"])


def downgrade() -> None:
    op.drop_index("ix_anomalies_site_id_ts_ms", table_name="anomalies")
    op.drop_table("anomalies")
    op.drop_table("baseline_versions")
    op.drop_index("ix_baselines_asset_id", table_name="baselines")
    op.drop_index("ix_baselines_site_id", table_name="baselines")
    op.drop_table("baselines")
