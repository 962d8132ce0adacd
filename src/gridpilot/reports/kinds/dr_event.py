"""The DR event report (#19, #17): a stored demand-response event of the site, or every event of
the period, interval by interval.

From the dr domain's stored event (``dr.service.get_event``, ``intervals``: what
``GET /api/v1/dr-events/{id}`` answers): per 15-min interval the baseline, the target load
(baseline - target reduction), the metered consumption ("actual") and the achieved reduction
(baseline - actual) [kW], and the interval's performance (reduction / target reduction [%]); per
event the target reduction, the achieved (mean) reduction and the performance [% of the target]
the DR loop judged it by (``analytics.cbl.reduction``: CAISO/PJM/NYISO net the intervals), the
pass mark, the status and its reason, and the energy not consumed (sum of the known intervals'
reductions x 0.25 h [kWh]). An event not yet judged (scheduled, active, cancelled) has no
achieved reduction or performance.

With ``event_id`` the report is of that event, over its window, on demand only; without, of
every event of the site overlapping the period (a monthly schedule: the month's events), with a
summary table first.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.dr import service as dr
from gridpilot.dr.models import DrEvent, DrEventInterval
from gridpilot.reports.document import (
    Chart,
    Column,
    Document,
    Figure,
    Item,
    Section,
    Table,
    local_text,
)
from gridpilot.reports.kinds import BuildContext, PeriodQuery, ReportKind, register
from gridpilot.reports.periods import Period
from gridpilot.reports.targets import Target

#: Events of one report (a month holds a few dozen at most).
MAX_EVENTS = 200
JUDGED = ("completed", "failed")


class DrEventParams(BaseModel):
    """Parameters of the DR event report."""

    model_config = ConfigDict(extra="forbid")

    event_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="One event of the report's site (its window is the period; on demand "
        "only); none: every event of the site in the period",
    )


class DrEventNotOnSite(ValidationFailed):
    code = "dr_event_not_on_site"


async def _event(
    session: AsyncSession, principal: Principal, target: Target, event_id: int
) -> DrEvent:
    event = await dr.get_event(session=session, principal=principal, event_id=event_id)
    if event.site_id != target.site.id:
        raise DrEventNotOnSite(f"DR event {event_id} belongs to another site")
    return event


async def check(session: AsyncSession, principal: Principal, target: Target, params: Any) -> None:
    """The event (when named) exists, is visible and belongs to the report's site."""
    if params.event_id is not None:
        await _event(session, principal, target, params.event_id)


async def period(query: PeriodQuery, params: Any) -> Period | None:
    """A named event's window (whatever period was asked); else the schedule's."""
    if params.event_id is None:
        return None
    event = await _event(query.session, query.principal, query.target, params.event_id)
    return Period(event.start_ms, event.end_ms)


def _energy_kwh(event: DrEvent, rows: list[DrEventInterval]) -> float | None:
    known = [r.reduction_kw for r in rows if r.reduction_kw is not None]
    return sum(known) * event.step_ms / 3_600_000 if known else None


def _interval_pct(event: DrEvent, row: DrEventInterval) -> float | None:
    if row.reduction_kw is None or not event.target_reduction_kw > 0:
        return None
    return 100.0 * row.reduction_kw / event.target_reduction_kw


INTERVAL_COLUMNS = [
    Column("interval", "Interval", kind="time"),
    Column("baseline_kw", "Baseline", "kW", decimals=2),
    Column("target_kw", "Target", "kW", decimals=2),
    Column("actual_kw", "Actual", "kW", decimals=2),
    Column("reduction_kw", "Reduction", "kW", decimals=2),
    Column("performance_pct", "Performance", "%", decimals=1),
]


