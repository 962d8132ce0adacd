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

from gridpilot.web.fleet_view import PowerHistory
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


def balance_chart(history: PowerHistory, contract_kw: float | None = None) -> dict[str, Any]:
    """Average power per interval [kW]: consumption and generation as lines, grid import and
    battery discharge as areas above the axis, export and charge below it; the contract
    demand [kW] as a dashed line when given."""
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
    for term in _shown(history):
        sign = -1.0 if term in NEGATIVE else 1.0
        line: dict[str, Any] = {
            "name": LABELS[term],
            "type": "line",
            "showSymbol": False,
            "color": COLOURS[term],
            "data": pairs(history.stamps_ms, history.kw[term], sign),
        }
        if term not in ("consumption", "generation"):
            line |= {"areaStyle": {"opacity": 0.3}, "lineStyle": {"width": 1}}
        else:
            line["lineStyle"] = {"width": 2}
        options["series"].append(line)
    return options


def energy_bars(history: PowerHistory) -> dict[str, Any]:
    """Energy per bucket [kWh] (``history.kw`` holds kWh: ``fleet_view.energy_per``):
    consumption and generation side by side, grid import above and export below the axis."""
    options = time_chart({}, unit="kWh", kind="bar")
    for term in _shown(history):
        sign = -1.0 if term in NEGATIVE else 1.0
        bars: dict[str, Any] = {
            "name": LABELS[term],
            "type": "bar",
            "color": COLOURS[term],
            "data": pairs(history.stamps_ms, history.kw[term], sign),
        }
        if term not in ("consumption", "generation"):
            bars["stack"] = "flows"
        options["series"].append(bars)
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


def on_site_clock(options: dict[str, Any], timezone: str) -> dict[str, Any]:
    """``options`` drawn on the site's wall clock whatever the browser's zone: each point's
    time moved by ``timezone``'s UTC offset at that moment, and ECharts' ``useUTC`` on (as
    the DR and flexibility charts do), so the axis reads as the site's times written on the
    page."""
    zone = ZoneInfo(timezone)

    def moved(ms: int) -> int:
        offset = datetime.fromtimestamp(ms / 1000, zone).utcoffset()
        return ms + int(offset.total_seconds() * 1000) if offset else ms

    for series in options["series"]:
        for point in series["data"]:
            pair = point["value"] if isinstance(point, dict) else point
            pair[0] = moved(int(pair[0]))
    options["useUTC"] = True
    return options
