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


def _sequence() -> int | None:
    """SQLite's AUTOINCREMENT high-water mark of assets (None elsewhere)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return None
    value = bind.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = 'assets'").scalar()
    return int(value) if value is not None else None


def _restore_sequence(seq: int | None) -> None:
    """Keep the high-water mark across the rebuild, so a deleted asset's id is never reused."""
    if seq is None:
        return
    bind = op.get_bind()
    bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'assets'")
    bind.exec_driver_sql(
        "INSERT INTO sqlite_sequence (name, seq)"
        " VALUES ('assets', MAX(?, (SELECT COALESCE(MAX(id), 0) FROM assets)))",
        (seq,),
    )


def upgrade() -> None:
    seq = _sequence()
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
    _restore_sequence(seq)


def downgrade() -> None:
    with op.batch_alter_table("assets", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index("ix_assets_parent_asset_id")
        batch.drop_constraint("fk_assets_parent_asset_id_assets", type_="foreignkey")
        batch.drop_column("parent_asset_id")
