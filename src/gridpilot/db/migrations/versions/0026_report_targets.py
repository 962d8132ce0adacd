"""Reports on a device group or an energy community (#22 item 1, #19): a definition (and a run)
targets exactly one of a site, a device group or a community; the sites a group's run read.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05

``report_definitions`` and ``report_runs``: ``site_id`` nullable, ``group_id`` and
``community_id`` added, a CHECK that exactly one of the three is set (existing rows have their
site); definitions get ``timezone`` (the zone of a group's or a community's periods). A group
targeted by a report cannot be deleted (RESTRICT, like command schedules); a community's reports
go with it (CASCADE, like a site's). New table ``report_run_sites``. SQLite rebuilds both tables
(batch mode), keeping their AUTOINCREMENT high-water marks, so no run id is ever reused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ONE_TARGET = (
    "(CASE WHEN site_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 "
    "END) + (CASE WHEN community_id IS NULL THEN 0 ELSE 1 END) = 1"
)
TABLES = ("report_definitions", "report_runs")


def _sequences() -> dict[str, int]:
    """SQLite's AUTOINCREMENT high-water marks of the two tables (none elsewhere)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return {}
    rows = bind.exec_driver_sql(
        "SELECT name, seq FROM sqlite_sequence WHERE name IN ('report_definitions', 'report_runs')"
    )
    return {str(name): int(seq) for name, seq in rows}


def _restore(sequences: dict[str, int]) -> None:
    bind = op.get_bind()
    for table, seq in sequences.items():
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        bind.exec_driver_sql(
            f"INSERT INTO sqlite_sequence (name, seq) VALUES (?, MAX(?, (SELECT COALESCE(MAX(id), "  # noqa: S608
            f"0) FROM {table})))",
            (table, seq),
        )


def upgrade() -> None:
    sequences = _sequences()
    with op.batch_alter_table(
        "report_definitions", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.alter_column("site_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(64), nullable=True))
        batch.create_foreign_key(
            "fk_report_definitions_group_id_device_groups",
            "device_groups",
            ["group_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_foreign_key(
            "fk_report_definitions_community_id_communities",
            "communities",
            ["community_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_report_definitions_group_id", ["group_id"])
        batch.create_index("ix_report_definitions_community_id", ["community_id"])
        batch.create_check_constraint("ck_report_definitions_one_target", ONE_TARGET)
    with op.batch_alter_table("report_runs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("site_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("group_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("community_id", sa.Integer(), nullable=True))
        batch.create_index("ix_report_runs_community_id", ["community_id"])
        batch.create_check_constraint("ck_report_runs_one_target", ONE_TARGET)
    op.create_table(
        "report_run_sites",
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey(
                "report_runs.id", name="fk_report_run_sites_run_id_report_runs", ondelete="CASCADE"
            ),
            nullable=False,
        ),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "site_id", name="pk_report_run_sites"),
    )
    _restore(sequences)


def downgrade() -> None:
    """Back to site reports only: the reports of groups and communities are deleted."""
    sequences = _sequences()
    op.drop_table("report_run_sites")
    bind = op.get_bind()
    bind.exec_driver_sql(
        "DELETE FROM report_files WHERE run_id IN"
        " (SELECT id FROM report_runs WHERE site_id IS NULL)"
    )
    bind.exec_driver_sql("DELETE FROM report_runs WHERE site_id IS NULL")
    bind.exec_driver_sql("DELETE FROM report_definitions WHERE site_id IS NULL")
    with op.batch_alter_table("report_runs", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint("ck_report_runs_one_target", type_="check")
        batch.drop_index("ix_report_runs_community_id")
        batch.drop_column("community_id")
        batch.drop_column("group_id")
        batch.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table(
        "report_definitions", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_constraint("ck_report_definitions_one_target", type_="check")
        batch.drop_index("ix_report_definitions_community_id")
        batch.drop_index("ix_report_definitions_group_id")
        batch.drop_constraint("fk_report_definitions_community_id_communities", type_="foreignkey")
        batch.drop_constraint("fk_report_definitions_group_id_device_groups", type_="foreignkey")
        batch.drop_column("timezone")
        batch.drop_column("community_id")
        batch.drop_column("group_id")
        batch.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
    _restore(sequences)
