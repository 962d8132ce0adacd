"""The point forecaster: a weighted ridge regression on calendar, lag and weather features.

Features of a target time ``t`` (series at a regular step, local calendar):

* the daily profile: one indicator per bucket of the day (at most 96, i.e. 15 min) and, when the
  weekly season applies, per hour of the day a Saturday and a Sunday/holiday deviation, and a
  deviation of each working day (Monday .. Friday) shrunk towards the common working-day
  profile (ridge penalty ``WEEKDAY_HOUR_PENALTY``): a Monday morning after a quiet Sunday, a
  Friday night shift that ends early;
* the weekly pattern: day-of-week indicators and a public-holiday flag;
* lags: how far the value one day and one week earlier was from the typical level of its own
  time of day and day type (``level``), so that a Sunday says nothing wrong about a Monday;
* weather regressors when given: temperature with heating (below 16 degC) and cooling (above
  22 degC) hinges, irradiance in kW/m2, each also multiplied by the activity of the target's
  time of day and day type (0 in the quietest, 1 in the busiest part of the typical week),
  since a building's HVAC and lighting answer the weather mostly while it is in use.

The typical levels (``group_means``) come from the history before the calibration window, so
the held-out errors that choose the variant and size the intervals are honest.

Recent observations get more weight (half-life ``HALF_LIFE_DAYS``). What the regression misses
right now (a warm afternoon, a line down) persists for a while: the last residual is carried
into the forecast scaled by the residuals' autocorrelation at each horizon step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridpilot.analytics.calendar_features import (
    MS_PER_DAY,
    calendar,
    calendar_blocks,
    day_groups,
)
from gridpilot.analytics.forecast_residual import (
    PREDICTOR_ORDER,
    autocovariance,
    predicted_residuals,
    residual_predictor,
)

HALF_LIFE_DAYS = 56.0
RIDGE_PENALTY = 0.01
#: Shrinkage of a working day's own hourly deviations towards the common working-day profile
#: (pseudo-observations: with 4 rows an hour and 8 weeks, 32 rows against 8).
WEEKDAY_HOUR_PENALTY = 8.0
LAG_PENALTY = 0.01
HEATING_BALANCE_C = 16.0
COOLING_BALANCE_C = 22.0


@dataclass
class Design:
    """The feature matrix of a whole timeline (history followed by the horizon).

    ``fixed`` holds the columns that do not depend on the series (calendar, weather); lag
    columns are read from the working values at fit and predict time. A model may use a subset
    of the columns (``columns``): the others get a zero coefficient.
    """

    fixed: np.ndarray  # (n_total, n_fixed) float; the weather columns come last
    lags: list[int]  # lag periods in steps, shortest first
    bucket_group: np.ndarray  # int per row: group of the interval scale (bucket x day kind)
    n_groups: int
    penalty: np.ndarray  # ridge penalty of each fixed column (pseudo-observations)
    level: np.ndarray  # per row: the typical value of its profile group (standardised)
    weather_columns: int = 0  # how many of the last fixed columns are weather

    @property
    def width(self) -> int:
        return self.fixed.shape[1] + len(self.lags)

    def columns(self, n_lags: int, use_weather: bool) -> np.ndarray:
        """Mask of the columns of a variant: the first ``n_lags`` lags, weather or not."""
        n_fixed = self.fixed.shape[1]
        mask = np.ones(self.width, dtype=bool)
        if not use_weather and self.weather_columns:
            mask[n_fixed - self.weather_columns : n_fixed] = False
        mask[n_fixed + n_lags :] = False
        return mask

    def penalties(self) -> np.ndarray:
        """Ridge penalty of each column of ``matrix``."""
        return np.concatenate([self.penalty, np.full(len(self.lags), LAG_PENALTY)])

    def matrix(self, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Feature rows ``rows``; lag columns are the deviation of ``values`` one lag earlier
        from that row's typical level (NaN where unknown)."""
        out = np.empty((len(rows), self.width))
        n_fixed = self.fixed.shape[1]
        out[:, :n_fixed] = self.fixed[rows]
        for j, lag in enumerate(self.lags):
            source = rows - lag
            lagged = np.full(len(rows), np.nan)
            ok = source >= 0
            lagged[ok] = values[source[ok]] - self.level[source[ok]]
            out[:, n_fixed + j] = lagged
        return out


