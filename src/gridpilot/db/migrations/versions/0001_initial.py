"""Initial schema: sites, assets, metrics, users, tokens, API keys, readings, rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("elevation_m", sa.Float()),
        sa.Column("contract_demand_kw", sa.Float()),
        sa.Column("emission_factor_kg_per_kwh", sa.Float(), nullable=False),
        sa.Column("tariff", sa.JSON()),
        sa.Column(
            "parent_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_sites_parent_id_sites", ondelete="SET NULL"),
        ),
        sa.Column("description", sa.String(2000)),
        *_timestamps(),
        sa.UniqueConstraint("name", name="uq_sites_name"),
        sqlite_autoincrement=True,  # ids are never reused (tokens and readings refer to them)
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_assets_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("rated_capacity_kw", sa.Float()),
        sa.Column("source_id", sa.String(40)),
        sa.Column("manufacturer", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("serial_number", sa.String(200)),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("install_date", sa.Date()),
        sa.Column("operator", sa.String(200)),
        sa.Column("expected_interval_s", sa.Float()),
        sa.Column("attributes", sa.JSON(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("site_id", "name", name="uq_assets_site_id_name"),
        sa.UniqueConstraint("source_id", name="uq_assets_source_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_assets_site_id", "assets", ["site_id"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("min_value", sa.Float()),
        sa.Column("max_value", sa.Float()),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("key", name="uq_metrics_key"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("site_restricted", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "user_sites",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_user_sites_user_id_users", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_user_sites_site_id_sites", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(64), nullable=False),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_refresh_tokens_user_id_users", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime()),
        sa.Column("revoked_at", UtcDateTime()),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"])
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", name="fk_api_keys_asset_id_assets", ondelete="CASCADE"),
        ),
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_api_keys_site_id_sites", ondelete="CASCADE"),
        ),
        sa.Column(
            "created_by",
            sa.Integer(),
            sa.ForeignKey("users.id", name="fk_api_keys_created_by_users", ondelete="SET NULL"),
        ),
        sa.Column("last_used_at", UtcDateTime()),
        sa.Column("revoked_at", UtcDateTime()),
        *_timestamps(),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
    )
    op.create_index("ix_api_keys_asset_id", "api_keys", ["asset_id"])

    if op.get_bind().dialect.name == "postgresql":
        # Daily range partitions are created on demand by the writer and dropped by retention.
        op.execute(
            "CREATE TABLE readings ("
            " asset_id integer NOT NULL, metric_id integer NOT NULL,"
            " ts bigint NOT NULL, value double precision NOT NULL,"
            " CONSTRAINT pk_readings PRIMARY KEY (asset_id, metric_id, ts)"
            ") PARTITION BY RANGE (ts)"
        )
    else:
        op.create_table(
            "readings",
            sa.Column("asset_id", sa.Integer(), primary_key=True),
            sa.Column("metric_id", sa.Integer(), primary_key=True),
            sa.Column("ts", sa.BigInteger(), primary_key=True),
            sa.Column("value", sa.Float(), nullable=False),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "rollups",
        sa.Column("asset_id", sa.Integer(), primary_key=True),
        sa.Column("metric_id", sa.Integer(), primary_key=True),
        sa.Column("step_ms", sa.Integer(), primary_key=True),
        sa.Column("bucket_ms", sa.BigInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("sum", sa.Float(), nullable=False),
        sa.Column("first", sa.Float(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("energy_delta", sa.Float(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_pending",
        sa.Column("asset_id", sa.Integer(), primary_key=True),
        sa.Column("metric_id", sa.Integer(), primary_key=True),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "ingest_rejects",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(500)),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey(
                "assets.id", name="fk_ingest_rejects_asset_id_assets", ondelete="SET NULL"
            ),
        ),
        sa.Column("payload_excerpt", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
    )
    op.create_index("ix_ingest_rejects_received_at", "ingest_rejects", ["received_at"])


def downgrade() -> None:
    for table in (
        "ingest_rejects",
        "rollup_pending",
        "rollups",
        "readings",
        "api_keys",
        "refresh_tokens",
        "user_sites",
        "users",
        "metrics",
        "assets",
        "sites",
    ):
        op.drop_table(table)
