"""Local time of a time grid (the site's time zone): hours, weekdays, days and shifts.

Time is UTC epoch milliseconds inside; local time only where behaviour follows the clock on
the wall (shifts, opening hours, occupancy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gridpilot.sim.noise import Array

MS_PER_S = 1000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000


@dataclass(frozen=True)
class LocalTime:
    """Local clock features of ``t_ms`` (arrays of the same length)."""

    t_ms: NDArray[np.int64]
    hour: Array  # local hour of day with fraction, [0, 24)
    weekday: NDArray[np.int64]  # 0 = Monday
    day_of_year: NDArray[np.int64]
    day: NDArray[np.int64]  # local calendar day number (days since 1970-01-01 local)

    @classmethod
    def of(cls, t_ms: NDArray[np.int64], timezone: str) -> LocalTime:
        utc = pd.DatetimeIndex(pd.to_datetime(np.asarray(t_ms), unit="ms", utc=True)).as_unit("ns")
        index = utc.tz_convert(timezone)
        offset_ms = np.asarray(
            index.tz_localize(None).asi8 // 1_000_000 - np.asarray(t_ms), dtype=np.int64
        )
        local_ms = np.asarray(t_ms, dtype=np.int64) + offset_ms
        day = local_ms // MS_PER_DAY
        hour = (local_ms - day * MS_PER_DAY) / MS_PER_HOUR
        return cls(
            t_ms=np.asarray(t_ms, dtype=np.int64),
            hour=hour.astype(np.float64),
            weekday=((day + 3) % 7).astype(np.int64),  # 1970-01-01 was a Thursday
            day_of_year=np.asarray(index.day_of_year, dtype=np.int64),
            day=day.astype(np.int64),
        )


#: Production intensity of the three shifts (06-14, 14-22, 22-06) by the weekday the shift
#: starts on: full on weekdays, reduced on Saturday, a skeleton crew on Sunday.
SHIFT_INTENSITY = np.array(
    [
        [1.00, 0.85, 0.60],  # Monday
        [1.00, 0.85, 0.60],
        [1.00, 0.85, 0.60],
        [1.00, 0.85, 0.60],
        [1.00, 0.85, 0.55],  # Friday
        [0.55, 0.30, 0.00],  # Saturday
        [0.00, 0.00, 0.35],  # Sunday (the night shift restarts the week)
    ]
)


def shift_index(local: LocalTime) -> NDArray[np.int64]:
    """0 day (06-14), 1 late (14-22), 2 night (22-06)."""
    h = local.hour
    return np.where((h >= 6) & (h < 14), 0, np.where((h >= 14) & (h < 22), 1, 2)).astype(np.int64)


def production_intensity(local: LocalTime) -> Array:
    """Planned production rate as a fraction of capacity (0..1) by shift and weekday.

    The night shift after midnight belongs to the previous day's roster.
    """
    shift = shift_index(local)
    start_weekday = np.where(local.hour < 6, (local.weekday + 6) % 7, local.weekday)
    return np.asarray(SHIFT_INTENSITY[start_weekday, shift], dtype=np.float64)


def grid(start_ms: int, end_ms: int, step_ms: int) -> NDArray[np.int64]:
    """Timestamps ``k * step_ms`` in [start, end) (aligned to multiples of the step)."""
    first = -(-start_ms // step_ms) * step_ms
    return np.arange(first, end_ms, step_ms, dtype=np.int64)
