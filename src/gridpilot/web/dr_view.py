"""What the demand-response page shows, without NiceGUI: status colours and icons, events
grouped into active / upcoming / past, an event's window in its site's time, the baseline vs
actual vs target chart, a flexible resource in one line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gridpilot.dr.models import DrEvent, DrEventInterval
from gridpilot.flex.schemas import ResourceOut
from gridpilot.web import palette
from gridpilot.web.charts import time_chart
from gridpilot.web.numbers import UNKNOWN, energy, local_clock, local_datetime, power

#: status -> (Quasar colour, Material icon, what it means)
STATUS: dict[str, tuple[str, str, str]] = {
    "scheduled": ("primary", "schedule", "Scheduled"),
    "active": ("orange-8", "bolt", "Active"),
    "completed": ("positive", "check_circle", "Completed"),
    "failed": ("negative", "error", "Failed"),
    "cancelled": ("grey-7", "block", "Cancelled"),
}
#: Chart colours: the baseline grey, the target green, the metered load as consumption (red).
CHART_COLOURS = {
    "Baseline": palette.BASELINE,
    "Target load": palette.TARGET,
    "Actual": palette.colour("consumption"),
}
#: A command's state -> Quasar colour.
COMMAND_COLOURS = {
    "pending": "grey-7",
    "skipped": "grey-7",
    "queued": "primary",
    "sent": "primary",
    "acknowledged": "primary",
    "succeeded": "positive",
    "failed": "negative",
    "expired": "negative",
    "cancelled": "grey-7",
}
QUARTER_H = 0.25


@dataclass
class Interval:
    """An event's interval as the page shows it (from the service's rows, then kept up to date
    from ``dr_event.performance`` without reading the database again)."""

    ts_ms: int
    baseline_kw: float
    target_kw: float
    metered_kw: float | None
    reduction_kw: float | None


def intervals_of(rows: Sequence[DrEventInterval]) -> list[Interval]:
    return [Interval(r.ts_ms, r.baseline_kw, r.target_kw, r.metered_kw, r.reduction_kw)
            for r in rows]  # fmt: skip


def apply_measured(rows: list[Interval], payload: dict[str, Any]) -> bool:
    """Copy the intervals of a ``dr_event.performance`` payload into ``rows``; whether any
    value changed."""
    by_ms = {r.ts_ms: r for r in rows}
    changed = False
    for measured in payload.get("intervals") or ():
        row = by_ms.get(measured.get("ts_ms"))
        if row is None:
            continue
        values = (measured.get("metered_kw"), measured.get("reduction_kw"))
        if (row.metered_kw, row.reduction_kw) != values:
            row.metered_kw, row.reduction_kw = values
            changed = True
    return changed


@dataclass(frozen=True)
class Grouped:
    active: list[DrEvent]
    upcoming: list[DrEvent]
    past: list[DrEvent]


def group(events: Sequence[DrEvent]) -> Grouped:
    """Active (soonest end first), upcoming (soonest start first), past (newest first) by
    status: scheduled events are upcoming even when the DR loop has not started them yet."""
    active = sorted((e for e in events if e.status == "active"), key=lambda e: e.end_ms)
    upcoming = sorted((e for e in events if e.status == "scheduled"), key=lambda e: e.start_ms)
    past = sorted(
        (e for e in events if e.status not in ("active", "scheduled")),
        key=lambda e: -e.start_ms,
    )
    return Grouped(active, upcoming, past)


def window(event: DrEvent, zone: str) -> str:
    """``2026-12-04 14:00 CET - 16:00 CET`` (the end's date when it is another day)."""
    start = local_datetime(event.start_ms, zone)
    end = local_datetime(event.end_ms, zone)
    same_day = start.split(" ")[0] == end.split(" ")[0]
    return f"{start} \u2013 {end.split(' ', 1)[1] if same_day else end}"


def performance(event: DrEvent) -> str:
    """``12.3 kW of 20.0 kW (62 %)`` once measured, else the target."""
    target = power(event.target_reduction_kw)
    if event.achieved_reduction_kw is None:
        return f"target {target}"
    pct = UNKNOWN if event.performance_pct is None else f"{event.performance_pct:,.0f} %"
    return f"{power(event.achieved_reduction_kw)} of {target} ({pct})"


def reduced_kwh(rows: Sequence[Interval | DrEventInterval]) -> float | None:
    """Energy reduced so far [kWh]: the measured intervals' reductions x 15 min."""
    known = [r.reduction_kw for r in rows if r.reduction_kw is not None]
    return sum(known) * QUARTER_H if known else None


def interval_stats(rows: Sequence[Interval | DrEventInterval]) -> dict[str, str]:
    """The figures above the chart: energy reduced, intervals measured, mean reduction."""
    known = [r.reduction_kw for r in rows if r.reduction_kw is not None]
    return {
        "reduced": energy(reduced_kwh(rows)),
        "measured": f"{len(known)} of {len(rows)}",
        "mean": power(sum(known) / len(known)) if known else UNKNOWN,
    }


def wall_ms(ms: int, zone: str) -> int:
    """``ms`` moved by the zone's UTC offset then: drawn with ECharts' ``useUTC`` the axis
    reads the site's wall clock, as the page's times do, whatever the browser's zone."""
    offset = datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).utcoffset()
    return ms + int(offset.total_seconds() * 1000) if offset else ms


