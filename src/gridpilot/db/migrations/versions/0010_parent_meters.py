"""Sub-metering: an asset may name the meter it is a sub-meter of (same site).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite rebuilds the table: keep AUTOINCREMENT (a reused id would inherit readings)
    with op.batch_alter_table("assets", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("parent_asset_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_assets_parent_asset_id_assets",
            "assets",
            ["parent_asset_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_assets_parent_asset_id", ["parent_asset_id"])


def downgrade() -> None:
    with op.batch_alter_table("assets", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index("ix_assets_parent_asset_id")
        batch.drop_constraint("fk_assets_parent_asset_id_assets", type_="foreignkey")
        batch.drop_column("parent_asset_id")
