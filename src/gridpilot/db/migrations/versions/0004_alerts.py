"""Alert rules, alerts, notifications, audit trail.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _fk(name: str, column: str, target: str, ondelete: str, nullable: bool = True) -> sa.Column:
    table, _, _ = target.partition(".")
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(target, name=f"fk_{name}_{column}_{table}", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("metric", sa.String(64)),
        _fk("alert_rules", "site_id", "sites.id", "CASCADE"),
        _fk("alert_rules", "asset_id", "assets.id", "CASCADE"),
        sa.Column("asset_kind", sa.String(40)),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("channel_ids", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.String(40)),
        sa.Column("description", sa.String(2000)),
        sa.Column("created_by", sa.String(200)),
        *_timestamps(),
        sa.UniqueConstraint("builtin", name="uq_alert_rules_builtin"),
    )
    op.create_index("ix_alert_rules_site_id", "alert_rules", ["site_id"])
    op.create_index("ix_alert_rules_asset_id", "alert_rules", ["asset_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("alerts", "rule_id", "alert_rules.id", "SET NULL"),
        sa.Column("subject", sa.String(40), nullable=False),
        _fk("alerts", "site_id", "sites.id", "CASCADE", nullable=False),
        _fk("alerts", "asset_id", "assets.id", "CASCADE"),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("metric", sa.String(64)),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("message", sa.String(2000), nullable=False),
        sa.Column("value", sa.Float()),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("flapping", sa.Boolean(), nullable=False),
        sa.Column("raised_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime()),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("ack_comment", sa.String(2000)),
        sa.Column("resolved_at", UtcDateTime()),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("resolve_reason", sa.String(40)),
        sa.Column("resolve_comment", sa.String(2000)),
    )
    op.create_index(
        "uq_alerts_open_subject",
        "alerts",
        ["rule_id", "subject"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_alerts_site_id_raised_at", "alerts", ["site_id", "raised_at"])
    op.create_index("ix_alerts_asset_id", "alerts", ["asset_id"])
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _fk("notification_channels", "site_id", "sites.id", "CASCADE"),
        sa.Column("min_severity", sa.String(10), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("secret", sa.String(200)),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(200)),
        *_timestamps(),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk(
            "notification_deliveries",
            "channel_id",
            "notification_channels.id",
            "CASCADE",
            nullable=False,
        ),
        _fk("notification_deliveries", "alert_id", "alerts.id", "CASCADE"),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime()),
        sa.UniqueConstraint("message_id", name="uq_notification_deliveries_message_id"),
    )
    op.create_index(
        "ix_notification_deliveries_channel_id", "notification_deliveries", ["channel_id"]
    )
    op.create_index(
        "ix_notification_deliveries_state_due",
        "notification_deliveries",
        ["state", "next_attempt_ms"],
    )
    op.create_table(
        "alert_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("site_id", sa.Integer()),
        sa.Column("rule_id", sa.Integer()),
        sa.Column("alert_id", sa.Integer()),
        sa.Column("channel_id", sa.Integer()),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_alert_audit_at", "alert_audit", ["at"])


def downgrade() -> None:
    for table in (
        "alert_audit",
        "notification_deliveries",
        "notification_channels",
        "alerts",
        "alert_rules",
    ):
        op.drop_table(table)
