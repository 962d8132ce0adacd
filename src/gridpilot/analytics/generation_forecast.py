"""Generation forecasts from physics (pure): a persisted state through a physical model.

The state is what the weather does to a generator: a PV array's **clear-sky index** (measured
power / clear-sky potential, ``generation_physics``) or a turbine's **hub-height wind speed**
[m/s] (or, without an anemometer, its output as a share of rated power). It is forecast by
persistence that relaxes towards its mean (a first-order autoregression fitted per lag):

    state(t) = mean + w(lag) * (last - mean) + e,    lag = t - time of ``last`` [steps]

``last`` is the mean of the latest ``SMOOTH_STEPS`` observations (a PV array's state is only
observed in daylight, so after a night the lag counts from yesterday's last light). ``w`` and
the quantiles of ``e`` (2.5/10/50/90/97.5 %) are estimated per block of lags (1, 2, 3-4, 5-8,
... steps) from every pair of (smoothed observation, later observation) in the history: the
empirical errors of this very persistence, by horizon. The state's quantiles go through the
physical model (``clear-sky index x potential``, capped by the inverter; the power curve), so
the bands are 0 at night, never below 0 and never above the capacity; the point is the median.
A block with fewer than ``MIN_PAIRS`` pairs takes the one before it.

References:
    Lorenz, E. et al. (2009), Irradiance forecasting for the power prediction of grid-connected
    photovoltaic systems, IEEE JSTARS 2(1) (clear-sky index persistence). Giebel, G. et al.
    (2011), The state of the art in short-term prediction of wind power, ANEMOS.plus (persistence
    and its relaxation to the mean as the reference forecasts). Koenker, R. (2005), Quantile
    Regression (empirical quantiles of errors as prediction intervals).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from gridpilot.core.errors import ValidationFailed

FloatArray = npt.NDArray[np.float64]

#: Quantile levels of the state: lo95, lo80, median (the point), hi80, hi95.
LEVELS = (0.025, 0.10, 0.50, 0.90, 0.975)
#: The smoothed "latest" observation: the mean of this many observations (1 h at 15 min).
SMOOTH_STEPS = 4
#: Pairs needed in a lag block for its own weight and quantiles.
MIN_PAIRS = 30
#: PV: the clear-sky index is observed where the potential is at least this share of the AC
#: rating (low sun: shading and the model's errors dominate) and kept within [0, MAX_INDEX].
MIN_POTENTIAL_SHARE = 0.05
MAX_INDEX = 2.0
#: PV errors are quantified apart below and above these shares of the AC rating (low and
#: high sun), from intervals whose potential is at least ``LOW_SUN_SHARE``.
SUN_EDGES = (0.05,)
LOW_SUN_SHARE = 0.002


@dataclass(frozen=True)
class StateModel:
    """Persistence relaxing to ``mean``: per lag block ``weights`` (0..1) and ``quantiles``
    (blocks x error groups x ``LEVELS``) of the errors; ``pairs``: how many pairs were fitted
    on."""

    mean: float
    weights: FloatArray
    quantiles: FloatArray
    pairs: int


def lag_block(lag: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Block of each lag >= 1 [steps]: 0 for 1, 1 for 2, 2 for 3-4, 3 for 5-8, ..."""
    return np.ceil(np.log2(np.maximum(lag, 1))).astype("int64")


def smoothed(state: FloatArray, width: int = SMOOTH_STEPS) -> FloatArray:
    """At each observed step, the mean of the last ``width`` observations up to it (NaN where
    the state is not observed)."""
    observed = np.flatnonzero(np.isfinite(state))
    out = np.full(len(state), np.nan)
    if len(observed) == 0:
        return out
    values = pd.Series(state[observed]).rolling(width, min_periods=1).mean().to_numpy()
    out[observed] = values
    return out


def _pairs_by_block(
    last: FloatArray, target: FloatArray, groups: npt.NDArray[np.int64], max_lag: int
) -> list[tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]]:
    """Per lag block: (smoothed observation, later target, the target's error group)."""
    blocks = int(lag_block(np.array([max_lag]))[0]) + 1
    parts: list[list[tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]]] = [
        [] for _ in range(blocks)
    ]
    for lag in range(1, min(max_lag, len(target) - 1) + 1):
        x, y, g = last[:-lag], target[lag:], groups[lag:]
        keep = np.isfinite(x) & np.isfinite(y)
        parts[int(lag_block(np.array([lag]))[0])].append((x[keep], y[keep], g[keep]))
    out = []
    for part in parts:
        if not part:
            out.append((np.zeros(0), np.zeros(0), np.zeros(0, dtype="int64")))
            continue
        x, y, g = (np.concatenate([p[i] for p in part]) for i in range(3))
        out.append((x, y, g.astype("int64")))
    return out


