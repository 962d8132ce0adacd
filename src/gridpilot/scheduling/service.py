"""Scheduled commands: create, read, change (enable/disable), delete, and upcoming occurrences.

Access follows the target: an asset schedule is seen by whoever sees the asset; a group
schedule by whoever sees the group (``groups.service``). Creating or changing one needs
COMMANDS_SEND and, for a group, every site it reaches (``group_out_of_scope``). The runs and
their outcomes are in ``runs``; the runtime in ``tasks``.

A group deleted with ``force`` leaves its schedules *detached* (``group_use.py``): disabled,
with neither ``asset_id`` nor ``group_id``, their runs kept. The sites they reached are not
known any more, so only a principal of every site sees one, and it cannot be enabled again
(409 ``schedule_target_deleted``): it can be read and deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import cron as cron_maths
from gridpilot.assets import service as assets_service
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.control.kinds import validate_params
from gridpilot.control.service import command_ttl_s
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.groups import service as groups_service
from gridpilot.scheduling.models import CommandSchedule
from gridpilot.scheduling.schemas import ScheduleCreate, ScheduleUpdate

#: Most occurrences listed by ``upcoming`` per schedule.
UPCOMING_MAX = 500


class CronInvalid(ValidationFailed):
    code = "cron_invalid"


class CronNeverDue(ValidationFailed):
    code = "cron_never_due"


class TimezoneRequired(ValidationFailed):
    code = "schedule_timezone_required"


class RunAtPast(ValidationFailed):
    code = "schedule_in_past"


class TargetDeleted(Conflict):
    code = "schedule_target_deleted"


def detached(schedule: CommandSchedule) -> bool:
    """Its group was deleted (with force): no target left."""
    return schedule.asset_id is None and schedule.group_id is None


def check_cron(expression: str) -> str:
    try:
        return cron_maths.check_cron(expression)
    except cron_maths.CronInvalid as exc:
        raise CronInvalid(f"invalid cron expression {expression[:60]!r}: {exc}") from None


async def check_target(
    *, session: AsyncSession, principal: Principal, schedule: CommandSchedule, act: bool
) -> None:
    """``NotFound`` unless the principal sees the target; with ``act``, also that it may send
    it commands (COMMANDS_SEND, and every site of a group)."""
    if act:
        principal.require(Permission.COMMANDS_SEND)
    if detached(schedule):
        if principal.site_ids is not None or principal.asset_ids is not None:
            raise NotFound(f"command schedule {schedule.id} not found")
    elif schedule.asset_id is not None:
        await assets_service.get_asset(
            session=session, asset_id=schedule.asset_id, principal=principal
        )
    elif schedule.group_id is not None:
        group = await groups_service.get_group(
            session=session, principal=principal, group_id=schedule.group_id
        )
        if act:
            await groups_service.check_full_scope(session=session, principal=principal, group=group)


async def _zone_of_target(
    session: AsyncSession, principal: Principal, asset_id: int | None, group_id: int | None
) -> str:
    """The site's zone of an asset, or the one zone of all a group's member sites."""
    if asset_id is not None:
        asset = await assets_service.get_asset(
            session=session, asset_id=asset_id, principal=principal
        )
        site_ids = {asset.site_id}
    else:
        assert group_id is not None
        members = await groups_service.target_assets(
            session=session, principal=principal, group_id=group_id
        )
        site_ids = {a.site_id for a in members}
    zones = {
        (await assets_service.get_site(session=session, site_id=s, principal=principal)).timezone
        for s in site_ids
    }
    if len(zones) != 1:
        raise TimezoneRequired(
            "the group's sites are in several time zones (or it has no members): name the "
            f"timezone the cron expression is read in (zones: {', '.join(sorted(zones)) or '-'})"
        )
    return zones.pop()


def _next_due(schedule: CommandSchedule, now_ms: int) -> int | None:
    """The next occurrence of an enabled schedule from ``now_ms`` on (a one-off: its time)."""
    if not schedule.enabled:
        return None
    if schedule.cron is None:
        return schedule.run_at_ms
    upcoming = cron_maths.next_after(schedule.cron, schedule.timezone, now_ms)
    if upcoming is None:
        raise CronNeverDue(f"{schedule.cron!r} has no occurrence in the next 50 years")
    return upcoming


async def create_schedule(
    *,
    session: AsyncSession,
    principal: Principal,
    data: ScheduleCreate,
    settings: Settings,
    now_ms: int,
) -> CommandSchedule:
    """A new schedule; the command is checked now as it would be when sent."""
    principal.require(Permission.COMMANDS_SEND)
    params = validate_params(data.kind, data.params)
    command_ttl_s(data.ttl_s, settings)
    expression = check_cron(data.cron) if data.cron is not None else None
    zone = data.timezone or await _zone_of_target(session, principal, data.asset_id, data.group_id)
    schedule = CommandSchedule(
        name=data.name,
        asset_id=data.asset_id,
        group_id=data.group_id,
        kind=data.kind,
        params=params,
        ttl_s=data.ttl_s,
        cron=expression,
        run_at_ms=int(data.run_at.timestamp() * 1000) if data.run_at is not None else None,
        timezone=zone,
        missed_policy=data.missed_policy,
        grace_s=data.grace_s,
        enabled=data.enabled,
        created_by=principal.subject[:200],
    )
    await check_target(session=session, principal=principal, schedule=schedule, act=True)
    _check_run_at(schedule, now_ms)
    schedule.next_run_ms = _next_due(schedule, now_ms)
    session.add(schedule)
    await session.flush()
    return schedule


def _check_run_at(schedule: CommandSchedule, now_ms: int) -> None:
    if schedule.run_at_ms is not None and schedule.run_at_ms < now_ms - schedule.grace_s * 1000:
        raise RunAtPast("run_at is in the past")


async def get_schedule(
    *, session: AsyncSession, principal: Principal, schedule_id: int
) -> CommandSchedule:
    """The schedule; ``NotFound`` when missing or its target is out of the principal's scope."""
    schedule = await session.get(CommandSchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"command schedule {schedule_id} not found")
    try:
        await check_target(session=session, principal=principal, schedule=schedule, act=False)
    except NotFound:
        raise NotFound(f"command schedule {schedule_id} not found") from None
    return schedule


