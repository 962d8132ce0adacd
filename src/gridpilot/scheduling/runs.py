"""Runs of scheduled commands: claim a due occurrence (compare-and-set), queue its commands,
list runs and their per-device outcomes.

An occurrence is run once whatever the number of processes: the claim moves the schedule's
``next_run_ms`` from the value it read (``UPDATE ... WHERE next_run_ms = :due``), then inserts
the run row, unique per (schedule, occurrence); each command carries the run's idempotency key
(``schedule:<id>:<occurrence ms>``), unique per asset in ``commands``, a third guard.
An occurrence found more than ``grace_s`` late (no process ran) follows ``missed_policy``: the
latest missed occurrence runs once (``catch_up``) or is recorded as ``skipped``; never one run
per missed occurrence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import cron as cron_maths
from gridpilot.assets.models import Asset
from gridpilot.auth.permissions import Principal, Role
from gridpilot.control import bulk
from gridpilot.control import service as control
from gridpilot.control.events import CommandChange
from gridpilot.control.kinds import validate_params
from gridpilot.control.models import Command
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.groups import service as groups_service
from gridpilot.groups.models import DeviceGroup
from gridpilot.scheduling.models import CommandSchedule, CommandScheduleRun, CommandScheduleRunItem

ON_TIME, CATCH_UP, SKIPPED = "on_time", "catch_up", "skipped"
#: A run left ``running`` this long [ms] was interrupted (its process stopped).
INTERRUPTED_AFTER_MS = 3_600_000


def run_key(schedule_id: int, occurrence_ms: int) -> str:
    return f"schedule:{schedule_id}:{occurrence_ms}"


def system_principal(schedule: CommandSchedule) -> Principal:
    """Who sends a schedule's commands: the schedule itself (checked when it was made)."""
    return Principal(subject=f"schedule:{schedule.id}", name=schedule.name, role=Role.OPERATOR)


async def due_schedules(*, session: AsyncSession, now_ms: int) -> list[int]:
    rows = await session.scalars(
        select(CommandSchedule.id)
        .where(CommandSchedule.enabled.is_(True), CommandSchedule.next_run_ms <= now_ms)
        .order_by(CommandSchedule.next_run_ms)
    )
    return list(rows.all())


def _occurrence(schedule: CommandSchedule, due_ms: int, now_ms: int) -> tuple[int, str]:
    """The occurrence to handle and how: on time, caught up (the latest missed) or skipped."""
    if now_ms - due_ms <= schedule.grace_s * 1000:
        return due_ms, ON_TIME
    latest = due_ms
    if schedule.cron is not None:
        latest = cron_maths.latest_until(schedule.cron, schedule.timezone, due_ms, now_ms)
    return latest, CATCH_UP if schedule.missed_policy == "run_once" else SKIPPED


