"""Re-plan when the measured reduction falls short during the event.

A plan is the resources' nominal reductions; what they really give shows in the meter: an HVAC
saves less on a mild day than its ``kw_per_degc`` says, a dimmed lighting load draws less when
the daylight comes in, a deferrable machine idles. Each time the DR loop has measured a new
interval (``lifecycle.measure``: baseline - metered consumption), the newest one is compared
with the target:

    planned(t)  = sum over the plan's shed steps whose command went out of their reduction,
                  weighted by the part of interval t they held it          [kW]
    under(t)    = planned(t) - measured(t)                                  [kW]
    re-plan when measured(t) < target x pass_pct / 100 and under(t) > 0:
                  boost = min(under(t), target), the rest of the event planned for
                  target + boost (the resources still free take the difference)

``planned(t)`` already holds an earlier boost, so a boost that was not enough grows at the
next interval; a boost never shrinks during the event (a resource that warmed up late is not
released early). Only intervals that began ``SETTLE_INTERVALS`` after the revision whose
commands were in force are judged (a room follows an HVAC setpoint with a lag of ~25 min,
``sim/dr_response.py``), and each interval at most once (``plan.checked_ms``). A plan that
already falls short of its target with every resource (``shortfall_kw`` > 0) is not re-planned:
there is nothing left to add. The under-target alert (``dispatch_checks.under_target``) is
raised either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import dr_dispatch as dd
from gridpilot.assets.service import get_site
from gridpilot.core.timestamps import from_ms
from gridpilot.dr import dispatch_checks as checks
from gridpilot.dr.models import DrDispatchPlan, DrDispatchStep, DrEvent
from gridpilot.dr.service import SYSTEM, intervals

#: Whole intervals a revision's commands get to take effect before one is judged.
SETTLE_INTERVALS = 1


@dataclass(frozen=True)
class Shortfall:
    """Interval ``ts_ms`` measured ``measured_kw`` of ``planned_kw``; ``boost_kw`` to ask."""

    ts_ms: int
    measured_kw: float
    planned_kw: float
    boost_kw: float


def planned_kw(steps: list[DrDispatchStep], ts_ms: int, step_ms: int) -> float:
    """The reduction the plan's sent shed steps held over ``[ts_ms, ts_ms + step_ms)`` [kW]
    (a resource's step holds until its next step or its end)."""
    sent = [
        s for s in steps
        if s.phase == "shed" and s.command_id is not None and s.state in checks.HELD
        and s.resource_id is not None
    ]  # fmt: skip
    end = ts_ms + step_ms
    total = 0.0
    for i, s in enumerate(sent):
        later = [x.start_ms for x in sent[i + 1 :] if x.resource_id == s.resource_id]
        until = min([s.end_ms, *later])
        overlap = max(0, min(until, end) - max(s.start_ms, ts_ms))
        total += s.reduction_kw * overlap / step_ms
    return total


def judged_from_ms(plan: DrDispatchPlan, steps: list[DrDispatchStep], step_ms: int) -> int:
    """The first interval start the current revision is judged on."""
    mine = [s.start_ms for s in steps if s.revision == plan.revision and s.phase == "shed"]
    revised = min(mine) if mine else plan.created_ms
    return -(-revised // step_ms) * step_ms + SETTLE_INTERVALS * step_ms


async def check(
    *, session: AsyncSession, event: DrEvent, plan: DrDispatchPlan, steps: list[DrDispatchStep]
) -> Shortfall | None:
    """The newest measured interval not judged yet, when it falls short (moves
    ``plan.checked_ms`` on)."""
    first = judged_from_ms(plan, steps, event.step_ms)
    rows = [
        r for r in await intervals(session=session, event_id=event.id)
        if r.reduction_kw is not None and r.ts_ms >= first
        and (plan.checked_ms is None or r.ts_ms > plan.checked_ms)
    ]  # fmt: skip
    if not rows:
        return None
    row = rows[-1]
    plan.checked_ms = row.ts_ms
    assert row.reduction_kw is not None
    if row.reduction_kw >= event.target_reduction_kw * event.pass_pct / 100:
        return None
    planned = planned_kw(steps, row.ts_ms, event.step_ms)
    under = planned - row.reduction_kw
    if under <= dd.EPS_KW:
        return None
    boost = min(under, event.target_reduction_kw)
    return Shortfall(row.ts_ms, row.reduction_kw, round(planned, 3), round(boost, 3))


async def describe(*, session: AsyncSession, event: DrEvent, found: Shortfall) -> str:
    """What was measured, for the plan's notes, in the site's local time."""
    site = await get_site(session=session, site_id=event.site_id, principal=SYSTEM)
    local = from_ms(found.ts_ms).astimezone(ZoneInfo(site.timezone)).strftime("%H:%M")
    return (
        f"measured {found.measured_kw:.1f} kW in the interval from {local} ({site.timezone}) "
        f"against {found.planned_kw:.1f} kW planned"
    )