def event_chart(rows: Sequence[Interval | DrEventInterval], zone: str = "UTC") -> dict[str, Any]:
    """Baseline, target load and actual (metered) per 15-min interval [kW], as steps: each
    value holds over its interval; actual is missing until the interval has been measured.
    The time axis is the site's local time (``wall_ms``)."""
    stamps = [r.ts_ms for r in rows]
    if stamps:  # the last interval's end, so the steps cover the whole event
        stamps = [wall_ms(t, zone) for t in [*stamps, stamps[-1] + 900_000]]

    def series(values: list[float | None]) -> list[list[Any]]:
        values = [*values, values[-1]] if values else values
        return [
            [t, None if v is None else round(v, 2)] for t, v in zip(stamps, values, strict=True)
        ]

    options = time_chart({
        "Baseline": series([r.baseline_kw for r in rows]),
        "Target load": series([r.target_kw for r in rows]),
        "Actual": series([r.metered_kw for r in rows]),
    })  # fmt: skip
    options["useUTC"] = True
    for line in options["series"]:
        name = line["name"]
        line["color"] = CHART_COLOURS[name]
        line["step"] = "end"
        line["lineStyle"] = {"width": 2.5 if name == "Actual" else 1.5}
        if name != "Actual":
            line["lineStyle"]["type"] = "dashed"
    return options


def resource_line(r: ResourceOut) -> str:
    """What a flexible resource offers, with units."""
    p = r.params.model_dump()
    if r.kind == "hvac":
        text = f"{p['kw_per_degc']:g} kW per \u00b0C, up to {p['max_offset_degc']:g} \u00b0C"
    elif r.kind == "curtailable_load":
        text = f"sheds {power(p['shed_kw'])}"
        if p.get("max_duration_min"):
            text += f" for up to {p['max_duration_min']} min"
    elif r.kind == "battery":
        text = (
            f"{energy(p['capacity_kwh'])}, discharge up to {power(p['discharge_max_kw'])} "
            f"above {p['soc_min_pct']:g} % SOC"
        )
    elif r.kind == "ev_charger":
        text = f"{power(p['power_min_kw'])} to {power(p['power_max_kw'])}"
    elif r.kind == "deferrable_load":
        text = f"{energy(p['energy_kwh'])} a day, up to {power(p['power_max_kw'])}"
    else:
        text = ", ".join(f"{k} {v}" for k, v in p.items() if v is not None)
    return text + ("" if r.enabled else " (disabled)")


def step_when(ms: int, zone: str) -> str:
    return local_clock(ms, zone)