def weather_columns(weather: pd.DataFrame) -> list[np.ndarray]:
    """Regressor columns from ``temperature_c`` and ``irradiance_wm2`` (others are ignored)."""
    cols: list[np.ndarray] = []
    if "temperature_c" in weather:
        t = weather["temperature_c"].to_numpy(dtype="float64")
        cols += [
            t / 10.0,
            np.maximum(0.0, HEATING_BALANCE_C - t) / 10.0,
            np.maximum(0.0, t - COOLING_BALANCE_C) / 10.0,
        ]
    if "irradiance_wm2" in weather:
        cols.append(weather["irradiance_wm2"].to_numpy(dtype="float64") / 1000.0)
    return cols


def group_means(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of the finite ``values`` of each group ``0 .. n_groups-1`` (``group`` aligned with
    ``values``); a group without data gets the overall mean (0 when there is none)."""
    ok = np.isfinite(values)
    total = np.bincount(group[ok], weights=values[ok], minlength=n_groups)
    count = np.bincount(group[ok], minlength=n_groups)
    overall = float(values[ok].mean()) if ok.any() else 0.0
    return np.where(count > 0, total / np.maximum(count, 1), overall)


def activity(means: np.ndarray) -> np.ndarray:
    """Profile means rescaled to 0 (the quietest group) .. 1 (the busiest); all 0 when flat."""
    low, high = float(means.min()), float(means.max())
    if high - low <= 1e-12:
        return np.zeros_like(means)
    return (means - low) / (high - low)


def build_design(
    index: pd.DatetimeIndex,
    *,
    step_ms: int,
    periods: dict[str, int],
    n_history: int,
    timezone: str | None,
    country: str | None,
    weather: pd.DataFrame | None,
    profile_source: np.ndarray | None = None,
) -> Design:
    """Features for every timestamp of ``index`` (history first, then the horizon).

    ``profile_source``: the (standardised) values of the first rows, from which the typical
    level of each time of day and day type is taken (lag deviations, weather x activity).
    """
    cal = calendar(index, step_ms=step_ms, timezone=timezone, country=country)
    n = len(index)
    cols: list[np.ndarray] = [np.ones((n, 1))]
    penalty: list[np.ndarray] = [np.zeros(1)]

    def add(block: np.ndarray, ridge: float) -> None:
        cols.append(block)
        penalty.append(np.full(block.shape[1], ridge))

    daily, weekly = "daily" in periods, "weekly" in periods
    for block, weekday_hours in calendar_blocks(cal, daily=daily, weekly=weekly):
        add(block, WEEKDAY_HOUR_PENALTY if weekday_hours else RIDGE_PENALTY)
    profile_group, n_profile = day_groups(cal, daily=daily, weekly=weekly, kinds=3)
    source = profile_source if profile_source is not None else np.empty(0)
    means = group_means(source, profile_group[: len(source)], n_profile)
    level = means[profile_group]
    n_weather = 0
    if weather is not None and len(weather.columns):
        base = np.column_stack(weather_columns(weather))
        busy = activity(means)[profile_group]
        block = np.hstack([base, base * busy[:, None]]) if daily else base
        add(block, RIDGE_PENALTY)
        n_weather = block.shape[1]
    lags = []
    if daily:
        lags.append(periods["daily"])
    if weekly and n_history * step_ms >= 21 * MS_PER_DAY:
        lags.append(periods["weekly"])
    group, n_groups = day_groups(cal, daily=daily, weekly=weekly, kinds=2)
    return Design(np.hstack(cols), lags, group, n_groups, np.concatenate(penalty), level, n_weather)


def fill_gaps(values: np.ndarray, period: int | None) -> np.ndarray:
    """``values`` with NaNs replaced (for lag features only): one season earlier when known,
    else the previous value, else the next, else the mean."""
    out = values.copy()
    missing = np.flatnonzero(~np.isfinite(out))
    if len(missing) == 0:
        return out
    if period:
        for i in missing:
            if i >= period and np.isfinite(out[i - period]):
                out[i] = out[i - period]
    series = pd.Series(out).ffill().bfill()
    mean = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
    return series.fillna(mean).to_numpy()


@dataclass
class PointModel:
    """A fitted regression: coefficients, residual autocorrelation and scale per group."""

    beta: np.ndarray
    autocorr: np.ndarray  # autocorr[h] for h = 0..; weight of a lone last residual
    group_scale: np.ndarray  # RMS residual per scale group (standardised units)
    weights: np.ndarray  # (leads, PREDICTOR_ORDER): residual_predictor of the last residuals

    def predict(
        self,
        design: Design,
        values: np.ndarray,
        origin: int,
        horizon: int,
        residual: tuple[np.ndarray, int] = (np.empty(0), 0),
    ) -> np.ndarray:
        """Standardised forecasts of rows ``origin .. origin+horizon-1``.

        ``values`` holds the standardised series with known (gap-filled) values before
        ``origin``; it is extended in place with the forecasts so that lags longer than a
        block read predicted values (blocks of the shortest lag). ``residual``: the latest
        residuals and their distance before ``origin`` (``last_residual``), see ``correction``.
        """
        block = min(design.lags) if design.lags else horizon
        out = np.empty(horizon)
        done = 0
        while done < horizon:
            size = min(block, horizon - done)
            rows = np.arange(origin + done, origin + done + size)
            x = design.matrix(rows, values)
            x[~np.isfinite(x)] = 0.0
            out[done : done + size] = x @ self.beta + self.correction(done, size, residual)
            values[rows] = out[done : done + size]
            done += size
        return out

    def correction(self, done: int, size: int, residual: tuple[np.ndarray, int]) -> np.ndarray:
        """The short-term correction at horizon steps ``done+1 .. done+size``: the predictor
        of ``forecast_residual`` when the last ``PREDICTOR_ORDER`` residuals right before the
        origin are known, else the last known residual times its autocorrelation."""
        recent, distance = residual
        if distance == 1 and len(recent) == self.weights.shape[1]:
            return predicted_residuals(self.weights, recent, done, size)
        if len(recent) == 0:
            return np.zeros(size)
        return self.carry(done, size, distance) * recent[0]

    def carry(self, done: int, size: int, distance: int) -> np.ndarray:
        """Weights of the last residual (``distance`` steps before the origin) at horizon
        steps ``done+1 .. done+size``: its autocorrelation at that lag, 0 beyond."""
        lag = np.arange(done + 1, done + size + 1) + max(distance - 1, 0)
        auto = self.autocorr
        return np.where(lag < len(auto), auto[np.minimum(lag, len(auto) - 1)], 0.0)


def recency_weights(n: int, step_ms: int) -> np.ndarray:
    """Observation weights halving every ``HALF_LIFE_DAYS`` back from the last row."""
    age_days = (n - 1 - np.arange(n)) * step_ms / MS_PER_DAY
    return np.power(0.5, age_days / HALF_LIFE_DAYS)


def residual_autocorrelation(residuals: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation ``[1, r_1, ..., r_max_lag]`` of ``residuals`` (NaN = missing), clipped to
    [0, 1] (a negative carry-over is not trusted)."""
    return autocorrelation_of(autocovariance(residuals, max_lag))


def autocorrelation_of(acov: np.ndarray) -> np.ndarray:
    """``acov / acov[0]`` clipped to [0, 1]; all 0 when ``acov[0] <= 0``."""
    if acov[0] <= 0:
        return np.zeros(len(acov))
    return np.clip(acov / acov[0], 0.0, 1.0)


def _solve(xtx: np.ndarray, xty: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    a = xtx + np.diag(penalty)
    try:
        return np.linalg.solve(a, xty)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, xty, rcond=None)[0]


class Training:
    """The rows ``start .. n-1`` of a design, prepared once; ``fit(end, columns)`` fits the
    variant ``columns`` on the prefix before ``end``. The weighted normal equations of all
    columns are accumulated block by block, so fitting several variants on growing prefixes
    (calibration folds, then all) multiplies each row only once. Weights are relative to the
    last row of the history (a constant factor per prefix, which only rescales the ridge)."""

    def __init__(
        self,
        design: Design,
        values: np.ndarray,
        filled: np.ndarray,
        *,
        start: int,
        n: int,
        step_ms: int,
        max_lag: int,
    ) -> None:
        rows = np.arange(start, n)
        self.design, self.start, self.max_lag = design, start, max_lag
        x = design.matrix(rows, filled)
        self.y = values[rows]
        self.ok = np.isfinite(self.y) & np.isfinite(x).all(axis=1)
        self.x = np.where(np.isfinite(x), x, 0.0)
        self.w = recency_weights(len(rows), step_ms)
        self.groups = design.bucket_group[rows]
        self.penalty = design.penalties()
        self._sums: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _normal_equations(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k in self._sums:
            return self._sums[k]
        done = max((e for e in self._sums if e <= k), default=0)
        p = self.x.shape[1]
        xtx, xty = self._sums.get(done, (np.zeros((p, p)), np.zeros(p)))
        keep = np.flatnonzero(self.ok[done:k]) + done
        xb = self.x[keep]
        xw = xb * self.w[keep][:, None]
        self._sums[k] = (xtx + xw.T @ xb, xty + xw.T @ self.y[keep])
        return self._sums[k]

    def fit(self, end: int, columns: np.ndarray) -> PointModel:
        """The variant ``columns`` (mask) fitted on rows ``start .. end-1`` (finite targets)."""
        k = max(0, end - self.start)
        xtx, xty = self._normal_equations(k)
        beta = np.zeros(len(columns))
        beta[columns] = _solve(xtx[np.ix_(columns, columns)], xty[columns], self.penalty[columns])
        ok = self.ok[:k]
        residuals = np.where(ok, self.y[:k] - self.x[:k] @ beta, np.nan)
        acov = autocovariance(residuals, self.max_lag + PREDICTOR_ORDER)
        autocorr = autocorrelation_of(acov[: self.max_lag + 1])
        weights = residual_predictor(acov, PREDICTOR_ORDER, self.max_lag)
        groups = self.groups[:k][ok]
        sq = residuals[ok] ** 2
        n_groups = self.design.n_groups
        total = np.bincount(groups, weights=sq, minlength=n_groups)
        count = np.bincount(groups, minlength=n_groups)
        overall = float(np.mean(sq)) if len(sq) else 1.0
        shrink = 20.0  # pseudo-observations of the overall variance
        scale = np.sqrt((total + shrink * overall) / (count + shrink))
        return PointModel(beta, autocorr, np.maximum(scale, 1e-9), weights)


def last_residual(
    model: PointModel, design: Design, values: np.ndarray, filled: np.ndarray, origin: int
) -> tuple[np.ndarray, int]:
    """The latest residuals before ``origin`` (newest first) and the distance in steps of the
    newest (1 = the row just before ``origin``): the last ``PREDICTOR_ORDER`` rows when all are
    known, else the last finite one alone; (empty, 0) when none is near."""
    order = model.weights.shape[1]
    rows = np.arange(origin - order, origin)
    if rows[0] >= 0 and np.isfinite(values[rows]).all():
        x = design.matrix(rows, filled)
        if np.isfinite(x).all():
            return (values[rows] - x @ model.beta)[::-1], 1
    start = max(0, origin - 2 * max(1, len(model.autocorr)))
    for i in range(origin - 1, start - 1, -1):
        if np.isfinite(values[i]):
            x = design.matrix(np.array([i]), filled)
            if np.isfinite(x).all():
                return np.array([values[i] - x[0] @ model.beta]), origin - i
            return np.empty(0), 0
    return np.empty(0), 0
