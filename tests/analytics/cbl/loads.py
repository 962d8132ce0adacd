"""Hand-made load series for the CBL tests: the load is a given function of the local day and
local hour, so every expected baseline can be worked out by hand from that function."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd


def make_load(
    kw: Callable[[dt.date, float], float],
    start: str,
    end: str,
    *,
    timezone: str,
    step: str = "15min",
) -> pd.Series:
    """Load [kW] on a UTC index from local midnight of ``start`` to local midnight of ``end``
    (exclusive): ``kw(local_date, local_hour)``, hour as a float (14.25 = 14:15)."""
    first = pd.Timestamp(start).tz_localize(timezone).tz_convert("UTC")
    last = pd.Timestamp(end).tz_localize(timezone).tz_convert("UTC")
    index = pd.date_range(first, last, freq=step, inclusive="left")
    local = index.tz_convert(timezone)
    hours = np.asarray(local.hour + local.minute / 60, dtype="float64")
    values = [kw(d, h) for d, h in zip(local.date, hours, strict=True)]
    return pd.Series(values, index=index, dtype="float64")


def by_day(levels: dict[dt.date, float], default: float = 0.0) -> Callable[[dt.date, float], float]:
    """A flat load per day: ``levels[day]`` [kW] all day, ``default`` on other days."""
    return lambda day, _hour: levels.get(day, default)


def day_number(day: dt.date, _hour: float) -> float:
    """A flat load equal to the day of the month [kW]: 23 kW all day on the 23rd."""
    return float(day.day)
