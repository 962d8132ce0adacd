"""Energy communities: members, plants, PODs, parameters, settlements, ledger (community).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _exact(precision: int = 14, scale: int = 2) -> sa.types.TypeEngine:
    """NUMERIC on PostgreSQL, the decimal text on SQLite (see community.models.Exact)."""
    return sa.Numeric(precision, scale).with_variant(sa.String(precision + 2), "sqlite")


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _fk(column: str, target: str, table: str, ondelete: str, **kw: Any) -> sa.Column:
    name = f"fk_{table}_{column}_{target.split('.')[0]}"
    return sa.Column(
        column, sa.Integer(), sa.ForeignKey(target, name=name, ondelete=ondelete), **kw
    )


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("description", sa.String(2000)),
        sa.Column("primary_substations", sa.JSON(), nullable=False),
        sa.Column("market_zone", sa.String(8), nullable=False),
        sa.Column("region", sa.String(60), nullable=False),
        sa.Column("distribution", sa.JSON(), nullable=False),
        sa.Column("allocation_rule", sa.String(40), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("code", name="uq_communities_code"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "community_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("user_type", sa.String(20), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        _fk("user_id", "users.id", "community_members", "SET NULL"),
        *_timestamps(),
        sa.UniqueConstraint("user_id", name="uq_community_members_user_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "community_memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("community_id", "communities.id", "community_memberships", "CASCADE", nullable=False),
        _fk(
            "member_id",
            "community_members.id",
            "community_memberships",
            "CASCADE",
            nullable=False,
        ),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("share_pct", _exact(5, 2)),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date()),
        *_timestamps(),
        sa.UniqueConstraint("community_id", "member_id", name="uq_community_memberships_member"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_community_memberships_community_id", "community_memberships", ["community_id"]
    )
    op.create_index("ix_community_memberships_member_id", "community_memberships", ["member_id"])
    op.create_table(
        "community_plants",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("community_id", "communities.id", "community_plants", "CASCADE", nullable=False),
        _fk("member_id", "community_members.id", "community_plants", "CASCADE", nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("pod_code", sa.String(20), nullable=False),
        sa.Column("plant_type", sa.String(10), nullable=False),
        sa.Column("nominal_power_kw", _exact(12, 3), nullable=False),
        sa.Column("connection_voltage", sa.String(50)),
        sa.Column("commissioning_date", sa.Date()),
        sa.Column("technology", sa.String(40)),
        sa.Column("capital_grant_pct", _exact(5, 2), nullable=False),
        sa.Column("primary_substation", sa.String(100), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("incentivised", sa.Boolean(), nullable=False),
        _fk("site_id", "sites.id", "community_plants", "SET NULL"),
        _fk("asset_id", "assets.id", "community_plants", "SET NULL"),
        sa.Column("address", sa.String(500)),
        sa.Column("city", sa.String(100)),
        sa.Column("province", sa.String(10)),
        sa.Column("zip_code", sa.String(10)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        *_timestamps(),
        sa.UniqueConstraint("pod_code", name="uq_community_plants_pod_code"),
        sa.UniqueConstraint("site_id", name="uq_community_plants_site_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_community_plants_community_id", "community_plants", ["community_id"])
    op.create_index("ix_community_plants_member_id", "community_plants", ["member_id"])
    op.create_table(
        "community_parameters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date()),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("note", sa.String(500)),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_community_parameters_name", "community_parameters", ["name"])
    op.create_table(
        "community_zonal_prices",
        sa.Column("zone", sa.String(8), primary_key=True),
        sa.Column("hour_ms", sa.BigInteger(), primary_key=True),
        sa.Column("price_eur_per_mwh", sa.Float(), nullable=False),
    )
    op.create_table(
        "community_settlements",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("community_id", "communities.id", "community_settlements", "CASCADE", nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("closed_at", UtcDateTime()),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("parameters_as_of", UtcDateTime(), nullable=False),
        sa.Column("statute", sa.JSON(), nullable=False),
        sa.Column("incentive_eur", _exact(), nullable=False),
        sa.Column("valorisation_eur", _exact(), nullable=False),
        sa.Column("gse_estimate_eur", _exact(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.UniqueConstraint("community_id", "year", "month", name="uq_community_settlements_month"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_community_settlements_community_id", "community_settlements", ["community_id"]
    )
    op.create_table(
        "community_transactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("community_id", "communities.id", "community_transactions", "CASCADE", nullable=False),
        _fk("settlement_id", "community_settlements.id", "community_transactions", "CASCADE"),
        _fk("member_id", "community_members.id", "community_transactions", "SET NULL"),
        _fk("plant_id", "community_plants.id", "community_transactions", "SET NULL"),
        sa.Column("transaction_type", sa.String(30), nullable=False),
        sa.Column("amount_eur", _exact(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("period_start", sa.Date()),
        sa.Column("period_end", sa.Date()),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payment_method", sa.String(50)),
        sa.Column("payment_reference", sa.String(100)),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("processed_at", UtcDateTime()),
        sqlite_autoincrement=True,
    )
    for column in ("community_id", "settlement_id", "member_id"):
        op.create_index(f"ix_community_transactions_{column}", "community_transactions", [column])


def downgrade() -> None:
    for table in (
        "community_transactions", "community_settlements", "community_zonal_prices",
        "community_parameters", "community_plants", "community_memberships",
        "community_members", "communities",
    ):  # fmt: skip
        op.drop_table(table)
