"""Dispatch of demand-response events (the facility seed's DR coordinator), one ``tick`` per
event and step of the DR loop:

- **start**: when an event is active (at its start, or at once for one created already
  active, e.g. from a utility notification), plan the least-cost reductions meeting its target
  from the site's enabled flexible resources with a linked asset
  (``analytics.dr_dispatch.plan_reduction``; ``dispatch_plan`` maps kinds and commands), store
  the plan and its steps, and queue the due steps' commands through the control service;
- **fallback**: a command that failed, expired, or was not acknowledged within
  ``ACK_TIMEOUT_S``, raises a *manual intervention* alert naming it, and the rest of the event
  is re-planned without that resource (the next resources take over); a resource on which a
  manual command is in force is left alone (the manual command wins) and re-planned around;
- **under target**: once a measured interval's reduction is below the target (x ``pass_pct``)
  during the event, an alert (once per event), and the rest of the event is re-planned for the
  target plus what the plan's resources did not give (``dispatch_shortfall``): the resources
  still free take over;
- **restore**: after the end (or when the event is cancelled or opted out) the reductions still
  held are released step by step (``analytics.dr_dispatch.restore_plan``) so the projected site
  demand stays at or below its level in the hour before the event, and batteries go back to
  their flex schedule (``dispatch_restore``).

Commands are sent as ``system:dr`` with the idempotency key ``dr-<step id>`` (a retried tick
never sends twice). Every function flushes; the DR loop commits and then publishes the
returned command changes and alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.models import Alert
from gridpilot.analytics import dr_dispatch as dd
from gridpilot.assets.service import get_asset
from gridpilot.control.events import CommandChange
from gridpilot.control.service import queue_command
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_HOUR
from gridpilot.dr import dispatch_checks as checks
from gridpilot.dr import dispatch_shortfall as shortfall
from gridpilot.dr.baseline import consumption_kw
from gridpilot.dr.dispatch_checks import steps_of
from gridpilot.dr.dispatch_plan import StepSpec, shed_steps
from gridpilot.dr.dispatch_resources import candidates
from gridpilot.dr.dispatch_restore import plan_restore
from gridpilot.dr.dispatch_schemas import DispatchOut, dispatch_out
from gridpilot.dr.models import DrDispatchPlan, DrDispatchStep, DrEvent
from gridpilot.dr.service import SYSTEM, intervals
from gridpilot.flex import service as flex


@dataclass
class Outcome:
    """What a tick changed, to publish after the commit."""

    commands: list[CommandChange] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


async def due(*, session: AsyncSession, now_ms: int) -> list[int]:
    """Events to tick: active ones without a plan, and those whose plan is still running."""
    has_plan = exists().where(DrDispatchPlan.event_id == DrEvent.id)
    new = select(DrEvent.id).where(
        DrEvent.status == "active", DrEvent.start_ms <= now_ms, DrEvent.end_ms > now_ms,
        DrEvent.opted_out.is_(False), ~has_plan,
    )  # fmt: skip
    running = select(DrDispatchPlan.event_id).where(
        DrDispatchPlan.status.in_(("active", "restoring"))
    )
    ids = set((await session.scalars(new)).all()) | set((await session.scalars(running)).all())
    return sorted(ids)


async def plan_of(*, session: AsyncSession, event_id: int) -> DrDispatchPlan | None:
    query = select(DrDispatchPlan).where(DrDispatchPlan.event_id == event_id)
    return (await session.scalars(query)).first()


async def _plan_from(
    session: AsyncSession, event: DrEvent, plan: DrDispatchPlan, now_ms: int
) -> list[StepSpec]:
    """Solve the rest of the event from the interval holding ``now_ms``; the steps."""
    first = max(event.start_ms, now_ms - (now_ms - event.start_ms) % event.step_ms)
    starts = list(range(first, event.end_ms, event.step_ms))
    if not starts:
        return []
    steps = await steps_of(session=session, plan_id=plan.id) if plan.id is not None else []
    found, notes = await candidates(
        session, event, starts, exclude=set(plan.excluded), now_ms=now_ms, steps=steps
    )
    result = dd.plan_reduction(
        [c.shed for c in found], [event.target_reduction_kw + plan.boost_kw] * len(starts),
        step_min=event.step_ms / 60_000,
    )  # fmt: skip
    total = result.total_kw()
    plan.solver_status = result.status
    plan.planned_kw = round(sum(total) / len(total), 3)
    plan.shortfall_kw = round(max(result.shortfall_kw), 3)
    plan.cost_eur = str(result.cost_eur)
    if plan.shortfall_kw > 0:
        asked = f"the target + {plan.boost_kw:g} kW" if plan.boost_kw else "the target"
        notes.append(f"the resources fall short of {asked} by up to {plan.shortfall_kw:g} kW")
    plan.notes = [*plan.notes, *(f"rev {plan.revision}: {n}" for n in notes)]
    if not found:
        plan.status = "no_resources"
    return shed_steps(
        found, result, starts_ms=starts, step_ms=event.step_ms, from_ms=max(now_ms, event.start_ms)
    )


def _store(session: AsyncSession, plan: DrDispatchPlan, specs: list[StepSpec]) -> None:
    for s in specs:
        r = s.candidate.resource
        kind, params = s.command if s.command is not None else (None, {})
        session.add(
            DrDispatchStep(
                plan_id=plan.id, revision=plan.revision, resource_id=r.id, resource_name=r.name,
                resource_kind=r.kind, asset_id=r.asset_id, phase=s.phase, start_ms=s.start_ms,
                end_ms=s.end_ms, reduction_kw=round(s.reduction_kw, 6), command_kind=kind,
                command_params=params, state="pending" if kind else "skipped",
                detail=None if kind else "no command needed: the last one's duration ends",
            )
        )  # fmt: skip


async def pre_event_kw(session: AsyncSession, event: DrEvent, now_ms: int) -> float | None:
    """The site's mean metered demand in the hour before the event [kW], else the baseline of
    its first interval."""
    series = await consumption_kw(
        session=session, site_id=event.site_id, start_ms=event.start_ms - MS_PER_HOUR,
        end_ms=event.start_ms, now_ms=now_ms,
    )  # fmt: skip
    known = series.dropna()
    if len(known):
        return round(float(known.mean()), 3)
    rows = await intervals(session=session, event_id=event.id)
    return rows[0].baseline_kw if rows else None


async def _start(session: AsyncSession, event: DrEvent, now_ms: int) -> DrDispatchPlan | None:
    """A new plan with its steps; None when another process made it first."""
    plan = DrDispatchPlan(
        event_id=event.id, status="active", revision=0, solver_status="", planned_kw=0.0,
        shortfall_kw=0.0, cost_eur="0.00", excluded=[], notes=[], under_target_alerted=False,
        boost_kw=0.0, checked_ms=None, pre_event_kw=None, created_ms=now_ms, updated_ms=now_ms,
    )  # fmt: skip
    try:
        async with session.begin_nested():
            session.add(plan)
            await session.flush()
    except IntegrityError:
        return None
    _store(session, plan, await _plan_from(session, event, plan, now_ms))
    await session.flush()
    plan.pre_event_kw = await pre_event_kw(session, event, now_ms)
    return plan


async def _replan(session: AsyncSession, event: DrEvent, plan: DrDispatchPlan, now_ms: int) -> None:
    """The rest of the event without the excluded resources (the fallback) and for the target
    plus the plan's boost (a measured shortfall)."""
    for step in await steps_of(session=session, plan_id=plan.id):
        if step.state == "pending":
            step.state, step.detail = "superseded", f"re-planned at revision {plan.revision + 1}"
    plan.revision += 1
    _store(session, plan, await _plan_from(session, event, plan, now_ms))
    await session.flush()


