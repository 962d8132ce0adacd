"""The short-term correction of the forecaster: what the latest residuals say about the next ones.

The regression of ``forecast_model`` misses what is happening right now (a warm afternoon, a
line down, an extra shift); its residuals are autocorrelated, so the latest ones predict the
next. ``residual_predictor`` gives the best linear predictor of the residual ``h`` steps ahead
from the last ``order`` residuals (Yule-Walker equations of the residuals' autocovariance, the
multi-step form of an AR(``order``) fit: Brockwell & Davis (2016), *Introduction to Time Series
and Forecasting*, 3rd ed., section 2.5, the best linear predictor P_n X_{n+h}). Averaging
several recent residuals filters out the measurement-like noise of a single one, which is why
the first step is the forecast's best. Pure numpy; residuals are in the units of the series
(here standardised).
"""

from __future__ import annotations

import numpy as np

#: Residuals the predictor reads (1 h at 15 min).
PREDICTOR_ORDER = 4
#: Ridge of the autocovariance matrix, relative to the variance (keeps it invertible).
PREDICTOR_RIDGE = 1e-3


def autocovariance(residuals: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocovariance ``[c_0, c_1, ..., c_max_lag]`` of ``residuals`` [units^2]; NaN = missing
    (each lag averages the pairs where both values are known; a lag with 10 pairs or fewer is
    0). Computed with FFTs, so it is cheap at every lag."""
    r = np.where(np.isfinite(residuals), residuals, 0.0)
    m = np.isfinite(residuals).astype("float64")
    size = 1 << int(np.ceil(np.log2(max(2, 2 * len(r)))))
    fr, fm = np.fft.rfft(r, size), np.fft.rfft(m, size)
    cov = np.fft.irfft(fr * np.conj(fr), size)[: max_lag + 1]
    pairs = np.fft.irfft(fm * np.conj(fm), size)[: max_lag + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 10, cov / np.maximum(pairs, 1), 0.0)


def residual_predictor(acov: np.ndarray, order: int, horizon: int) -> np.ndarray:
    """Weights ``w[h-1, j]`` of the residual ``j`` steps before the last one (j = 0: the last)
    in the predicted residual ``h`` = 1..``horizon`` steps after it; shape (horizon, order).

    ``acov``: autocovariance ``c_0 .. c_L``; lags beyond ``L`` count as 0 (so the weights of
    leads beyond it fade to 0). Solves ``Gamma w_h = gamma_h`` with ``Gamma[i, j] =
    c_|i-j|`` and ``gamma_h[j] = c_{h+j}``. All zeros when ``c_0 <= 0``.
    """
    if order < 1 or horizon < 1:
        raise ValueError("order and horizon must be positive")
    if len(acov) == 0 or acov[0] <= 0:
        return np.zeros((horizon, order))
    need = horizon + order
    c = np.zeros(need + 1)
    c[: min(len(acov), need + 1)] = acov[: need + 1]
    lags = np.abs(np.subtract.outer(np.arange(order), np.arange(order)))
    gamma = c[lags] + PREDICTOR_RIDGE * c[0] * np.eye(order)
    targets = c[np.add.outer(np.arange(1, horizon + 1), np.arange(order))]  # (horizon, order)
    return np.linalg.solve(gamma, targets.T).T


def predicted_residuals(
    weights: np.ndarray, recent: np.ndarray, first: int, size: int
) -> np.ndarray:
    """The correction at leads ``first+1 .. first+size`` from ``recent`` (the last ``order``
    residuals, the newest first): ``weights[h-1] @ recent``, 0 beyond the predictor's horizon."""
    if len(recent) != weights.shape[1]:
        raise ValueError(f"{weights.shape[1]} recent residuals are needed, not {len(recent)}")
    leads = np.arange(first, first + size)
    out = np.zeros(size)
    inside = leads < len(weights)
    out[inside] = weights[leads[inside]] @ recent
    return out