async def claim_due(
    *, session: AsyncSession, schedule_id: int, now_ms: int
) -> CommandScheduleRun | None:
    """Claim the schedule's due occurrence: its run row (``running``, or ``skipped``), None
    when nothing is due or another process got there first."""
    schedule = await session.get(CommandSchedule, schedule_id)
    if schedule is None or not schedule.enabled or schedule.next_run_ms is None:
        return None
    due = schedule.next_run_ms
    if due > now_ms:
        return None
    occurrence, trigger = _occurrence(schedule, due, now_ms)
    upcoming = None
    if schedule.cron is not None:
        upcoming = cron_maths.next_after(schedule.cron, schedule.timezone, max(now_ms, occurrence))
    moved = await session.execute(
        update(CommandSchedule)
        .where(CommandSchedule.id == schedule_id, CommandSchedule.next_run_ms == due)
        .values(next_run_ms=upcoming)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    run = CommandScheduleRun(
        schedule_id=schedule_id,
        occurrence_ms=occurrence,
        trigger=trigger,
        status=SKIPPED if trigger == SKIPPED else "running",
        idempotency_key=run_key(schedule_id, occurrence),
        targets=0,
        queued=0,
        rejected=0,
        started_ms=now_ms,
        finished_ms=now_ms if trigger == SKIPPED else None,
    )
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        return None  # this occurrence was handled already
    return run


async def _targets(session: AsyncSession, schedule: CommandSchedule) -> list[Asset]:
    if schedule.asset_id is not None:
        asset = await session.get(Asset, schedule.asset_id)
        return [asset] if asset is not None else []
    if schedule.group_id is None:  # detached: its group was deleted
        return []
    group = await session.get(DeviceGroup, schedule.group_id)
    if group is None:
        return []
    return await groups_service.member_assets(session=session, group=group)


async def execute(
    *,
    session: AsyncSession,
    schedule: CommandSchedule,
    run: CommandScheduleRun,
    settings: Settings,
    now_ms: int,
) -> list[CommandChange]:
    """Queue the run's command for every target now (a refused device does not stop the
    others: its code and reason are recorded); the changes to publish after the commit."""
    principal = system_principal(schedule)
    assets = await _targets(session, schedule)
    run.targets = len(assets)
    try:
        params = validate_params(schedule.kind, schedule.params)
        ttl_s = control.command_ttl_s(schedule.ttl_s, settings)
    except ValidationFailed as exc:
        run.status, run.error, run.finished_ms = "failed", exc.message[:2000], now_ms
        await session.flush()
        return []
    order = bulk.BulkOrder(
        principal=principal,
        kind=schedule.kind,
        params=params,
        ttl_s=ttl_s,
        idempotency_key=run.idempotency_key,
        rate_limit_per_min=settings.command_rate_limit_per_min,
    )
    answers, changes = await bulk.queue_many(
        session=session, assets=assets, order=order, now_ms=now_ms
    )
    session.add_all(
        CommandScheduleRunItem(
            run_id=run.id,
            asset_id=a.asset.id,
            site_id=a.asset.site_id,
            command_id=a.command.id if a.command is not None else None,
            error=a.error,
            message=a.message[:500] if a.message else None,
        )
        for a in answers
    )
    run.queued = sum(1 for a in answers if a.command is not None)
    run.rejected = len(answers) - run.queued
    run.status = "done" if assets else "failed"
    run.error = None if assets else "no target: the asset or every group member is gone"
    run.finished_ms = now_ms
    await session.flush()
    return changes


async def interrupt_stale(*, session: AsyncSession, now_ms: int) -> None:
    """Fail runs left ``running`` for an hour: the process running them stopped."""
    await session.execute(
        update(CommandScheduleRun)
        .where(
            CommandScheduleRun.status == "running",
            CommandScheduleRun.started_ms < now_ms - INTERRUPTED_AFTER_MS,
        )
        .values(status="failed", error="interrupted: the process running it stopped")
    )


async def list_runs(
    *, session: AsyncSession, schedule_id: int, limit: int = 100, offset: int = 0
) -> list[CommandScheduleRun]:
    """The schedule's runs, newest occurrence first (access checked by the caller)."""
    query = (
        select(CommandScheduleRun)
        .where(CommandScheduleRun.schedule_id == schedule_id)
        .order_by(CommandScheduleRun.occurrence_ms.desc(), CommandScheduleRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class Outcome:
    """One device of a run: its command's current state, or the refusal."""

    asset_id: int
    command_id: int | None
    state: str | None
    sent_ms: int | None
    completed_ms: int | None
    detail: str | None
    error: str | None
    message: str | None


async def outcomes(
    *, session: AsyncSession, principal: Principal, run_ids: list[int]
) -> dict[int, list[Outcome]]:
    """Per run, the outcome of each device on a site the principal sees, by asset id."""
    rows = await session.execute(
        select(CommandScheduleRunItem, Command)
        .outerjoin(Command, Command.id == CommandScheduleRunItem.command_id)
        .where(CommandScheduleRunItem.run_id.in_(run_ids))
        .order_by(CommandScheduleRunItem.asset_id)
    )
    found: dict[int, list[Outcome]] = {r: [] for r in run_ids}
    for item, command in rows:
        if not principal.can_see_site(item.site_id):
            continue
        found[item.run_id].append(
            Outcome(
                asset_id=item.asset_id,
                command_id=item.command_id,
                state=command.state if command is not None else None,
                sent_ms=command.sent_ms if command is not None else None,
                completed_ms=command.completed_ms if command is not None else None,
                detail=command.detail if command is not None else None,
                error=item.error,
                message=item.message,
            )
        )
    return found


def state_counts(found: list[Outcome]) -> dict[str, int]:
    return dict(Counter(o.state or "rejected" for o in found))


async def get_run(*, session: AsyncSession, schedule_id: int, run_id: int) -> CommandScheduleRun:
    run = await session.get(CommandScheduleRun, run_id)
    if run is None or run.schedule_id != schedule_id:
        raise NotFound(f"run {run_id} of command schedule {schedule_id} not found")
    return run