async def _send_due(
    session: AsyncSession, plan: DrDispatchPlan, now_ms: int, settings: Settings, out: Outcome
) -> list[DrDispatchStep]:
    """Queue the commands of the due pending steps; the shed steps that could not be sent."""
    due_steps = [
        s for s in await steps_of(session=session, plan_id=plan.id)
        if s.state == "pending" and s.start_ms <= now_ms
    ]  # fmt: skip
    latest = {s.resource_id: s.id for s in due_steps}  # a later due step of a resource wins
    lost: list[DrDispatchStep] = []
    for step in due_steps:
        if latest[step.resource_id] != step.id:
            step.state, step.detail = "superseded", "a later step was due at once"
            continue
        assert step.asset_id is not None and step.command_kind is not None
        manual = await checks.manual_command(session=session, asset_id=step.asset_id, now_ms=now_ms)
        if manual is not None:
            step.state, step.detail = "skipped", f"manual command {manual} is in force: it wins"
            lost.append(step)
            continue
        try:
            asset = await get_asset(session=session, asset_id=step.asset_id, principal=SYSTEM)
            command, change = await queue_command(
                session=session, asset=asset, principal=SYSTEM, kind=step.command_kind,
                params=dict(step.command_params), settings=settings,
                idempotency_key=f"dr-{step.id}",
            )  # fmt: skip
        except GridpilotError as exc:
            step.state, step.detail = "failed", exc.message[:500]
            lost.append(step)
            continue
        step.command_id, step.state, step.sent_ms = command.id, command.state, now_ms
        if change is not None:
            out.commands.append(change)
    await session.flush()
    return lost


