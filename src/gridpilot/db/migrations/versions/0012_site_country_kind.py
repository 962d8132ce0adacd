"""Sites get a country (ISO 3166-1 alpha-2) and a kind (factory, building, solar_park, ...),
by which the fleet summary filters.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Two nullable columns added in place on both back ends (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sites", sa.Column("country", sa.String(2), nullable=True))
    op.add_column("sites", sa.Column("kind", sa.String(40), nullable=True))


def downgrade() -> None:
    op.drop_column("sites", "kind")
    op.drop_column("sites", "country")
