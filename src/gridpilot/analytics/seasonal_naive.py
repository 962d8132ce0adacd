"""Seasonal-naive forecast: the value one season ago (e.g. same time last week).

The reference every forecaster must beat (Hyndman & Athanasopoulos, *Forecasting: Principles
and Practice*, 3rd ed., section 5.2).
"""

from __future__ import annotations

import numpy as np


def seasonal_naive(history: np.ndarray, *, period: int, horizon: int) -> np.ndarray:
    """The ``horizon`` values after ``history``: ``y[T + h] = y[T + h - k * period]``.

    ``k`` is the smallest whole number of seasons that reaches back into ``history``; a NaN in
    the source value stays NaN. Raises ``ValueError`` when ``history`` is shorter than a season.
    """
    values = np.asarray(history, dtype="float64")
    if period < 1 or len(values) < period:
        raise ValueError("seasonal naive needs at least one full season of history")
    steps = np.arange(1, horizon + 1)
    seasons_back = (steps + period - 1) // period
    return values[len(values) - seasons_back * period + steps - 1]
