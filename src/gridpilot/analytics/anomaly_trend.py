"""Trend test for slow faults (e.g. a compressed-air leak: pressure falls over days).

Mann-Kendall test (Mann 1945; Kendall 1975) with the Hamed & Rao (1998) variance correction for
autocorrelation (hourly plant data are strongly autocorrelated: without it a daily cycle looks
like a trend), and Sen's (1968) slope as the size of the trend:

    S = sum_{i<j} sign(x_j - x_i),  Var(S) = n(n-1)(2n+5)/18 - ties term
    Var*(S) = Var(S) * n/n*,  n/n* = 1 + 2/(n(n-1)(n-2)) * sum_k (n-k)(n-k-1)(n-k-2) rho_k
    (rho_k: lag-k autocorrelation of the ranks of the detrended series, significant lags only;
    at least the AR(1) factor 1 + 2 sum_k (1 - k/n) r1^k of Bayley & Hammersley (1946), which
    the significance filter can miss for strongly autocorrelated hourly data)
    Z = (S - sign(S)) / sqrt(Var*(S)),  p = 2 (1 - Phi(|Z|))
    Sen's slope = median((x_j - x_i) / (t_j - t_i))  [unit per day]

A trend is reported when p < ``alpha`` (warning) or p < ``alpha_critical`` (critical), it goes in
the watched direction, and the total change over the window (slope x duration) is at least
``min_change`` (so a statistically sure but negligible drift is ignored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

MIN_POINTS = 10
MAX_POINTS = 4000


@dataclass(frozen=True)
class TrendResult:
    n: int
    s: float
    z: float
    p_value: float
    tau: float  # Kendall's tau
    slope_per_day: float  # Sen's slope [unit/day]
    change: float  # slope x window duration [unit]
    variance_factor: float  # n/n* of Hamed & Rao (>= 1 means positive autocorrelation)


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _ties_term(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    counts = counts[counts > 1]
    return float(np.sum(counts * (counts - 1) * (2 * counts + 5)))


def _sen_slope(t: np.ndarray, x: np.ndarray) -> float:
    i, j = np.triu_indices(len(x), k=1)
    dt = t[j] - t[i]
    slopes = (x[j] - x[i]) / dt
    return float(np.median(slopes))


def _hamed_rao_factor(t: np.ndarray, x: np.ndarray, slope: float) -> float:
    n = len(x)
    detrended = x - slope * t
    ranks = pd.Series(detrended).rank().to_numpy()
    ranks = ranks - ranks.mean()
    denominator = float(np.sum(ranks**2))
    if denominator == 0.0:
        return 1.0
    bound = 1.96 / math.sqrt(n)
    total = 0.0
    for k in range(1, n - 2):
        rho = float(np.sum(ranks[:-k] * ranks[k:])) / denominator
        if abs(rho) > bound:
            total += (n - k) * (n - k - 1) * (n - k - 2) * rho
    factor = 1.0 + 2.0 * total / (n * (n - 1) * (n - 2))
    return max(factor, _ar1_factor(detrended), 1.0)  # negative autocorrelation is not credited


def _ar1_factor(detrended: np.ndarray) -> float:
    """n/n* of an AR(1) process with the series' lag-1 autocorrelation r (Bayley-Hammersley)."""
    n = len(detrended)
    centred = detrended - detrended.mean()
    denominator = float(np.sum(centred**2))
    if denominator == 0.0:
        return 1.0
    r1 = min(float(np.sum(centred[:-1] * centred[1:])) / denominator, 0.99)
    if r1 <= 0.0:
        return 1.0
    k = np.arange(1, n)
    return float(1.0 + 2.0 * np.sum((1.0 - k / n) * r1**k))


def remove_daily_cycle(series: pd.Series) -> pd.Series:
    """``series`` minus its mean per time of day, plus its overall mean (a trend is kept)."""
    index = pd.DatetimeIndex(series.index)
    phase = index.hour * 60 + index.minute
    profile = series.groupby(phase).transform("mean")
    return series - profile + series.mean()


def mann_kendall(series: pd.Series, *, deseasonalise: bool = True) -> TrendResult:
    """Mann-Kendall with the Hamed-Rao correction and Sen's slope of ``series`` (NaN dropped).

    The index must be a DatetimeIndex; slopes are per day. ``deseasonalise`` first removes the
    mean daily profile (a daily cycle is not a trend). At most 4000 points (aggregate first).
    """
    clean = series.dropna()
    if deseasonalise and len(clean):
        clean = remove_daily_cycle(clean)
    n = len(clean)
    if n < MIN_POINTS:
        raise ValidationFailed(f"the trend test needs at least {MIN_POINTS} points, got {n}")
    if n > MAX_POINTS:
        raise ValidationFailed(f"the trend test takes at most {MAX_POINTS} points; aggregate")
    index = pd.DatetimeIndex(clean.index)
    t = np.asarray((index - index[0]) / pd.Timedelta(days=1), dtype="float64")
    x = clean.to_numpy(dtype="float64")
    i, j = np.triu_indices(n, k=1)
    s = float(np.sum(np.sign(x[j] - x[i])))
    variance = (n * (n - 1) * (2 * n + 5) - _ties_term(x)) / 18.0
    slope = _sen_slope(t, x)
    factor = _hamed_rao_factor(t, x, slope)
    variance *= factor
    if variance <= 0.0:
        z, p = 0.0, 1.0
    else:
        z = (s - math.copysign(1.0, s)) / math.sqrt(variance) if s != 0 else 0.0
        p = min(1.0, 2.0 * _normal_sf(abs(z)))
    return TrendResult(
        n=n,
        s=s,
        z=z,
        p_value=p,
        tau=s / (n * (n - 1) / 2.0),
        slope_per_day=slope,
        change=slope * float(t[-1] - t[0]),
        variance_factor=factor,
    )


def trend_severity(
    result: TrendResult,
    *,
    direction: str = "decreasing",
    min_change: float = 0.0,
    alpha: float = 0.05,
    alpha_critical: float = 0.001,
) -> str | None:
    """'critical', 'warning' or None for ``result`` (``direction``: decreasing|increasing|both)."""
    if direction not in ("decreasing", "increasing", "both"):
        raise ValidationFailed("direction must be decreasing, increasing or both")
    if direction == "decreasing" and result.change >= 0:
        return None
    if direction == "increasing" and result.change <= 0:
        return None
    if abs(result.change) < min_change or result.p_value >= alpha:
        return None
    return "critical" if result.p_value < alpha_critical else "warning"
