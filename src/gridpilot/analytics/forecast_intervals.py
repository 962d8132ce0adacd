"""Prediction intervals of the forecaster: split conformal quantiles per horizon step.

The calibration errors (actual - forecast, divided by the residual scale of the target's time of
day) of rolling origins give per-horizon quantiles at 2.5/10/90/97.5 % with the finite-sample
correction of split conformal prediction (Lei et al. 2018; Stankeviciute et al. 2021). Without
calibration errors, in-sample quantiles widened by ``IN_SAMPLE_WIDENING`` stand in.
"""

from __future__ import annotations

import numpy as np

MIN_ERRORS_PER_GROUP = 40
IN_SAMPLE_WIDENING = 1.25
#: Quantile levels of the bands: lo95, lo80, hi80, hi95.
QUANTILES = (0.025, 0.10, 0.90, 0.975)


def horizon_quantiles(steps: np.ndarray, errors: np.ndarray, horizon: int) -> np.ndarray:
    """Per horizon step 1..``horizon``: error quantiles (columns as ``QUANTILES``).

    Steps are pooled in groups doubling in width (1, 2, 3-4, 5-8, ...); a group with fewer
    than ``MIN_ERRORS_PER_GROUP`` errors is merged into the one before. Bands never narrow as
    the horizon grows; steps beyond the calibrated ones use the last group.
    """
    group_of = np.floor(np.log2(np.arange(1, horizon + 1))).astype("int64")
    err_group = np.floor(np.log2(steps)).astype("int64")
    table: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    for g in range(int(group_of[-1]) + 1):
        pending.append(errors[err_group == g])
        pooled = np.concatenate(pending)
        if len(pooled) >= MIN_ERRORS_PER_GROUP or (g == group_of[-1] and not table):
            table.append(_conformal_quantiles(pooled))
            pending = []
        else:
            table.append(table[-1] if table else np.full(len(QUANTILES), np.nan))
    q = np.array(table)
    q = _backfill_rows(q)
    q[:, :2] = np.minimum.accumulate(q[:, :2], axis=0)
    q[:, 2:] = np.maximum.accumulate(q[:, 2:], axis=0)
    return q[group_of]


def _conformal_quantiles(z: np.ndarray) -> np.ndarray:
    """Quantiles with the finite-sample correction of split conformal prediction."""
    n = len(z)
    if n == 0:
        return np.full(len(QUANTILES), np.nan)
    levels = []
    for p in QUANTILES:
        adj = p * (n + 1) / n if p > 0.5 else (p * (n + 1) - 1) / n
        levels.append(min(1.0, max(0.0, adj)))
    return np.quantile(z, levels)


def _backfill_rows(q: np.ndarray) -> np.ndarray:
    """Rows that are all NaN take the next defined row (or [-1.28, 1.28]-like defaults)."""
    default = np.array([-2.0, -1.3, 1.3, 2.0]) * IN_SAMPLE_WIDENING
    out = q.copy()
    following = default
    for i in range(len(out) - 1, -1, -1):
        if np.isnan(out[i]).any():
            out[i] = following
        else:
            following = out[i]
    return out
