"""Real-time peak shaving settings and log (flex, #23).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05

Two new tables (``flex/models.py``): ``peak_shaving_configs``, one row per site with the lease
of the process running it, and ``peak_shaving_actions``, what the controller did. Nothing
existing changes, so no batch mode is needed on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _fk(column: str, target: str, table: str) -> sa.Column:
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    configs = "peak_shaving_configs"
    op.create_table(
        configs,
        _fk("site_id", "sites", configs),
        _fk("resource_id", "flex_resources", configs),
        _fk("meter_asset_id", "assets", configs),
        sa.Column("meter_metric", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("threshold_kw", sa.Float(), nullable=False),
        sa.Column("recharge_below_kw", sa.Float()),
        sa.Column("soc_min_pct", sa.Float()),
        sa.Column("soc_hysteresis_pct", sa.Float(), nullable=False),
        sa.Column("deadband_kw", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("discharge_blocked", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", name="pk_peak_shaving_configs"),
    )
    op.create_index(f"ix_{configs}_resource_id", configs, ["resource_id"])
    op.create_index(f"ix_{configs}_meter_asset_id", configs, ["meter_asset_id"])
    actions = "peak_shaving_actions"
    op.create_table(
        actions,
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("site_id", "sites", actions),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("grid_import_kw", sa.Float()),
        sa.Column("battery_power_kw", sa.Float()),
        sa.Column("soc_pct", sa.Float()),
        sa.Column("setpoint_kw", sa.Float()),
        sa.Column("base_kw", sa.Float()),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("command_id", sa.Integer()),
        sa.Column("detail", sa.String(500), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_peak_shaving_actions_site_ts", actions, ["site_id", "ts_ms"])


def downgrade() -> None:
    op.drop_table("peak_shaving_actions")
    op.drop_table("peak_shaving_configs")
