"""After the event (or once it is cancelled or opted out): release what is still held, step by
step, so the site's projected demand stays at or below its level before the event
(``analytics.dr_dispatch.restore_plan``), and give each battery back to its flex schedule.

**Batteries.** Between events a battery belongs to the flexibility domain's schedule (the MPC
re-plans every 15 min and sends one timed set point per step; ``flex/dispatch.py``). Dispatch
never stops a battery (a ``stop`` outlives the event: the device stays stopped until someone
starts it), its discharges last one interval each, and at its release it gets the command of
the schedule's step holding that moment (``dispatch_plan.handback``: the planned charge or
discharge to the step's end), so the schedule's plan resumes at once instead of at the MPC's
next round; a schedule idle then sends nothing (the MPC holds the battery idle too). A battery
without ``auto_dispatch``, or whose schedule does not reach the release, is handed back to its
own operation (``HAND_BACK``: ``discharge`` with ``power_kw: null``, which ends the remote
control the event's timed discharges put it under: its default or self-consumption mode),
instead of idling once its last discharge runs out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import dr_dispatch as dd
from gridpilot.core.errors import NotFound
from gridpilot.dr import dispatch_checks as checks
from gridpilot.dr.dispatch_plan import Candidate, StepSpec, handback, restore_steps
from gridpilot.dr.dispatch_resources import candidates
from gridpilot.dr.models import DrDispatchPlan, DrDispatchStep, DrEvent
from gridpilot.dr.service import intervals
from gridpilot.flex import service as flex
from gridpilot.flex.schedule_schemas import ScheduleOut
from gridpilot.flex.schemas import HvacParams

#: How far an HVAC setpoint goes back per restore step [degC].
RESTORE_DEGC_PER_STEP = 1.0
#: Release steps after the end at most (the last releases whatever is still held).
RESTORE_STEPS = 8
#: The command handing a battery back to its own operation (``control.kinds``: a storage
#: set point with ``power_kw: null`` ends the EMS's remote control).
HAND_BACK: tuple[str, dict[str, Any]] = ("discharge", {"power_kw": None})


def held(steps: list[DrDispatchStep], at_ms: int, step_ms: int) -> dict[int, tuple[float, int]]:
    """Per resource the reduction in force at ``at_ms`` [kW] and for how many intervals it
    shed during the event (from the shed steps whose command went out)."""
    live = [
        s for s in steps
        if s.phase == "shed" and s.command_id is not None and s.state in checks.HELD
        and s.start_ms < at_ms and s.resource_id is not None
    ]  # fmt: skip
    kw_now: dict[int, float] = {}
    first: dict[int, int] = {}  # the first start with a reduction: the shed's length
    for s in live:  # by start: the last one in force wins
        assert s.resource_id is not None
        kw_now[s.resource_id] = s.reduction_kw if s.end_ms >= at_ms else 0.0
        if s.reduction_kw > dd.EPS_KW:
            first.setdefault(s.resource_id, s.start_ms)
    return {
        rid: (kw, math.ceil((at_ms - first.get(rid, at_ms)) / step_ms))
        for rid, kw in kw_now.items()
    }


def _held_of(c: Candidate, kw: float, intervals_held: int) -> dd.Held:
    """A held reduction as the restore sees it (an HVAC offset ramps back a degree a step)."""
    params = c.resource.params
    step_kw = params.kw_per_degc * RESTORE_DEGC_PER_STEP if isinstance(params, HvacParams) else None
    return dd.Held(
        c.shed.name, kw, c.shed.rebound_frac, max(1, intervals_held), c.shed.on_off, step_kw
    )


async def _schedule(session: AsyncSession, site_id: int) -> ScheduleOut | None:
    try:
        return await flex.get_latest_schedule(session=session, site_id=site_id)
    except NotFound:
        return None


def _covers(schedule: ScheduleOut | None, at_ms: int) -> bool:
    """Whether ``schedule`` has a step holding ``at_ms``."""
    if schedule is None or not schedule.steps:
        return False
    start = int(dt.datetime.fromisoformat(schedule.start).timestamp() * 1000)
    end = int(dt.datetime.fromisoformat(schedule.end).timestamp() * 1000)
    return start <= at_ms < end


async def _handbacks(
    session: AsyncSession, event: DrEvent, specs: list[StepSpec]
) -> list[StepSpec]:
    """Each battery's release step with its command: the flex schedule's step (``handback``;
    an idle step sends nothing: the battery stays idle as the schedule has it) when the MPC
    runs the battery and its schedule reaches the release, else ``HAND_BACK``."""
    owned = [s for s in specs if s.candidate.mode == "battery" and s.command is None]
    if not owned:
        return specs
    auto = any(s.candidate.resource.auto_dispatch for s in owned)
    schedule = await _schedule(session, event.site_id) if auto else None
    out = []
    for s in specs:
        if s in owned:
            scheduled = s.candidate.resource.auto_dispatch and _covers(schedule, s.start_ms)
            if scheduled:
                assert schedule is not None
                command = handback(schedule, s.candidate, s.start_ms)
            else:
                command = HAND_BACK
            s = dataclasses.replace(s, command=command) if command is not None else s
        out.append(s)
    return out


async def plan_restore(
    session: AsyncSession,
    event: DrEvent,
    plan: DrDispatchPlan,
    steps: list[DrDispatchStep],
    now_ms: int,
) -> list[StepSpec]:
    """Supersede what is left of the shed and plan the stepped release (sets the plan's
    status to ``restoring``, or ``done`` when nothing is held); the steps to store."""
    from_ms = min(event.end_ms, now_ms)
    for step in steps:
        if step.state == "pending" and step.phase == "shed":
            step.state, step.detail = "superseded", "the event ended (or was cancelled)"
    found, _ = await candidates(
        session, event, [from_ms], exclude=set(), now_ms=now_ms, steps=steps, releasing=True
    )
    by_id = {c.resource.id: c for c in found}
    releases = [
        _held_of(by_id[rid], kw, n)
        for rid, (kw, n) in held(steps, from_ms, event.step_ms).items()
        if rid in by_id and kw > dd.EPS_KW
    ]
    plan.status = "restoring" if releases else "done"
    if not releases:
        return []
    rows = await intervals(session=session, event_id=event.id)
    after = rows[-1].baseline_kw if rows else 0.0
    ceiling = plan.pre_event_kw if plan.pre_event_kw is not None else after
    specs, result = restore_steps(
        {c.shed.name: c for c in found}, releases, baseline_kw=[after] * RESTORE_STEPS,
        pre_event_kw=ceiling, from_ms=from_ms, step_ms=event.step_ms,
    )  # fmt: skip
    if result.forced:
        plan.notes = [*plan.notes, f"released at the last restore step: {', '.join(result.forced)}"]
    return await _handbacks(session, event, specs)
