"""A site's dynamic (market) energy prices for the flexibility planner (#23,
docs/flexibility.md): import and export EUR/kWh per interval, replacing the tariff's where
they cover a plan's steps.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_prices",
        sa.Column(
            "site_id",
            sa.Integer(),
            sa.ForeignKey("sites.id", name="fk_site_prices_site_id_sites", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("import_eur_per_kwh", sa.Float(), nullable=False),
        sa.Column("export_eur_per_kwh", sa.Float(), nullable=True),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site_id", "start_ms", name="pk_site_prices"),
    )


def downgrade() -> None:
    op.drop_table("site_prices")
