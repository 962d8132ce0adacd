"""Day-ahead (any horizon) forecasts of a regular series with calibrated prediction intervals.

``forecast_series`` infers the step from the timestamps, picks the seasons the step and the
history support (daily, weekly), fits the regression of ``forecast_model`` and forecasts the
``horizon`` steps after the last timestamp.

Prediction intervals are calibrated out of sample (split conformal prediction by horizon, cf.
Stankeviciute et al. 2021 and Lei et al. 2018): the last weeks of history are forecast from
rolling origins by models fitted on the data before them; the errors, divided by the residual
scale of the target's time of day, give per-horizon quantiles at 2.5/10/90/97.5 %. The final
model is refitted on all history. Without enough history for that, in-sample residual quantiles
widened by ``IN_SAMPLE_WIDENING`` are used (``Forecast.calibration_errors`` = 0 says so). The
quantiles are computed in ``forecast_intervals``; physical bounds of site forecasts are applied
afterwards by ``forecast_bounds``.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from gridpilot.analytics.calendar_features import (
    MS_PER_DAY,
    infer_step_ms,
    regular_index,
    seasonal_periods,
)
from gridpilot.analytics.forecast_intervals import (
    IN_SAMPLE_WIDENING,
    QUANTILES,
    horizon_quantiles,
)
from gridpilot.analytics.forecast_model import (
    Design,
    PointModel,
    Training,
    build_design,
    fill_gaps,
    last_residual,
)
from gridpilot.core.errors import ValidationFailed

#: History used: at most this many rows, and at most ``MAX_HISTORY_DAYS`` (400 rows for
#: coarse series).
MAX_HISTORY_ROWS = 30_000
MAX_HISTORY_DAYS = 84
#: Calibration window: the last ``CALIBRATION_DAYS`` (at most a third of the history).
CALIBRATION_DAYS = 28
#: The calibration window is forecast by this many models, each fitted on the data before its
#: part of the window (a model refitted every week, as the scheduled job effectively does).
CALIBRATION_FOLDS = 4
MAX_ORIGINS = 160
MAX_HORIZON = 100_000


@dataclass(frozen=True)
class Forecast:
    """Forecast values (units of the series) for ``index``, the ``horizon`` steps ahead."""

    index: pd.DatetimeIndex
    yhat: np.ndarray
    lo80: np.ndarray
    hi80: np.ndarray
    lo95: np.ndarray
    hi95: np.ndarray
    step_ms: int
    seasonality: tuple[str, ...]
    regressors: tuple[str, ...]
    calibration_errors: int

    def frame(self) -> pd.DataFrame:
        """Columns ``yhat, lo80, hi80, lo95, hi95`` indexed by the forecast timestamps."""
        return pd.DataFrame(
            {
                "yhat": self.yhat,
                "lo80": self.lo80,
                "hi80": self.hi80,
                "lo95": self.lo95,
                "hi95": self.hi95,
            },
            index=self.index,
        )


def min_history_points(step_ms: int) -> int:
    """Fewest observed points needed: two days for sub-daily steps, three weeks of days."""
    if step_ms >= MS_PER_DAY:
        return 21
    return max(8, 2 * MS_PER_DAY // step_ms)


def regularise(series: pd.Series, step_ms: int | None = None) -> tuple[pd.Series, int]:
    """``series`` on its regular grid (missing rows NaN) and the step [ms].

    Raises ``ValidationFailed`` for an index that is not a DatetimeIndex, or is irregular.
    """
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValidationFailed("the series needs a DatetimeIndex")
    step = step_ms or infer_step_ms(series.index)
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    if len(values) == 0:
        raise ValidationFailed("the series is empty")
    index = regular_index(
        values.index[0], _span_steps(pd.DatetimeIndex(values.index), step) + 1, step
    )
    return values.reindex(index), step


def _span_steps(index: pd.DatetimeIndex, step_ms: int) -> int:
    return int((index[-1] - index[0]) / pd.Timedelta(milliseconds=step_ms))


def forecast_series(
    series: pd.Series,
    *,
    horizon: int,
    step_ms: int | None = None,
    timezone: str | None = None,
    country: str | None = None,
    weather: pd.DataFrame | None = None,
) -> Forecast:
    """Forecast the ``horizon`` steps after the last timestamp of ``series``.

    ``series``: values indexed by timestamps (UTC, tz-aware, or naive wall time), NaN allowed;
    ``timezone``: IANA zone of the site's calendar (day of week, hour, holidays);
    ``country``: ISO code for public holidays; ``weather``: optional regressors
    (``temperature_c`` [degC], ``irradiance_wm2`` [W/m2]) indexed by time, covering the history
    and the horizon (a regressor missing in the horizon is not used).
    Raises ``ValidationFailed`` for a bad horizon, irregular timestamps or too little history.
    """
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValidationFailed(f"the horizon must be 1..{MAX_HORIZON} steps")
    values, step = regularise(series, step_ms)
    finite = np.flatnonzero(np.isfinite(values.to_numpy()))
    if len(finite) == 0:
        raise ValidationFailed("the series has no numeric values")
    values = values.iloc[finite[0] :]
    cap = min(MAX_HISTORY_ROWS, max(400, MAX_HISTORY_DAYS * MS_PER_DAY // step))
    values = values.iloc[-cap:]
    observed = int(np.isfinite(values.to_numpy()).sum())
    needed = min_history_points(step)
    if observed < needed:
        raise ValidationFailed(
            f"too little history: {observed} observed points at a {step / 1000:g} s step,"
            f" at least {needed} are needed"
        )
    with single_threaded_blas():
        return _Run(values, step, horizon, timezone, country, weather).forecast()


def single_threaded_blas() -> AbstractContextManager[object]:
    """Limit BLAS to one thread: the matrices here are small, and threads fighting over a busy
    machine's cores made a forecast five times slower (threadpoolctl comes with scikit-learn)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class _Run:
    """One forecast: standardised data, design, calibration and the final model."""

    def __init__(
        self,
        values: pd.Series,
        step: int,
        horizon: int,
        timezone: str | None,
        country: str | None,
        weather: pd.DataFrame | None,
    ) -> None:
        raw = values.to_numpy()
        self.n, self.step, self.horizon = len(raw), step, horizon
        self.mean = float(np.nanmean(raw))
        self.sd = float(np.nanstd(raw)) or 1.0
        self.nonnegative = bool(np.nanmin(raw) >= 0)
        self.periods = seasonal_periods(step, self.n)
        last = values.index[-1] + pd.Timedelta(milliseconds=step)
        self.future = regular_index(last, horizon, step)
        full = pd.DatetimeIndex(values.index.append(self.future))
        aligned = _align_weather(weather, full, self.n)
        self.weather_names = tuple(aligned.columns) if aligned is not None else ()
        std = (raw - self.mean) / self.sd
        self.values = np.concatenate([std, np.full(horizon, np.nan)])
        season = self.periods.get("daily") or self.periods.get("weekly")
        self.filled = np.concatenate([fill_gaps(std, season), np.full(horizon, np.nan)])
        self.max_lag = min(horizon, self.periods.get("daily", 14))

        def design(profile_rows: int) -> Design:
            return build_design(
                full,
                step_ms=step,
                periods=self.periods,
                n_history=self.n,
                timezone=timezone,
                country=country,
                weather=aligned,
                profile_source=std[:profile_rows],
            )

        self.design = design(self.n)
        usable = self.n - max(self.design.lags, default=0)
        self.window = min(CALIBRATION_DAYS * MS_PER_DAY // self.step, usable // 3)
        if self.window < 4 or usable - self.window < min_history_points(self.step) // 2:
            self.window = 0
        if self.window:  # typical levels from before the calibration window: no peeking
            self.design = design(self.n - self.window)
        self.start = max(self.design.lags, default=0)
        self.training = Training(
            self.design,
            self.values,
            self.filled,
            start=self.start,
            n=self.n,
            step_ms=self.step,
            max_lag=self.max_lag,
        )
        self.variant: tuple[int, bool] = (len(self.design.lags), True)

    @property
    def use_weather(self) -> bool:
        return bool(self.design.weather_columns) and self.variant[1]

    def select_design(self) -> tuple[np.ndarray, np.ndarray]:
        """Keep the variant with the lowest out-of-sample mean absolute error over the
        calibration window, and return its calibration errors: first the lag set (all, the
        shorter ones, none), then with or without the weather regressors."""
        n_lags = len(self.design.lags)
        best = self._best([(keep, True) for keep in range(n_lags, -1, -1)])
        if best is None:
            self.variant = (n_lags, True)
            return np.empty(0, dtype="int64"), np.empty(0)
        if self.design.weather_columns:
            without = self._best([(best[1][0], False)])
            if without is not None and without[0] < best[0]:
                best = without
        self.variant = best[1]
        return best[2], best[3]

    def _best(
        self, candidates: list[tuple[int, bool]]
    ) -> tuple[float, tuple[int, bool], np.ndarray, np.ndarray] | None:
        best: tuple[float, tuple[int, bool], np.ndarray, np.ndarray] | None = None
        for variant in candidates:
            self.variant = variant
            steps, errors, mean_abs = self.calibration_errors()
            if not len(errors):
                return None
            if best is None or mean_abs < best[0]:
                best = (mean_abs, variant, steps, errors)
        return best

    def fit(self, end: int) -> PointModel:
        return self.training.fit(end, self.design.columns(*self.variant))

    def predict(self, model: PointModel, origin: int, steps: int) -> np.ndarray:
        work = self.filled.copy()
        residual = last_residual(model, self.design, self.values, self.filled, origin)
        return model.predict(self.design, work, origin, steps, residual)

    def predict_inside(
        self, model: PointModel, fitted: np.ndarray, origin: int, steps: int
    ) -> np.ndarray:
        """``predict`` for an origin inside the history when no lag is shorter than ``steps``:
        every feature is then known, so the forecast is the fitted value (``fitted``: rows
        from ``start``) plus the carried residual."""
        order = model.weights.shape[1]
        recent = np.arange(origin - order, origin)
        at = origin - self.start
        if recent[0] >= self.start and np.isfinite(self.values[recent]).all():
            residuals = self.values[recent] - fitted[recent - self.start]
            return fitted[at : at + steps] + model.correction(0, steps, (residuals[::-1], 1))
        first = max(self.start, origin - 2 * max(1, len(model.autocorr)))
        known = np.flatnonzero(np.isfinite(self.values[first:origin]))
        residual: tuple[np.ndarray, int] = (np.empty(0), 0)
        if len(known):
            i = first + int(known[-1])
            residual = (np.array([self.values[i] - fitted[i - self.start]]), origin - i)
        return fitted[at : at + steps] + model.correction(0, steps, residual)

    def calibration_errors(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(horizon step 1.., scaled error) pairs from rolling origins over the last weeks, and
        the mean absolute error (standardised units)."""
        nothing = np.empty(0, dtype="int64"), np.empty(0), float("inf")
        window = self.window
        if window == 0:
            return nothing
        bounds = np.linspace(self.n - window, self.n, CALIBRATION_FOLDS + 1).astype(int)
        stride = origin_stride(window // MAX_ORIGINS, self.periods.get("daily", 1))
        steps_out: list[np.ndarray] = []
        errors_out: list[np.ndarray] = []
        abs_total, count = 0.0, 0
        shortest = min(self.design.lags, default=self.horizon)
        for fold_start, fold_end in pairwise(bounds.tolist()):
            model = self.fit(fold_start)
            fitted = self.training.x @ model.beta
            for origin in range(fold_start, fold_end, stride):
                steps = min(self.horizon, self.n - origin)
                actual = self.values[origin : origin + steps]
                if not np.isfinite(actual).any():
                    continue
                if steps <= shortest and origin > self.start:
                    pred = self.predict_inside(model, fitted, origin, steps)
                else:
                    pred = self.predict(model, origin, steps)
                rows = np.arange(origin, origin + steps)
                scale = model.group_scale[self.design.bucket_group[rows]]
                ok = np.isfinite(actual)
                abs_total += float(np.abs(actual - pred)[ok].sum())
                count += int(ok.sum())
                steps_out.append(np.arange(1, steps + 1)[ok])
                errors_out.append(((actual - pred) / scale)[ok])
        if not steps_out:
            return nothing
        return np.concatenate(steps_out), np.concatenate(errors_out), abs_total / count

    def forecast(self) -> Forecast:
        steps, errors = self.select_design()
        model = self.fit(self.n)
        yhat = self.predict(model, self.n, self.horizon)
        rows = np.arange(self.n, self.n + self.horizon)
        scale = model.group_scale[self.design.bucket_group[rows]]
        if len(errors):
            q = horizon_quantiles(steps, errors, self.horizon)
        else:
            q = np.tile(self.in_sample_quantiles(model), (self.horizon, 1))
        bands = yhat[:, None] + q * scale[:, None]
        out = np.column_stack([yhat, bands]) * self.sd + self.mean
        if self.nonnegative:
            out = np.maximum(out, 0.0)
        return Forecast(
            index=self.future,
            yhat=out[:, 0],
            lo95=out[:, 1],
            lo80=out[:, 2],
            hi80=out[:, 3],
            hi95=out[:, 4],
            step_ms=self.step,
            seasonality=tuple(self.periods),
            regressors=self.weather_names if self.use_weather else (),
            calibration_errors=len(errors),
        )

    def in_sample_quantiles(self, model: PointModel) -> np.ndarray:
        rows = np.arange(self.start, self.n)
        x = self.design.matrix(rows, self.filled)
        y = self.values[rows]
        ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
        z = (y[ok] - x[ok] @ model.beta) / model.group_scale[self.design.bucket_group[rows][ok]]
        if len(z) < 2:
            z = np.array([-1.0, 1.0])
        return np.quantile(z, QUANTILES) * IN_SAMPLE_WIDENING


def origin_stride(least: int, period: int) -> int:
    """Steps between calibration origins: the first from ``least`` (at least 1) that shares no
    factor with the daily ``period`` [steps], so the origins walk through every time of day
    (16 steps at 15 min would put them at 6 times of day only, and the errors of the first
    steps depend on the time of day: a ramp at 08:00, a shift change at 14:00)."""
    stride = max(1, least)
    while period > 1 and math.gcd(stride, period) != 1:
        stride += 1
    return stride


def _align_weather(
    weather: pd.DataFrame | None, index: pd.DatetimeIndex, n_history: int
) -> pd.DataFrame | None:
    """Known regressors interpolated onto ``index``; a column missing anywhere in the horizon
    or in more than a fifth of the history is dropped."""
    if weather is None or weather.empty:
        return None
    known = [c for c in ("temperature_c", "irradiance_wm2") if c in weather.columns]
    if not known:
        return None
    frame = weather[known].apply(pd.to_numeric, errors="coerce").sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    try:
        union = frame.reindex(frame.index.union(index))
    except TypeError as exc:
        raise ValidationFailed("weather timestamps and series timestamps do not match") from exc
    aligned = union.interpolate(method="time", limit_area="inside").reindex(index)
    keep = []
    for column in known:
        col = aligned[column].to_numpy()
        if np.isfinite(col[n_history:]).all() and np.isnan(col[:n_history]).mean() <= 0.2:
            keep.append(column)
    if not keep:
        return None
    return aligned[keep].ffill().bfill()
