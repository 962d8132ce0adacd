"""ECharts options for the dashboard's time-series charts (times in epoch ms, values in kW)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def points(series: pd.Series) -> list[list[float | None]]:
    """``[[epoch ms, value], ...]`` with gaps as None (ECharts breaks the line there)."""
    stamps = pd.DatetimeIndex(series.index).as_unit("ms").asi8
    return [
        [int(ts), None if math.isnan(v) else round(float(v), 3)]
        for ts, v in zip(stamps, series.to_numpy(), strict=True)
    ]


def time_chart(
    series: dict[str, list[list[float | None]]], unit: str = "kW", kind: str = "line"
) -> dict[str, Any]:
    """A chart with a time axis, one line (or bar series) per entry of ``series``."""
    return {
        "animation": False,  # live updates redraw often; no animation to wait for
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 50, "right": 20, "top": 40, "bottom": 40},
        "xAxis": {"type": "time"},
        "yAxis": {"type": "value", "name": unit},
        "series": [
            {"name": name, "type": kind, "showSymbol": False, "data": data}
            for name, data in series.items()
        ],
    }
