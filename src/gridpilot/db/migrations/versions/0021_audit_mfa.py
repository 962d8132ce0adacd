"""Audit log, TOTP second factor, e-mail on the user and password-reset tokens (auth, #20).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04

New tables, and nullable (or defaulted) columns added to ``users`` with plain ``ADD COLUMN``:
no table rebuild on SQLite (``users`` keeps its AUTOINCREMENT and its rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

USER_COLUMNS = ("email", "totp_secret", "mfa_enabled", "totp_last_step")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_name", sa.String(150)),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(200)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("client", sa.String(64)),
        sa.Column("detail", sa.JSON()),
        sqlite_autoincrement=True,
    )
    for column in ("at", "actor", "action", "target"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    op.add_column("users", sa.Column("email", sa.String(254), nullable=True))
    op.add_column("users", sa.Column("totp_secret", sa.String(200), nullable=True))
    op.add_column(
        "users", sa.Column("mfa_enabled", sa.Boolean(), nullable=False, server_default="0")
    )
    op.add_column("users", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_index("ix_users_email", "users", ["email"])
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("used_at", UtcDateTime()),
    )
    op.create_index("ix_mfa_recovery_codes_user_id", "mfa_recovery_codes", ["user_id"])
    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("token_hash", sa.String(128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime()),
        sa.UniqueConstraint("token_hash", name="uq_password_reset_tokens_token_hash"),
    )
    op.create_index("ix_password_reset_tokens_user_id", "password_reset_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_table("password_reset_tokens")
    op.drop_table("mfa_recovery_codes")
    op.drop_index("ix_users_email", table_name="users")
    for column in reversed(USER_COLUMNS):
        op.drop_column("users", column)
    op.drop_table("audit_events")