def fit_state_model(
    state: FloatArray,
    max_lag: int,
    target: FloatArray | None = None,
    groups: npt.NDArray[np.int64] | None = None,
    n_groups: int = 1,
) -> StateModel:
    """Fit the relaxing persistence of ``state`` (a regular series, NaN: not observed) for lags
    1..``max_lag`` steps, predicting ``target`` (default: the state itself; same length), whose
    errors are quantified per ``groups`` (0..``n_groups`` - 1 per step; a group with fewer than
    ``MIN_PAIRS`` pairs in a block takes the block's pooled quantiles). Raises
    ``ValidationFailed`` with fewer than ``MIN_PAIRS`` pairs at lag 1 (too little history)."""
    values = np.asarray(state, dtype="float64")
    finite = np.isfinite(values)
    if finite.sum() < MIN_PAIRS:
        raise ValidationFailed("too little history to forecast the generation")
    mean = float(values[finite].mean())
    aim = values if target is None else np.asarray(target, dtype="float64")
    group = np.zeros(len(values), dtype="int64") if groups is None else np.asarray(groups)
    blocks = _pairs_by_block(smoothed(values) - mean, aim - mean, group, max_lag)
    weights = np.zeros(len(blocks))
    quantiles = np.zeros((len(blocks), n_groups, len(LEVELS)))
    for b, (x, y, g) in enumerate(blocks):
        if len(x) < MIN_PAIRS:
            if b == 0:
                raise ValidationFailed("too little history to forecast the generation")
            weights[b], quantiles[b] = weights[b - 1], quantiles[b - 1]
            continue
        spread = float(np.dot(x, x))
        weights[b] = np.clip(np.dot(x, y) / spread, 0.0, 1.0) if spread > 0 else 0.0
        errors = y - weights[b] * x
        quantiles[b, :] = np.quantile(errors, LEVELS)
        for k in range(n_groups):
            if (g == k).sum() >= MIN_PAIRS:
                quantiles[b, k] = np.quantile(errors[g == k], LEVELS)
    return StateModel(mean, weights, quantiles, sum(len(x) for x, _, _ in blocks))


def state_quantiles(
    model: StateModel,
    last: float,
    lags: npt.NDArray[np.int64],
    groups: npt.NDArray[np.int64] | None = None,
) -> FloatArray:
    """Quantiles of the target (rows: ``lags`` [steps] after the ``last`` smoothed
    observation, in error ``groups``; columns: ``LEVELS``)."""
    block = np.minimum(lag_block(lags), len(model.weights) - 1)
    group = np.zeros(len(lags), dtype="int64") if groups is None else np.asarray(groups)
    centre = model.mean + model.weights[block] * (last - model.mean)
    return np.asarray(centre[:, None] + model.quantiles[block, group], dtype="float64")


@dataclass(frozen=True)
class Bands:
    """A generation forecast [kW]: point (the median) and 80/95 % bands, per future interval;
    ``pairs``: the persistence pairs its errors come from."""

    yhat: FloatArray
    lo80: FloatArray
    hi80: FloatArray
    lo95: FloatArray
    hi95: FloatArray
    pairs: int
    #: True when a weather forecast's baseline was used (``pv_bands``).
    weather: bool = False


def forecast_state(
    state: FloatArray,
    horizon: int,
    to_power: Callable[[FloatArray, slice], FloatArray],
    capacity_kw: float,
    errors: tuple[FloatArray, npt.NDArray[np.int64], int] | None = None,
    baseline: FloatArray | None = None,
) -> Bands:
    """Forecast the ``horizon`` steps after ``state`` (history, NaN: unobserved) and map each
    quantile through ``to_power(values, columns)`` (kW per future step; ``columns`` is the
    slice of future steps); each step's values are sorted (a curve's cut-out is not monotone)
    and clipped to ``[0, capacity_kw]``. ``errors``: (target history, error group of each
    history and future step, number of groups), as in ``fit_state_model``. ``baseline`` (one
    per history and future step): what the state is expected to be (e.g. from a weather
    forecast); the persistence is then of the state's departure from it."""
    values = np.asarray(state, dtype="float64")
    base = np.zeros(len(values) + horizon) if baseline is None else np.asarray(baseline)
    values = values - base[: len(values)]
    if errors is not None:
        errors = (errors[0] - base[: len(values)], errors[1], errors[2])
    observed = np.flatnonzero(np.isfinite(values))
    if len(observed) == 0:
        raise ValidationFailed("too little history to forecast the generation")
    ages = len(values) - observed[-1]  # lag of the first future step
    target, groups, n_groups = errors if errors is not None else (None, None, 1)
    past = None if groups is None else groups[: len(values)]
    model = fit_state_model(values, horizon + ages, target, past, n_groups)
    last = float(smoothed(values)[observed[-1]])
    lags = np.arange(ages, ages + horizon, dtype="int64")
    future = None if groups is None else groups[len(values) :]
    quantiles = state_quantiles(model, last, lags, future) + base[len(values) :, None]
    power = np.column_stack(
        [to_power(quantiles[:, j], slice(0, horizon)) for j in range(len(LEVELS))]
    )
    power = np.sort(np.clip(np.nan_to_num(power, nan=0.0), 0.0, capacity_kw), axis=1)
    used = baseline is not None
    return Bands(power[:, 2], power[:, 1], power[:, 3], power[:, 0], power[:, 4], model.pairs, used)


