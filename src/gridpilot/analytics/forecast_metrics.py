"""Forecast accuracy measures (pure numpy; NaN pairs are ignored).

Definitions follow Hyndman & Koehler (2006), "Another look at measures of forecast accuracy",
International Journal of Forecasting 22(4).
"""

from __future__ import annotations

import numpy as np


def _pairs(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype="float64").ravel()
    f = np.asarray(forecast, dtype="float64").ravel()
    if a.shape != f.shape:
        raise ValueError("actual and forecast must have the same length")
    keep = np.isfinite(a) & np.isfinite(f)
    return a[keep], f[keep]


def mae(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute error (units of the series); NaN when no pair is finite."""
    a, f = _pairs(actual, forecast)
    return float(np.mean(np.abs(a - f))) if len(a) else float("nan")


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error (units of the series)."""
    a, f = _pairs(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2))) if len(a) else float("nan")


def mape(actual: np.ndarray, forecast: np.ndarray, *, floor: float = 0.0) -> float:
    """Mean absolute percentage error [%] over the points with ``|actual| > floor``."""
    a, f = _pairs(actual, forecast)
    keep = np.abs(a) > floor
    if not keep.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs((a[keep] - f[keep]) / a[keep])))


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error [%]: sum |error| / sum |actual| (Kolassa & Schuetz
    2007, "Advantages of the MAD/MEAN ratio over the MAPE", Foresight 6). Unlike the MAPE it
    stays defined, and is not dominated by a few points, where the actual is near zero (a net
    load that PV brings to zero); NaN when the actual values sum to zero."""
    a, f = _pairs(actual, forecast)
    total = float(np.sum(np.abs(a)))
    return 100.0 * float(np.sum(np.abs(a - f))) / total if total > 0 else float("nan")


def naive_scale(history: np.ndarray, *, period: int) -> float:
    """In-sample MAE of the seasonal-naive forecast: the MASE denominator (units of the series)."""
    h = np.asarray(history, dtype="float64")
    if len(h) <= period:
        return float("nan")
    d = np.abs(h[period:] - h[:-period])
    d = d[np.isfinite(d)]
    return float(np.mean(d)) if len(d) else float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, *, scale: float) -> float:
    """Mean absolute scaled error: MAE / ``scale`` (``naive_scale`` of the training history)."""
    if not np.isfinite(scale) or scale <= 0:
        return float("nan")
    return mae(actual, forecast) / scale


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share [0..1] of finite actual values inside ``[lower, upper]``."""
    a = np.asarray(actual, dtype="float64").ravel()
    lo = np.asarray(lower, dtype="float64").ravel()
    hi = np.asarray(upper, dtype="float64").ravel()
    keep = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    if not keep.any():
        return float("nan")
    return float(np.mean((a[keep] >= lo[keep]) & (a[keep] <= hi[keep])))


def rolling_origins(n_points: int, *, first: int, horizon: int, stride: int) -> list[int]:
    """Forecast origins (number of history points) for a rolling-origin evaluation.

    Origins start at ``first`` and advance by ``stride`` while a full ``horizon`` of actual
    values still follows (Tashman 2000, "Out-of-sample tests of forecasting accuracy").
    """
    if stride < 1 or horizon < 1:
        raise ValueError("stride and horizon must be positive")
    return list(range(first, n_points - horizon + 1, stride))