def _exclude(plan: DrDispatchPlan, steps: list[DrDispatchStep]) -> bool:
    """Exclude the resources of failed shed steps; whether any is new."""
    new = {s.resource_id for s in steps if s.phase == "shed" and s.resource_id is not None}
    new -= set(plan.excluded)
    plan.excluded = [*plan.excluded, *sorted(new)]
    return bool(new)


async def _shed(
    session: AsyncSession, event: DrEvent, plan: DrDispatchPlan, now_ms: int,
    settings: Settings, out: Outcome,
) -> None:  # fmt: skip
    """During the event: fallback for failed commands, re-plan on a measured shortfall, send
    what is due, re-plan around resources that could not take their command (bounded by the
    number of resources), and the under-target alert."""
    failed = await checks.check_sent(session=session, plan=plan, now_ms=now_ms)
    out.alerts += await checks.alert_failed(session=session, event=event, steps=failed)
    if _exclude(plan, failed):
        await _replan(session, event, plan, now_ms)
    await _on_shortfall(session, event, plan, now_ms)
    for _ in range(flex.MAX_RESOURCES_PER_SITE + 1):
        lost = await _send_due(session, plan, now_ms, settings, out)
        out.alerts += await checks.alert_failed(
            session=session, event=event, steps=[s for s in lost if s.state == "failed"]
        )
        if not _exclude(plan, lost):
            break
        await _replan(session, event, plan, now_ms)
    out.alerts += await checks.under_target(session=session, event=event, plan=plan)


async def _on_shortfall(
    session: AsyncSession, event: DrEvent, plan: DrDispatchPlan, now_ms: int
) -> None:
    """Re-plan for the target plus what the resources did not give in the newest measured
    interval, when there are resources left to add (``dispatch_shortfall``)."""
    steps = await steps_of(session=session, plan_id=plan.id)
    found = await shortfall.check(session=session, event=event, plan=plan, steps=steps)
    if found is None or found.boost_kw <= plan.boost_kw + dd.EPS_KW:
        return
    measured = await shortfall.describe(session=session, event=event, found=found)
    if plan.shortfall_kw > dd.EPS_KW:  # every resource is in use already: said once
        if not any(n.endswith("no resource left to add") for n in plan.notes):
            plan.notes = [*plan.notes, f"rev {plan.revision}: {measured}; no resource left to add"]
        return
    plan.boost_kw = found.boost_kw
    target = event.target_reduction_kw + found.boost_kw
    plan.notes = [
        *plan.notes,
        f"rev {plan.revision + 1}: {measured}: re-planned for {target:.1f} kW "
        f"(target + {found.boost_kw:.1f})",
    ]
    await _replan(session, event, plan, now_ms)


async def _restore(
    session: AsyncSession, event: DrEvent, plan: DrDispatchPlan, now_ms: int
) -> None:
    """Supersede what is left of the shed and store the stepped release."""
    steps = await steps_of(session=session, plan_id=plan.id)
    _store(session, plan, await plan_restore(session, event, plan, steps, now_ms))
    await session.flush()


async def tick(*, session: AsyncSession, event_id: int, now_ms: int, settings: Settings) -> Outcome:
    """Bring the dispatch of one event up to ``now_ms``; what to publish after the commit."""
    out = Outcome()
    event = await session.get(DrEvent, event_id)
    if event is None:
        return out
    plan = await plan_of(session=session, event_id=event.id)
    shedding = event.status == "active" and not event.opted_out and now_ms < event.end_ms
    if plan is None:
        plan = await _start(session, event, now_ms) if shedding else None
        if plan is None:
            return out
    if plan.status == "active" and shedding:
        await _shed(session, event, plan, now_ms, settings, out)
    elif plan.status == "active":
        failed = await checks.check_sent(session=session, plan=plan, now_ms=now_ms)
        out.alerts += await checks.alert_failed(session=session, event=event, steps=failed)
        await _restore(session, event, plan, now_ms)
    if plan.status == "restoring":
        failed = await checks.check_sent(session=session, plan=plan, now_ms=now_ms)
        out.alerts += await checks.alert_failed(session=session, event=event, steps=failed)
        lost = await _send_due(session, plan, now_ms, settings, out)
        out.alerts += await checks.alert_failed(
            session=session, event=event, steps=[s for s in lost if s.state == "failed"]
        )
        if await checks.finished(session=session, plan=plan):
            plan.status = "done"
    plan.updated_ms = now_ms
    await session.flush()
    return out


async def dispatch_of(*, session: AsyncSession, event_id: int) -> DispatchOut | None:
    """The event's dispatch plan and steps as answered in the event detail (None: none)."""
    plan = await plan_of(session=session, event_id=event_id)
    if plan is None:
        return None
    return dispatch_out(plan, await steps_of(session=session, plan_id=plan.id))
