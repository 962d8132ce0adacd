"""Stored energy per series and bucket for the site balance (balance, issue #14).

``balance_energy``: the energy [kWh] of each series in each 15-min and 1-h bucket, written by
the rollup refresh; ``balance_energy_series``: the series whose stored energy is complete, with
the power hold limit it was computed with. Both start empty: a series gets its rows on its next
rollup refresh (the whole history at once), and until then the balance computes it from the
rollups as before (docs/site-energy.md, "Stored energy").

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the stored-energy tables."""
    op.create_table(
        "balance_energy",
        sa.Column("asset_id", sa.Integer(), primary_key=True),
        sa.Column("metric_id", sa.Integer(), primary_key=True),
        sa.Column("step_ms", sa.Integer(), primary_key=True),
        sa.Column("bucket_ms", sa.BigInteger(), primary_key=True),
        sa.Column("kwh", sa.Float(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "balance_energy_series",
        sa.Column("asset_id", sa.Integer(), primary_key=True),
        sa.Column("metric_id", sa.Integer(), primary_key=True),
        sa.Column("cap_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Drop the stored-energy tables."""
    op.drop_table("balance_energy_series")
    op.drop_table("balance_energy")
