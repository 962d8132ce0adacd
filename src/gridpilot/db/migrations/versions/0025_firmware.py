"""Firmware images and roll-outs (#22, docs/firmware.md).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05

Three new tables: images (unique SHA-256), roll-outs, and each device's progress in a roll-out
(unique per roll-out and asset).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "firmware_images",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("notes", sa.String(2000)),
        sa.Column("created_by", sa.String(200)),
        *_stamps(),
        sa.UniqueConstraint("sha256", name="uq_firmware_images_sha256"),
    )
    op.create_table(
        "firmware_rollouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "image_id",
            sa.Integer(),
            sa.ForeignKey("firmware_images.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("canary_pct", sa.Float(), nullable=False),
        sa.Column("wave_size", sa.Integer(), nullable=False),
        sa.Column("max_failure_pct", sa.Float(), nullable=False),
        sa.Column("current_wave", sa.Integer(), nullable=False),
        sa.Column("accepted_failures", sa.Integer(), nullable=False),
        sa.Column("waves", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer()),
        sa.Column("paused_reason", sa.String(300)),
        sa.Column("created_by", sa.String(200)),
        *_stamps(),
    )
    op.create_index("ix_firmware_rollouts_state", "firmware_rollouts", ["state"])
    op.create_table(
        "firmware_rollout_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "rollout_id",
            sa.Integer(),
            sa.ForeignKey("firmware_rollouts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "asset_id", sa.Integer(), sa.ForeignKey("assets.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reported_version", sa.String(64)),
        sa.Column("error", sa.String(500)),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("rollout_id", "asset_id", name="uq_firmware_rollout_asset"),
    )
    op.create_index(
        "ix_firmware_rollout_devices_rollout_id", "firmware_rollout_devices", ["rollout_id"]
    )
    op.create_index(
        "ix_firmware_rollout_devices_asset_id", "firmware_rollout_devices", ["asset_id"]
    )


def downgrade() -> None:
    op.drop_table("firmware_rollout_devices")
    op.drop_table("firmware_rollouts")
    op.drop_table("firmware_images")