def clear_sky_index(
    power_kw: FloatArray, potential_kw: FloatArray, ac_kw: float, share: float = MIN_POTENTIAL_SHARE
) -> FloatArray:
    """Measured power / clear-sky potential where the potential is at least ``share`` of
    ``ac_kw`` (else NaN), within [0, ``MAX_INDEX``]."""
    power = np.asarray(power_kw, dtype="float64")
    lit = potential_kw >= share * ac_kw
    index = np.full(len(power), np.nan)
    index[lit] = power[lit] / potential_kw[lit]
    return np.asarray(np.clip(index, 0.0, MAX_INDEX), dtype="float64")


def sun_groups(potential_kw: FloatArray, ac_kw: float) -> npt.NDArray[np.int64]:
    """Error group of each interval by its clear-sky potential's share of ``ac_kw``: 0 below
    ``SUN_EDGES[0]`` (low sun), 1 above."""
    return np.searchsorted(SUN_EDGES, potential_kw / ac_kw, side="right").astype("int64")


def weather_baseline(
    state: FloatArray, weather_index: FloatArray | None, horizon: int
) -> FloatArray | None:
    """The clear-sky index expected from a weather forecast: ``a + b x weather_index`` (the
    index a forecast irradiance gives, one per history and future step), fitted by least
    squares on the history's measured ``state``; None when the forecast misses a future step
    or more than a fifth of the observed history, or explains nothing (b <= 0)."""
    if weather_index is None or len(weather_index) != len(state) + horizon:
        return None
    past, future = weather_index[: len(state)], weather_index[len(state) :]
    observed = np.isfinite(state)
    both = observed & np.isfinite(past)
    if not np.isfinite(future).all() or both.sum() < max(MIN_PAIRS, 0.8 * observed.sum()):
        return None
    slope, intercept = np.polyfit(past[both], state[both], 1)
    if not slope > 0:
        return None
    return np.asarray(intercept + slope * weather_index, dtype="float64")


def pv_bands(
    power_kw: FloatArray,
    potential_kw: FloatArray,
    future_potential_kw: FloatArray,
    ac_kw: float,
    weather_index: FloatArray | None = None,
) -> Bands:
    """A PV forecast [kW]: the clear-sky index of the history (``power_kw`` over
    ``potential_kw``, both per interval, where the sun gives at least ``MIN_POTENTIAL_SHARE``)
    persisted, times ``future_potential_kw``, capped at ``ac_kw``; exactly 0 where the future
    potential is 0 (night). Its errors are quantified apart for low and high sun
    (``sun_groups``), observed down to ``LOW_SUN_SHARE``: at low sun the index is least
    certain (shading, the horizon, the model's diffuse light). With ``weather_index`` (the
    clear-sky index a weather forecast's irradiance gives, per history and future step) the
    persisted quantity is the departure from ``weather_baseline`` (the point), and the bands
    are the envelope of that forecast's and of the forecast without weather (the history's
    irradiance is measured: it cannot show the errors of an irradiance forecast)."""
    state = clear_sky_index(power_kw, potential_kw, ac_kw)
    target = clear_sky_index(power_kw, potential_kw, ac_kw, LOW_SUN_SHARE)
    groups = sun_groups(np.concatenate([potential_kw, future_potential_kw]), ac_kw)

    def to_power(index: FloatArray, columns: slice) -> FloatArray:
        return np.clip(index, 0.0, None) * future_potential_kw[columns]

    horizon = len(future_potential_kw)
    if weather_index is not None:  # at night the index is irrelevant (nothing to multiply)
        lit = np.concatenate([potential_kw, future_potential_kw]) > 0
        weather_index = np.where(lit, weather_index, 0.0)
    baseline = weather_baseline(state, weather_index, horizon)
    errors = (target, groups, len(SUN_EDGES) + 1)
    plain = forecast_state(state, horizon, to_power, ac_kw, errors)
    if baseline is None:
        return plain
    weather = forecast_state(state, horizon, to_power, ac_kw, errors, baseline)
    # the history's irradiance is what was measured, not what was forecast: the errors of the
    # weather's baseline there miss the forecast's own; the bands are widened to the envelope
    # with those of the persistence without weather, whose errors are measured
    return replace(
        weather,
        lo80=np.minimum(weather.lo80, plain.lo80),
        hi80=np.maximum(weather.hi80, plain.hi80),
        lo95=np.minimum(weather.lo95, plain.lo95),
        hi95=np.maximum(weather.hi95, plain.hi95),
    )
