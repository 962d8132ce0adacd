"""Demand-response dispatch plans and steps (dr): which flexible resources an event uses, and
every command sent for it (shed during the event, restore after it).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

New tables only (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str, **kw: object) -> sa.Column:
    referred, _, _ = target.partition(".")
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(target, name=f"fk_{table}_{column}_{referred}", ondelete=ondelete),
        **kw,  # type: ignore[arg-type]
    )


def upgrade() -> None:
    op.create_table(
        "dr_dispatch_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("dr_dispatch_plans", "event_id", "dr_events.id", "CASCADE", nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("solver_status", sa.String(20), nullable=False),
        sa.Column("planned_kw", sa.Float(), nullable=False),
        sa.Column("shortfall_kw", sa.Float(), nullable=False),
        sa.Column("cost_eur", sa.String(40), nullable=False),
        sa.Column("pre_event_kw", sa.Float()),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("under_target_alerted", sa.Boolean(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_dr_dispatch_plans_event_id"),
    )
    op.create_table(
        "dr_dispatch_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("dr_dispatch_steps", "plan_id", "dr_dispatch_plans.id", "CASCADE", nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _fk("dr_dispatch_steps", "resource_id", "flex_resources.id", "SET NULL"),
        sa.Column("resource_name", sa.String(200), nullable=False),
        sa.Column("resource_kind", sa.String(30), nullable=False),
        _fk("dr_dispatch_steps", "asset_id", "assets.id", "SET NULL"),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("reduction_kw", sa.Float(), nullable=False),
        sa.Column("command_kind", sa.String(30)),
        sa.Column("command_params", sa.JSON(), nullable=False),
        _fk("dr_dispatch_steps", "command_id", "commands.id", "SET NULL"),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500)),
        sa.Column("sent_ms", sa.BigInteger()),
    )
    op.create_index(
        "ix_dr_dispatch_steps_plan_id_start_ms", "dr_dispatch_steps", ["plan_id", "start_ms"]
    )


def downgrade() -> None:
    op.drop_index("ix_dr_dispatch_steps_plan_id_start_ms", table_name="dr_dispatch_steps")
    op.drop_table("dr_dispatch_steps")
    op.drop_table("dr_dispatch_plans")