def _event_section(event: DrEvent, rows: list[DrEventInterval], zone: str) -> Section:
    """One event: its figures, a chart of baseline, target and actual, the intervals."""
    measured = sum(1 for r in rows if r.metered_kw is not None)
    judged = event.status in JUDGED
    figures: list[Item] = [
        Figure("status", "Status", event.status, "", 0, (event.status_reason or "")[:70]),
        Figure("target_reduction_kw", "Target reduction", event.target_reduction_kw, "kW", 2),
        Figure(
            "achieved_reduction_kw",
            "Achieved reduction (mean)",
            event.achieved_reduction_kw if judged else None,
            "kW",
            2,
        ),
        Figure(
            "performance_pct",
            "Performance",
            event.performance_pct if judged else None,
            "%",
            1,
            f"{event.pass_pct:g} % to pass" + (", opted out" if event.opted_out else ""),
        ),
        Figure("reduction_kwh", "Energy not consumed", _energy_kwh(event, rows), "kWh", 1),
        Figure("intervals_measured", "Intervals measured", f"{measured} of {len(rows)}", "", 0),
        Figure("baseline_method", "Baseline method", event.baseline_method, "", 0),
    ]
    table_rows = [
        [r.ts_ms, r.baseline_kw, r.target_kw, r.metered_kw, r.reduction_kw, _interval_pct(event, r)]
        for r in rows
    ]
    labels = [local_text(r.ts_ms, zone)[11:16] for r in rows]
    chart = Chart(
        f"event_{event.id}",
        "Baseline, target and actual load",
        "line",
        labels,
        {
            "baseline": [r.baseline_kw for r in rows],
            "target": [r.target_kw for r in rows],
            "actual": [r.metered_kw for r in rows],
        },
        "kW",
    )
    title = (
        f"Event {event.id}: {local_text(event.start_ms, zone)} to {local_text(event.end_ms, zone)}"
    )
    table = Table(
        f"intervals_{event.id}", f"Event {event.id} per interval", INTERVAL_COLUMNS, table_rows
    )
    return Section(title, [*figures, chart, table])


def _summary(events: list[DrEvent], energy: dict[int, float | None]) -> Section:
    judged = [e for e in events if e.status in JUDGED and e.performance_pct is not None]
    mean = sum(e.performance_pct or 0.0 for e in judged) / len(judged) if judged else None
    known = [v for v in energy.values() if v is not None]
    columns = [
        Column("event", "Event", kind="text"),
        Column("start", "Start", kind="time"),
        Column("end", "End", kind="time"),
        Column("status", "Status", kind="text"),
        Column("target_reduction_kw", "Target", "kW", decimals=2),
        Column("achieved_reduction_kw", "Achieved", "kW", decimals=2),
        Column("performance_pct", "Performance", "%", decimals=1),
        Column("reduction_kwh", "Not consumed", "kWh", decimals=1),
    ]
    rows = [
        [
            str(e.id), e.start_ms, e.end_ms, e.status, e.target_reduction_kw,
            e.achieved_reduction_kw if e.status in JUDGED else None,
            e.performance_pct if e.status in JUDGED else None, energy[e.id],
        ]
        for e in events
    ]  # fmt: skip
    count = {s: sum(1 for e in events if e.status == s) for s in dr.STATUSES}
    return Section(
        "Events of the period",
        [
            Figure("events", "Events", len(events), "", 0),
            *(Figure(f"events_{s}", s.capitalize(), n, "", 0) for s, n in count.items()),
            Figure("mean_performance_pct", "Mean performance (judged events)", mean, "%", 1),
            Figure("reduction_kwh", "Energy not consumed", sum(known) if known else None, "kWh", 1),
            Table("events", "Events", columns, rows),
        ],
    )


async def build(ctx: BuildContext, params: DrEventParams) -> Document:
    """The event's (or the period's events') document."""
    start, end = ctx.start_ms, ctx.end_ms
    if params.event_id is not None:
        events = [await _event(ctx.session, ctx.principal, ctx.target, params.event_id)]
        start, end = events[0].start_ms, events[0].end_ms
    else:
        found = await dr.list_events(
            session=ctx.session, principal=ctx.principal, site_id=ctx.site.id,
            start_ms=start, end_ms=end, limit=MAX_EVENTS,
        )  # fmt: skip
        events = sorted(found, key=lambda e: (e.start_ms, e.id))
    zone = ctx.site.timezone
    sections = []
    energy: dict[int, float | None] = {}
    for event in events:
        rows = await dr.intervals(session=ctx.session, event_id=event.id)
        energy[event.id] = _energy_kwh(event, rows)
        sections.append(_event_section(event, rows, zone))
    if params.event_id is None:
        sections.insert(0, _summary(events, energy))
    notes = [
        "Performance = mean reduction over the intervals with a reading / target reduction "
        "(negative reductions count against the event); values as stored by the DR loop "
        "(GET /api/v1/dr-events/{id}).",
    ]
    if not events:
        notes.append("No DR event of the site in this period.")
    return Document(
        kind=KIND.name,
        title=KIND.title,
        site_name=ctx.site.name,
        timezone=zone,
        start_ms=start,
        end_ms=end,
        generated_ms=ctx.now_ms,
        sections=sections,
        notes=notes,
    )


KIND = register(
    ReportKind(
        name="dr_event",
        title="Demand response event report",
        description="Baseline, target and actual load per interval, achieved reduction and "
        "performance of a DR event of the site (or of every event of the period).",
        params=DrEventParams,
        build=build,
        check=check,
        period=period,
        fixed_period=lambda params: params.event_id is not None,
    )
)
