"""``/api/v1/command-schedules`` (CRUD, runs and their per-device outcomes) and
``/api/v1/command-occurrences`` (the next occurrences: the calendar).

Reads need READ; creating, changing and deleting need COMMANDS_SEND and, for a group target,
every site the group reaches (403 ``group_out_of_scope``). A schedule whose target the caller
cannot see answers 404. See docs/fleet-operations.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Response

from gridpilot.auth.dependencies import Reader, require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MAX_MS, from_ms, now_ms, to_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.scheduling import runs, service
from gridpilot.scheduling.models import CommandSchedule, CommandScheduleRun
from gridpilot.scheduling.schemas import (
    OutcomeOut,
    RunDetail,
    RunOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
    UpcomingOut,
)

router = APIRouter(tags=["command-schedules"])
BASE = "/command-schedules"

Sender = Annotated[Principal, Depends(require(Permission.COMMANDS_SEND))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found or not in scope"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {"description": "Role may not send commands, or `group_out_of_scope`"},
    422: {
        "description": "Invalid (codes: `cron_invalid`, `cron_never_due`, "
        "`schedule_timezone_required`, `schedule_in_past`, `validation_failed`)"
    },
}
TIMING_TEXT = """One-off (`run_at`) or recurring (`cron`, 5 fields, read in `timezone`: by
default the site's, for a group the one zone of its sites; a group across zones must name one).
Across a daylight-saving change a fixed time that does not exist (02:30 on the spring-forward
day in Europe/Rome) runs once at 03:00 local; one that happens twice (02:30 on the fall-back
day) runs once, the first time. An occurrence missed while no process ran (more than `grace_s`
late) runs once, late, with `missed_policy: run_once`, or is recorded as skipped with `skip`."""


def _local(at_ms: int | None, zone: str) -> str | None:
    if at_ms is None:
        return None
    return datetime.fromtimestamp(at_ms / 1000, tz=ZoneInfo(zone)).isoformat()


def schedule_out(schedule: CommandSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        name=schedule.name,
        asset_id=schedule.asset_id,
        group_id=schedule.group_id,
        kind=schedule.kind,
        params=schedule.params,
        ttl_s=schedule.ttl_s,
        cron=schedule.cron,
        run_at=from_ms(schedule.run_at_ms) if schedule.run_at_ms is not None else None,
        timezone=schedule.timezone,
        missed_policy=schedule.missed_policy,
        grace_s=schedule.grace_s,
        enabled=schedule.enabled,
        next_run=from_ms(schedule.next_run_ms) if schedule.next_run_ms is not None else None,
        next_run_local=_local(schedule.next_run_ms, schedule.timezone),
        created_by=schedule.created_by,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
    )


def run_out(run: CommandScheduleRun, found: list[runs.Outcome]) -> dict[str, Any]:
    return {
        "id": run.id,
        "schedule_id": run.schedule_id,
        "occurrence": from_ms(run.occurrence_ms),
        "trigger": run.trigger,
        "status": run.status,
        "targets": run.targets,
        "queued": run.queued,
        "rejected": run.rejected,
        "error": run.error,
        "started": from_ms(run.started_ms),
        "finished": from_ms(run.finished_ms) if run.finished_ms is not None else None,
        "states": runs.state_counts(found),
    }


@router.get(BASE, summary="Command schedules you may see", description=TIMING_TEXT)
async def list_schedules(
    principal: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[ScheduleOut]:
    found = await service.list_schedules(
        session=session, principal=principal, limit=limit, offset=offset
    )
    return [schedule_out(s) for s in found]


@router.post(
    BASE,
    status_code=201,
    summary="Schedule a command to an asset or a device group",
    description=TIMING_TEXT + "\n\nThe command (kind, params, TTL) is checked now as when sent.",
    responses=REFUSED,
)
async def create_schedule(
    data: ScheduleCreate, principal: Sender, session: SessionDep, settings: SettingsDep
) -> ScheduleOut:
    schedule = await service.create_schedule(
        session=session, principal=principal, data=data, settings=settings, now_ms=now_ms()
    )
    return schedule_out(schedule)


@router.get(
    "/command-occurrences",
    summary="Next occurrences of the schedules you may see",
    description="Every occurrence of the enabled command schedules in `[from, from + days)` "
    "(at most 31 days), with its local time in the schedule's zone: the calendar view.",
    responses={
        422: {"description": "`validation_failed`: `from` is not a time, or `days` is not 1..31"}
    },
)
async def list_upcoming(
    principal: Reader,
    session: SessionDep,
    start: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="ISO-8601 or epoch ms; default: now"),
    ] = None,
    days: Annotated[int, Query(ge=1, le=31, description="Days from `from`")] = 7,
) -> list[UpcomingOut]:
    begin = to_ms(start) if start else now_ms()
    if not 0 <= begin <= MAX_MS:
        raise ValidationFailed("from must lie between 1970 and 9999")
    found = await service.list_schedules(session=session, principal=principal, limit=10_000)
    items = service.upcoming(found, begin, begin + days * 86_400_000)
    return [
        UpcomingOut(
            schedule_id=u.schedule.id,
            name=u.schedule.name,
            at=from_ms(u.at_ms),
            local=_local(u.at_ms, u.schedule.timezone) or "",
            timezone=u.schedule.timezone,
        )
        for u in items
    ]


@router.get(BASE + "/{schedule_id}", summary="A command schedule", responses=NOT_FOUND)
async def get_schedule(schedule_id: Id, principal: Reader, session: SessionDep) -> ScheduleOut:
    schedule = await service.get_schedule(
        session=session, principal=principal, schedule_id=schedule_id
    )
    return schedule_out(schedule)


@router.patch(
    BASE + "/{schedule_id}",
    summary="Change, enable or disable a command schedule",
    description="Only the fields sent change. `enabled: false` stops it; `enabled: true` "
    "resumes it from the next occurrence after now (what it missed while disabled is not run).",
    responses=REFUSED,
)
async def update_schedule(
    schedule_id: Id,
    data: ScheduleUpdate,
    principal: Sender,
    session: SessionDep,
    settings: SettingsDep,
) -> ScheduleOut:
    schedule = await service.update_schedule(
        session=session,
        principal=principal,
        schedule_id=schedule_id,
        data=data,
        settings=settings,
        now_ms=now_ms(),
    )
    return schedule_out(schedule)


@router.delete(
    BASE + "/{schedule_id}",
    status_code=204,
    summary="Delete a command schedule and its run history",
    description="The commands it queued stay in their assets' command history.",
    responses=REFUSED,
)
async def delete_schedule(schedule_id: Id, principal: Sender, session: SessionDep) -> Response:
    await service.delete_schedule(session=session, principal=principal, schedule_id=schedule_id)
    return Response(status_code=204)


@router.get(
    BASE + "/{schedule_id}/runs",
    summary="Runs of a command schedule, newest first",
    description="Each occurrence handled: on time, caught up or skipped, with its commands "
    "counted per current state (devices on sites you may not see are left out).",
    responses=NOT_FOUND,
)
async def list_runs(
    schedule_id: Id, principal: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[RunOut]:
    await service.get_schedule(session=session, principal=principal, schedule_id=schedule_id)
    found = await runs.list_runs(
        session=session, schedule_id=schedule_id, limit=limit, offset=offset
    )
    outcomes = await runs.outcomes(
        session=session, principal=principal, run_ids=[r.id for r in found]
    )
    return [RunOut(**run_out(r, outcomes[r.id])) for r in found]


@router.get(
    BASE + "/{schedule_id}/runs/{run_id}",
    summary="A run with the outcome of each device",
    description="Per device: its command id and current state (queued, sent, acknowledged, "
    "succeeded, failed, expired), or why it was refused (`error` code).",
    responses=NOT_FOUND,
)
async def get_run(schedule_id: Id, run_id: Id, principal: Reader, session: SessionDep) -> RunDetail:
    await service.get_schedule(session=session, principal=principal, schedule_id=schedule_id)
    run = await runs.get_run(session=session, schedule_id=schedule_id, run_id=run_id)
    found = (await runs.outcomes(session=session, principal=principal, run_ids=[run.id]))[run.id]
    return RunDetail(
        **run_out(run, found),
        outcomes=[OutcomeOut.model_validate(o, from_attributes=True) for o in found],
    )
