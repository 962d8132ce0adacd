"""Status and measurement of events over time (one ``advance`` per event and step of the loop).

    scheduled --(start)--> active --(end, metered)--> completed | failed
    scheduled | active --(cancel)--> cancelled

- at its start an event becomes active; a day-matching baseline made before its day-of
  adjustment window had readings (an event announced ahead) is recomputed with them then;
- after each 15-min interval ends, its metered consumption (the site balance's ``consumption``,
  as for the baseline) and the achieved reduction ``baseline - metered`` [kW] are stored, and
  the intervals just measured are published with the reduction so far (``dr_event.performance``,
  streamed on the live WebSocket as ``dr_performance``: the DR page follows an event from it);
- once the event has ended and every interval has a metered value, or ``SETTLE_MS`` after the
  end with what there is, every interval is measured once more (late readings count) and the
  event is judged (``analytics.cbl.event_performance``): achieved reduction = mean of the
  intervals' reductions [kW], performance = 100 x achieved / target; completed when the
  performance reaches ``pass_pct``, else failed (no metered interval at all: failed). An
  opted-out event is measured but completed whatever its performance.

A transition is a compare-and-set on the status, so of several processes stepping the same
events exactly one makes (and publishes) each transition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.cbl import event_performance
from gridpilot.core.events import DrEventChanged, DrEventPerformance
from gridpilot.core.timestamps import MS_PER_MIN
from gridpilot.dr.baseline import consumption_kw
from gridpilot.dr.events import changed
from gridpilot.dr.models import DrEvent, DrEventInterval
from gridpilot.dr.service import OPEN, intervals, refresh_baseline

#: How long an ended event waits for the metered consumption of all its intervals.
SETTLE_MS = 60 * MS_PER_MIN


async def due_events(*, session: AsyncSession, now_ms: int) -> list[int]:
    """Ids of the open events that have started by ``now_ms`` (oldest first)."""
    query = select(DrEvent.id).where(DrEvent.status.in_(OPEN), DrEvent.start_ms <= now_ms)
    return list((await session.scalars(query.order_by(DrEvent.start_ms, DrEvent.id))).all())


async def _move(session: AsyncSession, event: DrEvent, old: str, new: str, at_ms: int) -> bool:
    """Compare-and-set of the status; whether this caller made the transition."""
    result = await session.execute(
        update(DrEvent)
        .where(DrEvent.id == event.id, DrEvent.status == old)
        .values(status=new, updated_ms=at_ms)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    event.status = new
    event.updated_ms = at_ms
    return True


async def measure(
    *,
    session: AsyncSession,
    event: DrEvent,
    rows: list[DrEventInterval],
    upto_ms: int,
    again: bool = False,
) -> list[DrEventInterval]:
    """Store metered consumption and reduction [kW] of the intervals ended by ``upto_ms`` (not
    yet measured, or all of them with ``again``); the intervals that got a value."""
    todo = [
        r for r in rows if r.ts_ms + event.step_ms <= upto_ms and (again or r.metered_kw is None)
    ]
    if not todo:
        return []
    metered = await consumption_kw(
        session=session, site_id=event.site_id, start_ms=todo[0].ts_ms,
        end_ms=todo[-1].ts_ms + event.step_ms, now_ms=upto_ms,
    )  # fmt: skip
    by_ms = dict(zip(pd.DatetimeIndex(metered.index).as_unit("ms").asi8, metered, strict=True))
    done = []
    for row in todo:
        value = by_ms.get(row.ts_ms)
        if value is None or not math.isfinite(value):
            continue
        row.metered_kw = round(float(value), 6)
        row.reduction_kw = round(row.baseline_kw - float(value), 6)
        done.append(row)
    await session.flush()
    return done


def performance(
    event: DrEvent, rows: list[DrEventInterval], measured: list[DrEventInterval], at_ms: int
) -> DrEventPerformance:
    """The ``dr_event.performance`` payload: the intervals just ``measured`` and the mean
    reduction of every interval measured so far (as ``judge`` will count it)."""
    known = [r.reduction_kw for r in rows if r.reduction_kw is not None]
    mean = sum(known) / len(known) if known else 0.0
    target = event.target_reduction_kw
    return {
        "event_id": event.id, "site_id": event.site_id, "status": event.status,
        "target_reduction_kw": target,
        "intervals": [
            {"ts_ms": r.ts_ms, "baseline_kw": r.baseline_kw, "target_kw": r.target_kw,
             "metered_kw": float(r.metered_kw or 0.0), "reduction_kw": float(r.reduction_kw or 0.0)}
            for r in measured
        ],
        "achieved_reduction_kw": round(mean, 6),
        "performance_pct": round(100 * mean / target, 3) if target > 0 else 0.0,
        "measured_intervals": len(known), "total_intervals": len(rows), "measured_ms": at_ms,
    }  # fmt: skip


@dataclass
class Progress:
    """What one ``advance`` changed, to publish once the caller has committed: status
    transitions and the intervals measured."""

    changes: list[DrEventChanged] = field(default_factory=list)
    performance: DrEventPerformance | None = None


def judge(event: DrEvent, rows: list[DrEventInterval]) -> tuple[str, str]:
    """Set the achieved reduction and performance of an ended event; (status, reason)."""
    known = [r for r in rows if r.metered_kw is not None]
    if not known:
        status = "completed" if event.opted_out else "failed"
        return status, "no metered consumption during the event"
    index = pd.to_datetime([r.ts_ms for r in rows], unit="ms", utc=True)
    baseline = pd.Series([r.baseline_kw for r in rows], index=index)
    metered = pd.Series([r.metered_kw for r in rows], index=index, dtype="float64")
    perf = event_performance(
        baseline, metered, target_kw=event.target_reduction_kw,
        step_minutes=event.step_ms // MS_PER_MIN,
    )  # fmt: skip
    event.achieved_reduction_kw = round(perf.mean_reduction_kw, 6)
    event.performance_pct = round(perf.performance_pct, 3)
    reason = f"achieved {perf.performance_pct:.1f} % of the target"
    if perf.missing_intervals:
        reason += f" ({perf.missing_intervals} of {len(rows)} intervals without a reading)"
    if event.opted_out:
        return "completed", reason + "; opted out: measured, not judged"
    if perf.performance_pct >= event.pass_pct:
        return "completed", reason
    return "failed", reason + f", {event.pass_pct:g} % needed"


async def advance(*, session: AsyncSession, event_id: int, now_ms: int) -> Progress:
    """Bring one event up to ``now_ms``: start it, measure its ended intervals, end it. What
    to publish once the caller has committed."""
    event = await session.get(DrEvent, event_id)
    out = Progress()
    if event is None or event.status not in OPEN or event.start_ms > now_ms:
        return out
    if event.status == "scheduled":
        if not await _move(session, event, "scheduled", "active", now_ms):
            return out
        out.changes.append(changed(event, "scheduled", now_ms))
        await refresh_baseline(session=session, event=event, now_ms=now_ms)
    rows = await intervals(session=session, event_id=event.id)
    upto = min(now_ms, event.end_ms)
    measured = await measure(session=session, event=event, rows=rows, upto_ms=upto)
    if measured:
        out.performance = performance(event, rows, measured, now_ms)
    if now_ms < event.end_ms:
        return out
    if any(r.metered_kw is None for r in rows) and now_ms < event.end_ms + SETTLE_MS:
        return out
    # a baseline still provisional (a weather regression before its temperatures were
    # measured) is settled now, and every interval measured against it
    await refresh_baseline(session=session, event=event, now_ms=now_ms)
    await measure(session=session, event=event, rows=rows, upto_ms=upto, again=True)
    status, reason = judge(event, rows)
    event.status_reason = reason
    if await _move(session, event, "active", status, now_ms):
        await session.flush()
        out.changes.append(changed(event, "active", now_ms))
    return out
