"""Device groups and scheduled commands (fleet, #22): groups with their static members, command
schedules, their runs and per-device outcomes.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

New tables only (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str, nullable: bool = False) -> sa.Column:
    referred, _, _ = target.partition(".")
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(target, name=f"fk_{table}_{column}_{referred}", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    """Create ``device_groups``, ``device_group_members``, ``command_schedules``,
    ``command_schedule_runs`` and ``command_schedule_run_items``."""
    op.create_table(
        "device_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000)),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_device_groups_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "device_group_members",
        _fk("device_group_members", "group_id", "device_groups.id", "CASCADE"),
        _fk("device_group_members", "asset_id", "assets.id", "CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "asset_id", name="pk_device_group_members"),
    )
    op.create_index("ix_device_group_members_asset_id", "device_group_members", ["asset_id"])
    op.create_table(
        "command_schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        _fk("command_schedules", "asset_id", "assets.id", "CASCADE", nullable=True),
        _fk("command_schedules", "group_id", "device_groups.id", "RESTRICT", nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("ttl_s", sa.Integer()),
        sa.Column("cron", sa.String(200)),
        sa.Column("run_at_ms", sa.BigInteger()),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("missed_policy", sa.String(10), nullable=False),
        sa.Column("grace_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_ms", sa.BigInteger()),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    for column in ("asset_id", "group_id", "next_run_ms"):
        op.create_index(f"ix_command_schedules_{column}", "command_schedules", [column])
    op.create_table(
        "command_schedule_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("command_schedule_runs", "schedule_id", "command_schedules.id", "CASCADE"),
        sa.Column("occurrence_ms", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(2000)),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_ms", sa.BigInteger()),
        sa.UniqueConstraint(
            "schedule_id", "occurrence_ms", name="uq_command_schedule_runs_schedule_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "command_schedule_run_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("command_schedule_run_items", "run_id", "command_schedule_runs.id", "CASCADE"),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        _fk("command_schedule_run_items", "command_id", "commands.id", "SET NULL", nullable=True),
        sa.Column("error", sa.String(40)),
        sa.Column("message", sa.String(500)),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_command_schedule_run_items_run_id", "command_schedule_run_items", ["run_id"]
    )


def downgrade() -> None:
    op.drop_table("command_schedule_run_items")
    op.drop_table("command_schedule_runs")
    op.drop_table("command_schedules")
    op.drop_table("device_group_members")
    op.drop_table("device_groups")
