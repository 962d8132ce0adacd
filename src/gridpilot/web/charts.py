"""ECharts options for the dashboard's time-series charts (times in epoch ms, values in kW or
kWh), readable on the light and the dark theme alike (grey text, faint grid lines)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from gridpilot.core.timestamps import now_ms
from gridpilot.web.energy_flow import split
from gridpilot.web.fleet_view import PowerHistory
from gridpilot.web.numbers import zone_name
from gridpilot.web.palette import COLOURS as COLOURS
from gridpilot.web.palette import CONTRACT, GREY, GRID_LINE
from gridpilot.web.palette import LABELS as LABELS

#: Drawn below the axis (flows out of the site).
NEGATIVE = ("export", "charge")


def points(series: pd.Series) -> list[list[float | None]]:
    """``[[epoch ms, value], ...]`` with gaps as None (ECharts breaks the line there)."""
    stamps = pd.DatetimeIndex(series.index).as_unit("ms").asi8
    return [
        [int(ts), None if math.isnan(v) else round(float(v), 3)]
        for ts, v in zip(stamps, series.to_numpy(), strict=True)
    ]


def usual_gap_ms(data: list[list[Any]], floor_ms: int) -> int:
    """What counts as a gap in ``data`` [ms]: twice its median spacing, at least ``floor_ms``
    (a series sampled every 15 min has no gap at 15 min)."""
    if len(data) < 3:
        return floor_ms
    spacing = float(np.median(np.diff([point[0] for point in data])))
    return max(floor_ms, int(2 * spacing))


def break_gaps(data: list[list[Any]], max_gap_ms: int) -> list[list[Any]]:
    """``data`` (``[[epoch ms, value], ...]``, values known) with a ``[ts, None]`` point
    inserted wherever two neighbours lie more than ``max_gap_ms`` apart: ECharts then breaks
    the line there instead of drawing a straight line across missing data."""
    out: list[list[Any]] = []
    for point in data:
        if out and point[0] - out[-1][0] > max_gap_ms:
            out.append([out[-1][0] + 1, None])
        out.append(point)
    return out


def pairs(stamps_ms: Sequence[int], values: np.ndarray, sign: float = 1.0) -> list[list[Any]]:
    """``[[epoch ms, value], ...]`` of an array, NaN as None, times ``sign``."""
    return [
        [int(ts), None if math.isnan(v) else round(sign * float(v), 3) + 0.0]
        for ts, v in zip(stamps_ms, values, strict=True)
    ]


def _formatter(unit: str) -> str:
    """A JavaScript tooltip value formatter: thousands separators and the unit."""
    return (
        "(v) => v == null ? '\\u2013' : "
        f"v.toLocaleString(undefined, {{maximumFractionDigits: 1}}) + ' {unit}'"
    )


def time_chart(
    series: dict[str, list[list[float | None]]], unit: str = "kW", kind: str = "line"
) -> dict[str, Any]:
    """A chart with a time axis, one line (or bar series) per entry of ``series``."""
    return {
        "animation": False,  # live updates redraw often; no animation to wait for
        "textStyle": {"color": GREY},
        "tooltip": {"trigger": "axis", ":valueFormatter": _formatter(unit)},
        "legend": {"top": 0, "type": "scroll", "textStyle": {"color": GREY}},
        "grid": {"left": 8, "right": 16, "top": 56, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "time",
            "axisLabel": {
                "hideOverlap": True,
                "formatter": {"day": "{d} {MMM}", "hour": "{HH}:{mm}", "minute": "{HH}:{mm}"},
            },
        },
        "yAxis": {
            "type": "value",
            "name": unit,
            "axisLabel": {":formatter": "(v) => v.toLocaleString()"},
            "splitLine": {"lineStyle": {"color": GRID_LINE}},
        },
        "series": [
            {"name": name, "type": kind, "showSymbol": False, "data": data}
            for name, data in series.items()
        ],
    }


def _shown(history: PowerHistory) -> list[str]:
    """The terms to draw: consumption and the grid's two; generation and storage where the
    site has them (no empty "Generation" legend on a factory without PV)."""
    generation = ["generation"] if "generation" in history.present else []
    storage = [t for t in ("discharge", "charge") if t in history.present]
    return ["consumption", *generation, "import", "export", *storage]


#: Where consumption comes from, bottom to top of the stack: (link, flow colour, label).
HOME_PARTS = (
    ("solar_home", "generation", "Generation \u2192 home"),
    ("battery_home", "discharge", "Battery \u2192 home"),
    ("grid_home", "import", "Grid \u2192 home"),
)


def home_parts(history: PowerHistory) -> dict[str, np.ndarray]:
    """Each source's share of consumption per interval (``HOME_PARTS``, as the energy flow
    splits them: export and charge come first from generation), in ``history``'s unit; they
    add up to consumption wherever the balance holds. An interval where consumption or a term
    the site has is unknown is NaN in every part (a gap in the whole stack, not a step to
    zero); a term the site lacks (no battery) counts 0."""
    known = ~np.isnan(history.kw["consumption"])
    terms = {}
    for t in ("generation", "discharge", "charge", "export", "import"):
        values = np.clip(history.kw[t], 0.0, None)
        if t not in history.present and t not in ("import", "export"):
            values = np.nan_to_num(values)  # the site has none of it (the grid: always)
        terms[t] = np.where(known, values, np.nan)
    return split(terms)


def _parts(history: PowerHistory) -> list[tuple[str, str, str]]:
    """The stacked parts the site has: (link, flow, label)."""
    has = {"solar_home": "generation", "battery_home": "discharge", "grid_home": "import"}
    return [p for p in HOME_PARTS if has[p[0]] in history.present or p[0] == "grid_home"]


def _stacked(history: PowerHistory, kind: str) -> list[dict[str, Any]]:
    """The supply side stacked above the axis (sources of consumption, adding up to it) and
    export and charge stacked below it, every series on the same ``stamps_ms`` (ECharts
    stacks by index: gaps are None in each series at the same places)."""
    parts = home_parts(history)
    out: list[dict[str, Any]] = []
    for link, flow, label in _parts(history):
        out.append(
            {"name": label, "type": kind, "stack": "home", "color": COLOURS[flow],
             "data": pairs(history.stamps_ms, parts[link])}
        )  # fmt: skip
    for term in ("export", "charge"):
        if term in history.present or term == "export":
            values = np.where(np.isnan(history.kw["consumption"]), np.nan, history.kw[term])
            out.append(
                {"name": LABELS[term], "type": kind, "stack": "out", "color": COLOURS[term],
                 "data": pairs(history.stamps_ms, values, -1.0)}
            )  # fmt: skip
    if kind == "line":
        for series in out:
            series |= {"showSymbol": False, "areaStyle": {"opacity": 0.45},
                       "lineStyle": {"width": 0.5}}  # fmt: skip
    return out


def _line(history: PowerHistory, term: str, **style: Any) -> dict[str, Any]:
    return {
        "name": LABELS[term],
        "type": "line",
        "showSymbol": False,
        "color": COLOURS[term],
        "lineStyle": {"width": 2} | style,
        "data": pairs(history.stamps_ms, history.kw[term]),
    }


def balance_chart(history: PowerHistory, contract_kw: float | None = None) -> dict[str, Any]:
    """Average power per interval [kW]: consumption as a line on top of its sources stacked
    as areas (generation, battery and grid to home: they add up to it), export and battery
    charge stacked below the axis; generation's total as a dashed line, grid import's total
    as a line where a battery also charges from the grid; the contract demand [kW] dashed."""
    options = time_chart({}, unit="kW")
    if contract_kw and history.stamps_ms:
        span = [history.stamps_ms[0], history.stamps_ms[-1] + history.step_ms]
        options["series"].append(
            {
                "name": "Contract demand",
                "type": "line",
                "showSymbol": False,
                "color": CONTRACT,
                "lineStyle": {"type": "dashed", "width": 1.5},
                "data": [[ts, contract_kw] for ts in span],
            }
        )
    options["series"] += _stacked(history, "line")
    options["series"].append(_line(history, "consumption"))
    if "generation" in history.present:
        options["series"].append(_line(history, "generation", width=1.5, type="dashed"))
    if "charge" in history.present:
        options["series"].append(_line(history, "import", width=1.5))
    return options


def energy_bars(history: PowerHistory) -> dict[str, Any]:
    """Energy per bucket [kWh] (``history.kw`` holds kWh: ``fleet_view.energy_per``):
    consumption's sources stacked above the axis (their top is consumption, also drawn as a
    line), export and charge below it."""
    options = time_chart({}, unit="kWh", kind="bar")
    options["series"] += _stacked(history, "bar")
    options["series"].append(_line(history, "consumption", width=1.5))
    return options


#: How a point without a known neighbour is drawn: a dot (a line needs two points).
LONE = {"symbol": "circle", "symbolSize": 7}


def plain(data: list[Any]) -> list[list[Any]]:
    """``data`` with marked points (``mark_lone``) back as ``[ts, value]``."""
    return [p["value"] if isinstance(p, dict) else p for p in data]


def mark_lone(data: list[list[Any]]) -> list[Any]:
    """``data`` with each known point whose neighbours are unknown or missing as
    ``{"value": point, **LONE}``: ECharts then draws it as a dot on a line without symbols
    (``lone_visible``), so a first live reading after a gap shows at once."""

    def known(i: int) -> bool:
        return 0 <= i < len(data) and data[i][1] is not None

    return [
        {"value": p, **LONE} if known(i) and not known(i - 1) and not known(i + 1) else p
        for i, p in enumerate(data)
    ]


def lone_visible(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of a line chart whose lone points show as dots: symbols on but none drawn
    except where a point carries its own (``mark_lone``)."""
    for series in options["series"]:
        if series.get("type") == "line":
            series |= {"showSymbol": True, "symbol": "none", "data": mark_lone(series["data"])}
    return options


