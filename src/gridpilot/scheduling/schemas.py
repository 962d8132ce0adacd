"""Request and response bodies of ``/api/v1/command-schedules`` (docs/fleet-operations.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from gridpilot.assets.schemas import DbId, Timezone
from gridpilot.control.schemas import CommandKind
from gridpilot.core.bodies import Strict

MissedPolicy = Literal["run_once", "skip"]
CRON_TEXT = (
    "5-field cron expression (minute hour day-of-month month day-of-week) read in `timezone`, "
    "e.g. `30 2 * * *` every day at 02:30 local time"
)


class ScheduleFields(Strict):
    params: dict[str, Any] = Field(
        default_factory=dict, description="Per kind, units in the names (see docs/control.md)"
    )
    ttl_s: int | None = Field(
        default=None, gt=0, le=2**31 - 1, description="Seconds each command may take"
    )
    missed_policy: MissedPolicy = Field(
        default="run_once",
        description="An occurrence missed while no process ran: `run_once` (the latest missed "
        "one runs once, late) or `skip` (recorded as skipped)",
    )
    grace_s: int = Field(
        default=60, ge=1, le=86_400, description="How late [s] an occurrence still runs on time"
    )
    enabled: bool = True


class ScheduleCreate(ScheduleFields):
    """A command to ``asset_id`` or ``group_id``, at ``run_at`` once or on ``cron``."""

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    asset_id: DbId | None = None
    group_id: DbId | None = None
    kind: CommandKind
    cron: str | None = Field(default=None, min_length=1, max_length=200, description=CRON_TEXT)
    run_at: datetime | None = Field(
        default=None, description="One-off: when (with an offset, e.g. 2026-03-29T02:30:00+02:00)"
    )
    timezone: Timezone | None = Field(
        default=None,
        description="IANA zone of `cron`; default: the site's (an asset's, or the one zone of "
        "all the group's sites; a group across zones must name one)",
    )

    @model_validator(mode="after")
    def _shape(self) -> ScheduleCreate:
        if (self.asset_id is None) == (self.group_id is None):
            raise ValueError("give either asset_id or group_id")
        if (self.cron is None) == (self.run_at is None):
            raise ValueError("give either cron (recurring) or run_at (one-off)")
        if self.run_at is not None and self.run_at.tzinfo is None:
            raise ValueError("run_at needs a UTC offset")
        return self


class ScheduleUpdate(Strict):
    """Fields to change; the target and the command's kind stay."""

    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    params: dict[str, Any] | None = None
    ttl_s: int | None = Field(default=None, gt=0, le=2**31 - 1)
    cron: str | None = Field(default=None, min_length=1, max_length=200, description=CRON_TEXT)
    run_at: datetime | None = None
    timezone: Timezone | None = None
    missed_policy: MissedPolicy | None = None
    grace_s: int | None = Field(default=None, ge=1, le=86_400)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleUpdate:
        if self.cron is not None and self.run_at is not None:
            raise ValueError("give cron or run_at, not both")
        if self.run_at is not None and self.run_at.tzinfo is None:
            raise ValueError("run_at needs a UTC offset")
        return self


class ScheduleOut(BaseModel):
    id: int
    name: str
    asset_id: int | None
    group_id: int | None
    kind: str
    params: dict[str, Any]
    ttl_s: int | None
    cron: str | None
    run_at: datetime | None
    timezone: str
    missed_policy: str
    grace_s: int
    enabled: bool
    next_run: datetime | None = Field(description="The next occurrence due (UTC); null: none")
    next_run_local: str | None = Field(description="The same in `timezone`, ISO 8601 with offset")
    created_by: str
    created_at: datetime
    updated_at: datetime


class RunOut(BaseModel):
    id: int
    schedule_id: int
    occurrence: datetime = Field(description="When it was due (UTC)")
    trigger: Literal["on_time", "catch_up", "skipped"]
    status: Literal["running", "done", "failed", "skipped"]
    targets: int = Field(description="Devices aimed at")
    queued: int = Field(description="Commands queued (or found again by their key)")
    rejected: int = Field(description="Devices refused (rate limit, unsuitable asset)")
    error: str | None
    started: datetime
    finished: datetime | None
    states: dict[str, int] = Field(description="Commands per current state")


class OutcomeOut(BaseModel):
    asset_id: int
    command_id: int | None
    state: str | None = Field(description="The command's state now (null: refused)")
    sent_ms: int | None
    completed_ms: int | None
    detail: str | None
    error: str | None = Field(description="Refusal code (e.g. rate_limited)")
    message: str | None


class RunDetail(RunOut):
    outcomes: list[OutcomeOut]


class UpcomingOut(BaseModel):
    schedule_id: int
    name: str
    at: datetime
    local: str = Field(description="In the schedule's time zone, ISO 8601 with offset")
    timezone: str
