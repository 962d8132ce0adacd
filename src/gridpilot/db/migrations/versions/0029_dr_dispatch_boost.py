"""DR dispatch re-plans on a measured shortfall (#17, docs/demand-response.md): the extra
reduction a plan asks for on top of the target, and the newest interval it was checked on.

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-05

Two columns added in place on both back ends (no table rebuild on SQLite); existing plans get
no boost and no interval checked.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dr_dispatch_plans",
        sa.Column("boost_kw", sa.Float(), nullable=False, server_default="0"),
    )
    op.add_column("dr_dispatch_plans", sa.Column("checked_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("dr_dispatch_plans", "checked_ms")
    op.drop_column("dr_dispatch_plans", "boost_kw")