async def list_schedules(
    *, session: AsyncSession, principal: Principal, limit: int = 100, offset: int = 0
) -> list[CommandSchedule]:
    """The schedules whose target the principal sees, by id."""
    found: list[CommandSchedule] = []
    for schedule in await session.scalars(select(CommandSchedule).order_by(CommandSchedule.id)):
        try:
            await check_target(session=session, principal=principal, schedule=schedule, act=False)
        except NotFound:
            continue
        found.append(schedule)
    return found[offset : offset + limit]


async def update_schedule(
    *,
    session: AsyncSession,
    principal: Principal,
    schedule_id: int,
    data: ScheduleUpdate,
    settings: Settings,
    now_ms: int,
) -> CommandSchedule:
    """Change the fields sent; the next occurrence is computed again from now (re-enabling
    a schedule does not catch up what it missed while disabled)."""
    schedule = await get_schedule(session=session, principal=principal, schedule_id=schedule_id)
    await check_target(session=session, principal=principal, schedule=schedule, act=True)
    sent = data.model_fields_set
    if data.name is not None:
        schedule.name = data.name
    if data.params is not None:
        schedule.params = validate_params(schedule.kind, data.params)
    if "ttl_s" in sent:
        command_ttl_s(data.ttl_s, settings)
        schedule.ttl_s = data.ttl_s
    if data.cron is not None:
        schedule.cron, schedule.run_at_ms = check_cron(data.cron), None
    if data.run_at is not None:
        schedule.cron, schedule.run_at_ms = None, int(data.run_at.timestamp() * 1000)
        _check_run_at(schedule, now_ms)
    for field in ("timezone", "missed_policy", "grace_s", "enabled"):
        if getattr(data, field) is not None:
            setattr(schedule, field, getattr(data, field))
    if schedule.enabled and detached(schedule):
        raise TargetDeleted(
            f"the device group of command schedule {schedule.id} was deleted: it keeps its "
            "history but cannot run again; schedule the command to another target"
        )
    schedule.next_run_ms = _next_due(schedule, now_ms)
    await session.flush()
    return schedule


async def delete_schedule(*, session: AsyncSession, principal: Principal, schedule_id: int) -> None:
    """Delete the schedule with its runs (the commands it queued stay in their history)."""
    schedule = await get_schedule(session=session, principal=principal, schedule_id=schedule_id)
    await check_target(session=session, principal=principal, schedule=schedule, act=True)
    await session.delete(schedule)
    await session.flush()


async def schedules_on_group(*, session: AsyncSession, group_id: int) -> list[CommandSchedule]:
    """Every schedule (enabled or not) whose target is the group, by id."""
    query = select(CommandSchedule).where(CommandSchedule.group_id == group_id)
    return list((await session.scalars(query.order_by(CommandSchedule.id))).all())


async def detach_group(*, session: AsyncSession, group_id: int) -> int:
    """Disable the group's schedules and cut them from it (the group is being deleted); how
    many. A claim in progress (``runs.claim_due``) compares ``next_run_ms``: one of the two
    writes wins, and a run that already started finds no group and queues nothing."""
    done = await session.execute(
        update(CommandSchedule)
        .where(CommandSchedule.group_id == group_id)
        .values(enabled=False, next_run_ms=None, group_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Upcoming:
    schedule: CommandSchedule
    at_ms: int


def upcoming(schedules: Sequence[CommandSchedule], start_ms: int, end_ms: int) -> list[Upcoming]:
    """The occurrences of enabled schedules in ``[start_ms, end_ms)``, in time order."""
    found: list[Upcoming] = []
    for schedule in schedules:
        if not schedule.enabled or schedule.next_run_ms is None:
            continue
        if schedule.cron is None:
            times = [schedule.next_run_ms] if start_ms <= schedule.next_run_ms < end_ms else []
        else:
            times = cron_maths.between(
                schedule.cron, schedule.timezone, max(start_ms, schedule.next_run_ms), end_ms,
                UPCOMING_MAX,
            )  # fmt: skip
        found.extend(Upcoming(schedule, t) for t in times)
    return sorted(found, key=lambda u: (u.at_ms, u.schedule.id))
