"""Daily rows become complete ISO weeks or calendar months (UTC); partial ones are dropped."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gridpilot.insights.baselines.frame import combine


def daily(start: str, days: int) -> pd.DataFrame:
    index = pd.date_range(start, periods=days, freq="D", tz="UTC")
    return pd.DataFrame(
        {"energy_kwh": np.ones(days), "temp": np.arange(days, dtype="float64")}, index=index
    )


def test_weeks_start_on_monday_and_partial_weeks_are_dropped():
    frame = daily("2026-01-03", 20)  # Saturday 3 Jan .. Thursday 22 Jan
    result = combine(frame, {"energy_kwh": "sum", "temp": "mean"}, "week")
    assert list(result.frame.index) == [
        pd.Timestamp("2026-01-05", tz="UTC"),
        pd.Timestamp("2026-01-12", tz="UTC"),
    ]
    assert list(result.frame["energy_kwh"]) == [7.0, 7.0]
    assert list(result.frame["temp"]) == [5.0, 12.0]  # mean of days 2..8 and 9..15
    assert result.possible == 2


def test_months_need_every_day_for_sums():
    frame = daily("2026-01-01", 59)  # January and February 2026 whole
    frame.iloc[40, 0] = float("nan")  # a February day without energy
    result = combine(frame, {"energy_kwh": "sum", "temp": "mean"}, "month")
    assert list(result.frame.index.month) == [1, 2]
    assert result.frame["energy_kwh"].iloc[0] == 31.0
    assert math.isnan(result.frame["energy_kwh"].iloc[1])


def test_days_pass_through():
    frame = daily("2026-01-01", 3)
    assert combine(frame, {}, "day").frame is frame
