"""Tables of the reports domain (migrations: ``db/migrations/versions/0019_reports.py``, and
``0026_report_targets.py`` for reports on a device group or a community).

- ``report_definitions``: what to report (a kind of ``kinds.KINDS`` with its parameters) on one
  *target* (exactly one of a site, a device group or an energy community: a CHECK constraint), in
  which formats, on which schedule (in the target's time zone), to which users; ``next_run_ms``
  is when the next scheduled run is due (the compare-and-set field: a process runs a due report
  only when it moved this value itself);
- ``report_runs``: one run (scheduled or asked for) of a definition over ``[start_ms, end_ms)``;
  ``schedule_key`` (``"<definition>:<start_ms>"`` for scheduled runs, NULL otherwise) is unique,
  so a period is never reported twice by the scheduler, whatever the number of processes;
- ``report_run_sites``: the sites whose data a run of a group holds (its members' sites when it
  ran): who may read the run's files is decided by these, not by the group's members now;
- ``report_files``: the files of a run (PDF, CSV), kept ``reports_retention_days``.

Times are epoch milliseconds (UTC).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped

#: Exactly one target: a site, a device group or a community (both tables).
ONE_TARGET = (
    "(CASE WHEN site_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 "
    "END) + (CASE WHEN community_id IS NULL THEN 0 ELSE 1 END) = 1"
)


class ReportDefinition(Timestamped, Base):
    """A report of one kind on one target (site, device group or community), with its schedule
    and recipients (user ids). A group may not be deleted while a report targets it."""

    __tablename__ = "report_definitions"
    __table_args__ = (
        CheckConstraint(ONE_TARGET, name="one_target"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="RESTRICT"), index=True
    )
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    #: The zone of a group's or community's periods (a site's report uses the site's zone).
    timezone: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: ``none``, ``daily``, ``weekly`` (ISO weeks) or ``monthly``, in the target's time zone.
    schedule: Mapped[str] = mapped_column(String(10))
    recipients: Mapped[list[int]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_by: Mapped[str] = mapped_column(String(200))


class ReportRun(Base):
    """One run of a definition over ``[start_ms, end_ms)``: status, who asked, delivery."""

    __tablename__ = "report_runs"
    __table_args__ = (
        UniqueConstraint("schedule_key", name="uq_report_runs_schedule_key"),
        Index("ix_report_runs_definition_id_created_ms", "definition_id", "created_ms"),
        CheckConstraint(ONE_TARGET, name="one_target"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("report_definitions.id", ondelete="CASCADE")
    )
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    #: The definition's group or community (no foreign key: the run keeps what it was of).
    group_id: Mapped[int | None] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    #: ``scheduled`` or ``manual``.
    trigger: Mapped[str] = mapped_column(String(10))
    schedule_key: Mapped[str | None] = mapped_column(String(60))
    #: ``running``, ``done`` or ``failed``.
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(String(2000))
    #: Per recipient: ``{"user_id", "address", "status", "reason"}``.
    delivery: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    finished_ms: Mapped[int | None] = mapped_column(BigInteger)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))


class ReportRunSite(Base):
    """A site whose data a run of a group holds (no foreign key: a deleted site stays named, so
    the run stays out of reach of those who could not see it)."""

    __tablename__ = "report_run_sites"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("report_runs.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class ReportFile(Base):
    """One rendered file of a run (stored in the database: every process can serve it)."""

    __tablename__ = "report_files"
    __table_args__ = (
        UniqueConstraint("run_id", "format", name="uq_report_files_run_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("report_runs.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
