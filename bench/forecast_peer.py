"""The peer of ``bench/forecast.py``: statsmodels' MSTL + ETS, as a user would assemble it.

``MSTL(periods=(24 k, 168 k))`` (k steps per hour: the daily and the weekly season) splits the
history into its seasonal components, a trend and a remainder; the seasonally adjusted series
(trend + remainder) is forecast by an ``ETSModel`` with additive errors, without trend or with
an additive damped trend, whichever has the lower AIC (statsforecast's MSTL default is AutoETS
with no seasonal part, chosen the same way); each seasonal component continues its last cycle
(seasonal-naive of the component). This is the recipe of Bandara, Hyndman & Bergmeir (2021),
"MSTL: A Seasonal-Trend Decomposition Algorithm for Time Series with Multiple Seasonal
Patterns", arXiv:2107.13462, section 3.3, and of statsmodels' MSTL documentation.

Pure function of the history: nothing after the origin is read.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def mstl_ets_forecast(history: np.ndarray, horizon: int, periods: tuple[int, ...]) -> np.ndarray:
    """Forecast [units of ``history``] of the ``horizon`` steps after ``history`` (regular
    steps; NaN gaps are interpolated linearly first, as MSTL needs a complete series)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    from statsmodels.tsa.seasonal import MSTL

    y = pd.Series(np.asarray(history, dtype="float64")).interpolate(limit_direction="both")
    values = y.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = MSTL(values, periods=periods).fit()
        seasonal = np.asarray(fit.seasonal, dtype="float64").reshape(len(values), -1)
        adjusted = np.asarray(fit.trend + fit.resid, dtype="float64")
        candidates = [
            ETSModel(adjusted, error="add", trend=trend, damped_trend=trend is not None).fit(
                disp=False
            )
            for trend in (None, "add")
        ]
    best = min(candidates, key=lambda result: result.aic)
    ahead = np.arange(horizon)
    future = np.zeros(horizon)
    for column, period in enumerate(periods):
        last_cycle = seasonal[-period:, column]
        future += last_cycle[ahead % period]
    return np.asarray(best.forecast(horizon), dtype="float64") + future
