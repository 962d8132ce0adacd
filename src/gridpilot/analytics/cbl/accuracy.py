"""Baseline accuracy on placebo days: non-event days treated as if they had an event.

On a placebo day nothing was curtailed, so the baseline should equal the metered load; the
error over the placebo "event" intervals of many days measures the method (CAISO Baseline
Accuracy Work Group, 2017; Coughlin et al., LBNL-63728). Statistics, over all n intervals of
all placebo days, with ``y`` metered and ``yhat`` baseline [kW], ``ybar`` = mean(y):

    bias_pct    = 100 * sum(yhat - y) / (n * ybar)      > 0: the baseline over-states the load
                                                          (a reduction would be over-credited)
    cv_rmse_pct = 100 * sqrt(sum((y - yhat)^2) / n) / ybar

These are ASHRAE Guideline 14's NMBE (with the opposite sign) and CV(RMSE) with p = 0: the
baseline is not fitted on these days, so no degree of freedom is used up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gridpilot.analytics.baseline import cv_rmse_pct, nmbe_pct
from gridpilot.analytics.cbl.result import CblResult
from gridpilot.core.errors import ValidationFailed


@dataclass(frozen=True)
class PlaceboAccuracy:
    """A method's errors over placebo days."""

    method: str
    days: int
    intervals: int
    bias_pct: float
    cv_rmse_pct: float
    skipped: dict[dt.date, str] = field(default_factory=dict)


def placebo_accuracy(
    method: str,
    actual_kw: pd.Series,
    baselines: Sequence[CblResult],
    *,
    skipped: dict[dt.date, str] | None = None,
) -> PlaceboAccuracy:
    """Bias and CV(RMSE) [%] of ``baselines`` (one per placebo day) against ``actual_kw``."""
    pairs = [_pair(actual_kw, b) for b in baselines]
    if not pairs:
        raise ValidationFailed("no placebo day to measure")
    y = np.concatenate([p[0] for p in pairs])
    yhat = np.concatenate([p[1] for p in pairs])
    keep = np.isfinite(y) & np.isfinite(yhat)
    y, yhat = y[keep], yhat[keep]
    return PlaceboAccuracy(
        method=method,
        days=len(pairs),
        intervals=len(y),
        bias_pct=-nmbe_pct(y, yhat, 0),
        cv_rmse_pct=cv_rmse_pct(y, yhat, 0),
        skipped=dict(skipped or {}),
    )


def _pair(actual_kw: pd.Series, baseline: CblResult) -> tuple[np.ndarray, np.ndarray]:
    actual = actual_kw.reindex(baseline.baseline_kw.index).to_numpy(dtype="float64")
    return actual, baseline.baseline_kw.to_numpy(dtype="float64")


def placebo_windows(
    days: Iterable[dt.date], *, start: dt.time, end: dt.time, timezone: str
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The [start, end) local-time window of each of ``days`` as UTC timestamps."""
    windows = []
    for day in days:
        first = pd.Timestamp(dt.datetime.combine(day, start)).tz_localize(timezone)
        last = pd.Timestamp(dt.datetime.combine(day, end)).tz_localize(timezone)
        windows.append((first.tz_convert("UTC"), last.tz_convert("UTC")))
    return windows
