"""Demand response: DR events, baselines, intervals, utility webhook deliveries (dr domain).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

New tables only (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0014"
down_revision = "0013"
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
        "dr_utilities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("baseline_method", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_dr_utilities_name"),
    )
    op.create_table(
        "dr_utility_sites",
        _fk("dr_utility_sites", "utility_id", "dr_utilities.id", "CASCADE", primary_key=True),
        _fk("dr_utility_sites", "site_id", "sites.id", "CASCADE", primary_key=True),
    )
    op.create_index("ix_dr_utility_sites_site_id", "dr_utility_sites", ["site_id"])
    op.create_table(
        "dr_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("dr_events", "site_id", "sites.id", "CASCADE", nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("step_ms", sa.Integer(), nullable=False),
        sa.Column("target_reduction_kw", sa.Float(), nullable=False),
        sa.Column("achieved_reduction_kw", sa.Float()),
        sa.Column("performance_pct", sa.Float()),
        sa.Column("pass_pct", sa.Float(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.String(2000)),
        sa.Column("source", sa.String(20), nullable=False),
        _fk("dr_events", "utility_id", "dr_utilities.id", "SET NULL"),
        sa.Column("external_id", sa.String(200)),
        sa.Column("idempotency_key", sa.String(500)),
        sa.Column("signal_kind", sa.String(20), nullable=False),
        sa.Column("signal_value", sa.Float()),
        sa.Column("target_reduction_pct", sa.Float()),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("baseline_method", sa.String(40), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_dr_events_idempotency_key"),
    )
    op.create_index("ix_dr_events_site_id_start_ms", "dr_events", ["site_id", "start_ms"])
    op.create_index("ix_dr_events_status", "dr_events", ["status"])
    op.create_table(
        "dr_event_intervals",
        _fk("dr_event_intervals", "event_id", "dr_events.id", "CASCADE", primary_key=True),
        sa.Column("ts_ms", sa.BigInteger(), primary_key=True),
        sa.Column("baseline_kw", sa.Float(), nullable=False),
        sa.Column("target_kw", sa.Float(), nullable=False),
        sa.Column("metered_kw", sa.Float()),
        sa.Column("reduction_kw", sa.Float()),
    )
    op.create_table(
        "dr_webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("dr_webhook_deliveries", "utility_id", "dr_utilities.id", "CASCADE", nullable=False),
        sa.Column("webhook_id", sa.String(200), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("processed_ms", sa.BigInteger()),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.UniqueConstraint("utility_id", "webhook_id", name="uq_dr_webhook_deliveries_utility_id"),
    )
    op.create_index("ix_dr_webhook_deliveries_state", "dr_webhook_deliveries", ["state"])


def downgrade() -> None:
    op.drop_index("ix_dr_webhook_deliveries_state", table_name="dr_webhook_deliveries")
    op.drop_table("dr_webhook_deliveries")
    op.drop_table("dr_event_intervals")
    op.drop_index("ix_dr_events_status", table_name="dr_events")
    op.drop_index("ix_dr_events_site_id_start_ms", table_name="dr_events")
    op.drop_table("dr_events")
    op.drop_index("ix_dr_utility_sites_site_id", table_name="dr_utility_sites")
    op.drop_table("dr_utility_sites")
    op.drop_table("dr_utilities")
