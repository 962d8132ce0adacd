"""Asset status and device commands.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_status",
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", name="fk_asset_status_asset_id_assets", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(10), nullable=False),
        sa.Column("last_seen_ms", sa.BigInteger()),
        sa.Column("changed_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "asset_id",
            sa.Integer(),
            sa.ForeignKey("assets.id", name="fk_commands_asset_id_assets", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(500)),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.Column("sent_ms", sa.BigInteger()),
        sa.Column("acknowledged_ms", sa.BigInteger()),
        sa.Column("completed_ms", sa.BigInteger()),
        sa.UniqueConstraint("asset_id", "idempotency_key", name="uq_commands_asset_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_commands_asset_id_created_ms", "commands", ["asset_id", "created_ms"])
    op.create_index("ix_commands_state_expires_ms", "commands", ["state", "expires_ms"])
    op.create_table(
        "command_transitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "command_id",
            sa.Integer(),
            sa.ForeignKey(
                "commands.id", name="fk_command_transitions_command_id_commands", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("previous", sa.String(20)),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(500)),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_command_transitions_command_id", "command_transitions", ["command_id"])


def downgrade() -> None:
    op.drop_index("ix_command_transitions_command_id", table_name="command_transitions")
    op.drop_table("command_transitions")
    op.drop_index("ix_commands_state_expires_ms", table_name="commands")
    op.drop_index("ix_commands_asset_id_created_ms", table_name="commands")
    op.drop_table("commands")
    op.drop_table("asset_status")
