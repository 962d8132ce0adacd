"""Firmware images and roll-outs (#22).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05

Reserved: the number is taken so that several people adding domains keep the chain linear; the
upgrade is filled in by the change that builds the tables.
"""

from __future__ import annotations

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
