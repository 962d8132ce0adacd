"""Level shifts under 14 days on an asset idle at weekends (issue 21's anomaly leftover)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridpilot.analytics.anomaly import day_types, weekend_differs
from gridpilot.analytics.anomaly_shift import shift_findings


def week(seed: int, idle_weekend: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hours = np.arange(7 * 24)
    power = 45 + 20 * np.sin(hours / 24 * 2 * np.pi) + rng.normal(0, 1.5, len(hours))
    if idle_weekend:
        power[5 * 24 :] = 3.0 + rng.normal(0, 0.15, 2 * 24)
    index = pd.date_range("2026-01-05", periods=len(hours), freq="h", tz="UTC")  # a Monday
    return pd.DataFrame({"power_kw": power}, index=index)


def test_an_idle_weekend_is_profiled_apart_and_not_flagged():
    flags = []
    for seed in range(5):
        frame = week(seed, idle_weekend=True)
        groups = day_types(frame["power_kw"])
        assert groups is not None and groups.sum() == 48
        flags.append(len(shift_findings(frame)))
    # a time-of-day profile alone flagged most weekend hours (bench/anomaly.py: 52 a week)
    assert np.mean(flags) < 3


def test_an_ordinary_week_keeps_one_profile():
    for seed in range(5):
        series = week(seed, idle_weekend=False)["power_kw"]
        assert day_types(series) is None
        assert not weekend_differs(series - series.groupby(series.index.hour).transform("median"))