def wall_ms(ms: int, timezone: str) -> int:
    """``ms`` moved by ``timezone``'s UTC offset at that moment: drawn with ECharts' ``useUTC``
    it reads as the zone's wall clock (``on_site_clock``; a live point added later)."""
    offset = datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).utcoffset()
    return ms + int(offset.total_seconds() * 1000) if offset else ms


def on_site_clock(options: dict[str, Any], timezone: str) -> dict[str, Any]:
    """``options`` drawn on the site's wall clock whatever the browser's zone: each point's
    time moved by ``timezone``'s UTC offset at that moment, and ECharts' ``useUTC`` on (as
    the DR and flexibility charts do), so the axis and the tooltips read as the site's times
    written on the page; the time axis is named with the zone (``CET (Europe/Rome)``)."""
    pairs_ = [
        p["value"] if isinstance(p, dict) else p for s in options["series"] for p in s["data"]
    ]
    named = zone_name(timezone, int(pairs_[-1][0]) if pairs_ else now_ms())
    for pair in pairs_:
        pair[0] = wall_ms(int(pair[0]), timezone)
    options["useUTC"] = True
    axis = options.get("xAxis")
    if isinstance(axis, dict) and axis.get("type") == "time":
        axis |= {
            "name": named,
            "nameLocation": "middle",
            "nameGap": 24,
            "nameTextStyle": {"color": GREY, "fontSize": 11},
        }
        if "grid" in options:
            options["grid"]["bottom"] = 24  # room for the zone's name below the times
    return options
