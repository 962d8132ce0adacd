"""Report definitions, schedules and runs (reports): definitions, runs and their files.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04

New tables only (no table rebuild on SQLite).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gridpilot.db.base import UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, **kw: object) -> sa.Column:
    referred, _, _ = target.partition(".")
    return sa.Column(
        column,
        sa.Integer(),
        sa.ForeignKey(target, name=f"fk_{table}_{column}_{referred}", ondelete="CASCADE"),
        nullable=False,
        **kw,  # type: ignore[arg-type]
    )


def upgrade() -> None:
    """Create ``report_definitions``, ``report_runs`` and ``report_files``."""
    op.create_table(
        "report_definitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("report_definitions", "site_id", "sites.id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("formats", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(10), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_ms", sa.BigInteger()),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_report_definitions_site_id", "report_definitions", ["site_id"])
    op.create_index("ix_report_definitions_next_run_ms", "report_definitions", ["next_run_ms"])
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("report_runs", "definition_id", "report_definitions.id"),
        _fk("report_runs", "site_id", "sites.id"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.String(10), nullable=False),
        sa.Column("schedule_key", sa.String(60)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("error", sa.String(2000)),
        sa.Column("delivery", sa.JSON(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("finished_ms", sa.BigInteger()),
        sa.Column("duration_ms", sa.Integer()),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("schedule_key", name="uq_report_runs_schedule_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_report_runs_site_id", "report_runs", ["site_id"])
    op.create_index(
        "ix_report_runs_definition_id_created_ms", "report_runs", ["definition_id", "created_ms"]
    )
    op.create_table(
        "report_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("report_files", "run_id", "report_runs.id"),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("run_id", "format", name="uq_report_files_run_id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop the reports tables."""
    op.drop_table("report_files")
    op.drop_table("report_runs")
    op.drop_table("report_definitions")
