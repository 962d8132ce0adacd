"""Achieved reduction of a demand response event and its performance against the target.

    reduction_kw(t)  = baseline_kw(t) - metered_kw(t)            per interval t of the event
    energy_kwh       = sum_t reduction_kw(t) * step_h
    mean_kw          = energy_kwh / event duration [h]  (intervals with a reading)
    performance_pct  = 100 * mean_kw / target_kw

A negative reduction (consumption above the baseline) counts against the event, as in the ISO
settlements (CAISO, PJM and NYISO net the intervals of an event hour by hour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed


def achieved_reduction_kw(baseline_kw: pd.Series, metered_kw: pd.Series) -> pd.Series:
    """Baseline minus metered site consumption [kW] on the baseline's intervals (NaN where the
    meter has no reading)."""
    metered = metered_kw.reindex(baseline_kw.index)
    return (baseline_kw - metered).rename("reduction_kw")


@dataclass(frozen=True)
class EventPerformance:
    """How much an event delivered: per interval, in energy and against its target."""

    reduction_kw: pd.Series
    energy_kwh: float
    mean_reduction_kw: float
    target_kw: float
    performance_pct: float
    missing_intervals: int


def event_performance(
    baseline_kw: pd.Series, metered_kw: pd.Series, *, target_kw: float, step_minutes: int
) -> EventPerformance:
    """Achieved reduction and performance [% of ``target_kw``] of an event (see module doc).

    Intervals without a reading are left out of the mean and counted in ``missing_intervals``.
    Raises ``ValidationFailed`` for a target <= 0 or when no interval has a reading.
    """
    if not target_kw > 0:
        raise ValidationFailed("the event target must be a positive power [kW]")
    reduction = achieved_reduction_kw(baseline_kw, metered_kw)
    known = reduction.dropna()
    if known.empty:
        raise ValidationFailed("no metered reading during the event")
    step_h = step_minutes / 60
    energy = float(np.sum(known.to_numpy()) * step_h)
    mean_kw = energy / (len(known) * step_h)
    return EventPerformance(
        reduction_kw=reduction,
        energy_kwh=energy,
        mean_reduction_kw=mean_kw,
        target_kw=float(target_kw),
        performance_pct=100.0 * mean_kw / target_kw,
        missing_intervals=int(reduction.isna().sum()),
    )
