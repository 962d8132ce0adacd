"""Tables of scheduled commands (migration: ``db/migrations/versions/0022_device_groups.py``).

- ``command_schedules``: a command (kind, params, TTL) to an asset or a device group, one-off
  (``run_at_ms``) or recurring (``cron`` in ``timezone``); ``next_run_ms`` is the next
  occurrence due (the compare-and-set field: a process runs an occurrence only when it moved this
  value itself), NULL when nothing more is due (a one-off that ran, or disabled);
- ``command_schedule_runs``: one occurrence handled, unique per (schedule, ``occurrence_ms``) so
  an occurrence is never run twice whatever the number of processes; ``status`` ``running``,
  ``done``, ``failed`` or ``skipped`` (missed while no process ran, policy ``skip``);
- ``command_schedule_run_items``: per device of a run, its command (its state is read live from
  ``commands``) or why it was refused.

Times are epoch milliseconds (UTC).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped


class CommandSchedule(Timestamped, Base):
    """A scheduled command to ``asset_id`` or ``group_id`` (exactly one)."""

    __tablename__ = "command_schedules"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    #: A group cannot be deleted while a schedule targets it (RESTRICT: 409 ``group_in_use``).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("device_groups.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ttl_s: Mapped[int | None] = mapped_column(Integer)
    #: A 5-field cron expression (recurring) or NULL (one-off at ``run_at_ms``).
    cron: Mapped[str | None] = mapped_column(String(200))
    run_at_ms: Mapped[int | None] = mapped_column(BigInteger)
    #: IANA zone the cron expression is read in (the site's, or named for a group across zones).
    timezone: Mapped[str] = mapped_column(String(64))
    #: ``run_once`` (a missed occurrence runs once, late) or ``skip`` (recorded as skipped).
    missed_policy: Mapped[str] = mapped_column(String(10))
    #: How late [s] an occurrence still runs as on time; later ones follow ``missed_policy``.
    grace_s: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_ms: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_by: Mapped[str] = mapped_column(String(200))


class CommandScheduleRun(Base):
    """One occurrence of a schedule: when it was due, when it ran, what it queued."""

    __tablename__ = "command_schedule_runs"
    __table_args__ = (
        UniqueConstraint(
            "schedule_id", "occurrence_ms", name="uq_command_schedule_runs_schedule_id"
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("command_schedules.id", ondelete="CASCADE"))
    occurrence_ms: Mapped[int] = mapped_column(BigInteger)
    #: ``on_time``, ``catch_up`` (missed, run late by policy) or ``skipped``.
    trigger: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    targets: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(2000))
    started_ms: Mapped[int] = mapped_column(BigInteger)
    finished_ms: Mapped[int | None] = mapped_column(BigInteger)


class CommandScheduleRunItem(Base):
    """One device of a run: its command, or the refusal's code and message."""

    __tablename__ = "command_schedule_run_items"
    __table_args__ = (
        Index("ix_command_schedule_run_items_run_id", "run_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("command_schedule_runs.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[int] = mapped_column(Integer)
    command_id: Mapped[int | None] = mapped_column(ForeignKey("commands.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(String(40))
    message: Mapped[str | None] = mapped_column(String(500))
