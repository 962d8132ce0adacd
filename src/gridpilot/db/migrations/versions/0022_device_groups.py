"""Device groups and scheduled commands (fleet, #22).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

Reserved: the number is taken so that several people adding domains keep the chain linear; the
upgrade is filled in by the change that builds the tables.
"""

from __future__ import annotations

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
