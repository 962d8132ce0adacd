"""OpenADR 2.0b VEN and VTN state (openadr domain, #17 item 6).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

New tables only (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, **kw: object) -> sa.Column:
    referred, _, _ = target.partition(".")
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(target, name=f"fk_{table}_{column}_{referred}", ondelete="CASCADE"),
        **kw,  # type: ignore[arg-type]
    )


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _vens() -> None:
    op.create_table(
        "openadr_vens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("vtn_url", sa.String(500), nullable=False),
        sa.Column("ven_name", sa.String(200), nullable=False),
        sa.Column("ven_id", sa.String(200)),
        sa.Column("registration_id", sa.String(200)),
        sa.Column("cert_path", sa.String(1000)),
        sa.Column("key_path", sa.String(1000)),
        sa.Column("ca_file", sa.String(1000)),
        sa.Column("vtn_fingerprint", sa.String(100)),
        sa.Column("check_hostname", sa.Boolean(), nullable=False),
        sa.Column("opt_policy", sa.String(20), nullable=False),
        sa.Column("level_pct", sa.Float(), nullable=False),
        sa.Column("price_pct", sa.Float(), nullable=False),
        sa.Column("baseline_method", sa.String(40), nullable=False),
        sa.Column("report_interval_s", sa.Integer(), nullable=False),
        sa.Column("site_ids", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config_version", sa.Integer(), nullable=False),
        sa.Column("last_poll_ms", sa.BigInteger()),
        sa.Column("last_error", sa.String(2000)),
        *_stamps(),
        sa.UniqueConstraint("name", name="uq_openadr_vens_name"),
    )
    op.create_table(
        "openadr_received",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("openadr_received", "ven_config_id", "openadr_vens.id", nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("modification_number", sa.Integer(), nullable=False),
        sa.Column("event_status", sa.String(20), nullable=False),
        sa.Column("signal_name", sa.String(50), nullable=False),
        sa.Column("signal_type", sa.String(50), nullable=False),
        sa.Column("intervals", sa.JSON(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("opt_type", sa.String(10), nullable=False),
        sa.Column("dr_event_ids", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("ven_config_id", "event_id", name="uq_openadr_received_ven_config_id"),
    )


def _vtn() -> None:
    op.create_table(
        "openadr_peers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ven_name", sa.String(200), nullable=False),
        sa.Column("ven_id", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(100)),
        sa.Column("site_ids", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("registration_id", sa.String(200)),
        sa.Column("registered_ms", sa.BigInteger()),
        *_stamps(),
        sa.UniqueConstraint("ven_name", name="uq_openadr_peers_ven_name"),
        sa.UniqueConstraint("ven_id", name="uq_openadr_peers_ven_id"),
    )
    op.create_table(
        "openadr_vtn_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("site_ids", sa.JSON(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("signal_name", sa.String(50), nullable=False),
        sa.Column("signal_type", sa.String(50), nullable=False),
        sa.Column("signal_value", sa.Float(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(200)),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_openadr_vtn_events_event_id"),
    )
    op.create_index("ix_openadr_vtn_events_status", "openadr_vtn_events", ["status"])
    op.create_table(
        "openadr_vtn_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("openadr_vtn_deliveries", "vtn_event_id", "openadr_vtn_events.id", nullable=False),
        _fk("openadr_vtn_deliveries", "peer_id", "openadr_peers.id", nullable=False),
        sa.Column("delivered_ms", sa.BigInteger()),
        sa.Column("opt_type", sa.String(10)),
        sa.Column("opt_ms", sa.BigInteger()),
        sa.Column("reports", sa.JSON(), nullable=False),
        sa.UniqueConstraint(
            "vtn_event_id", "peer_id", name="uq_openadr_vtn_deliveries_vtn_event_id"
        ),
    )
    op.create_index("ix_openadr_vtn_deliveries_peer_id", "openadr_vtn_deliveries", ["peer_id"])
    op.create_table(
        "openadr_leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("until_ms", sa.BigInteger(), nullable=False),
    )


def upgrade() -> None:
    _vens()
    _vtn()


def downgrade() -> None:
    for table in ("openadr_leases", "openadr_vtn_deliveries", "openadr_vtn_events",
                  "openadr_peers", "openadr_received", "openadr_vens"):  # fmt: skip
        op.drop_table(table)
