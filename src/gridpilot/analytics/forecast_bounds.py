"""Physical bounds of site forecasts (pure): night, installed capacity, non-negativity, net.

A site's generation is never below 0 kW, never above its installed capacity [kW], and a solar
plant produces nothing while the sun is below the horizon; its consumption is never below 0.
``bound_forecast`` clips the point forecast and every band into such bounds. The true value
always lies inside them, so clipping a band never lowers its coverage.

Night comes from the sun's position (pvlib, no network) when the site's latitude and longitude
are known, else from the history: the times of day at which generation was about 0 on every
observed day.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pandas as pd
import pvlib

from gridpilot.analytics.forecast import Forecast
from gridpilot.core.errors import ValidationFailed

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: The sun is below the horizon when its centre is below this geometric elevation [deg]: the
#: upper limb at the horizon with standard refraction (the definition of sunrise and sunset).
SUNSET_ELEVATION_DEG = -0.833
#: History-based night: a time of day needs this many observed days, all about zero.
MIN_NIGHT_DAYS = 7
#: "About zero" in the history: this share of the history's highest generation (at least 1 W).
NIGHT_TOLERANCE_SHARE = 0.005
_BANDS = ("yhat", "lo80", "hi80", "lo95", "hi95")


def solar_night(
    index: pd.DatetimeIndex, step_ms: int, latitude: float, longitude: float
) -> BoolArray:
    """True for each interval ``[t, t + step_ms)`` of ``index`` (UTC) in which the sun stays
    below the horizon at ``latitude``/``longitude`` [deg]: its elevation is below
    ``SUNSET_ELEVATION_DEG`` at the start, the middle and the end of the interval."""
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise ValidationFailed("latitude must be within +-90 and longitude within +-180 deg")
    if len(index) == 0:
        return np.zeros(0, dtype=bool)
    utc = pd.DatetimeIndex(index).tz_convert("UTC") if index.tz else index.tz_localize("UTC")
    offsets = [pd.Timedelta(milliseconds=step_ms * k // 2) for k in (0, 1, 2)]
    night = np.ones(len(utc), dtype=bool)
    for offset in offsets:
        position = pvlib.solarposition.get_solarposition(utc + offset, latitude, longitude)
        night &= np.asarray(position["elevation"], dtype="float64") < SUNSET_ELEVATION_DEG
    return night


def _seconds_of_day(index: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    utc = index.tz_convert("UTC") if index.tz else index
    ms = np.asarray(utc.as_unit("ms").asi8, dtype="int64")
    return (ms % 86_400_000) // 1000


def night_from_history(
    history: pd.Series, index: pd.DatetimeIndex, *, min_days: int = MIN_NIGHT_DAYS
) -> BoolArray:
    """True for the times of ``index`` whose UTC time of day had generation about zero (at most
    ``NIGHT_TOLERANCE_SHARE`` of the history's maximum, at least 0.001 kW) on every observed day
    of ``history`` [kW], seen on at least ``min_days`` days; NaN values are not observations."""
    values = history.to_numpy(dtype="float64")
    observed = np.isfinite(values)
    if not observed.any():
        return np.zeros(len(index), dtype=bool)
    tolerance = max(0.001, NIGHT_TOLERANCE_SHARE * float(np.max(values[observed])))
    frame = pd.DataFrame(
        {
            "tod": _seconds_of_day(pd.DatetimeIndex(history.index))[observed],
            "high": values[observed] > tolerance,
        }
    )
    per_tod = frame.groupby("tod")["high"].agg(["size", "sum"])
    dark = per_tod.index[(per_tod["size"] >= min_days) & (per_tod["sum"] == 0)]
    return np.isin(_seconds_of_day(index), dark.to_numpy())


def generation_ceiling(
    night: BoolArray, capacity_kw: float | None, night_capacity_kw: float | None
) -> FloatArray:
    """The most a site can generate per interval [kW]: ``capacity_kw`` by day and
    ``night_capacity_kw`` (its generators other than solar) at night; inf where unknown."""
    day = np.inf if capacity_kw is None else float(capacity_kw)
    dark = day if night_capacity_kw is None else min(day, float(night_capacity_kw))
    return np.where(night, dark, day).astype("float64")


def bound_forecast(
    forecast: Forecast, lower: float | FloatArray = 0.0, upper: float | FloatArray = np.inf
) -> Forecast:
    """``forecast`` with the point and every band clipped into ``[lower, upper]`` per point."""
    lo = np.broadcast_to(np.asarray(lower, dtype="float64"), forecast.yhat.shape)
    hi = np.broadcast_to(np.asarray(upper, dtype="float64"), forecast.yhat.shape)
    if np.any(lo > hi):
        raise ValidationFailed("a lower bound is above its upper bound")
    clipped = {name: np.clip(getattr(forecast, name), lo, hi) for name in _BANDS}
    return replace(forecast, **clipped)


def zero_forecast(index: pd.DatetimeIndex, step_ms: int) -> Forecast:
    """A forecast of exactly 0 (a term nothing on the site feeds, e.g. generation without
    generators): no season, no regressor, nothing calibrated."""
    zeros = np.zeros(len(index))
    return Forecast(index, zeros, zeros, zeros, zeros, zeros, step_ms, (), (), 0)


def is_exact(forecast: Forecast) -> bool:
    """True when every band is the point itself (no uncertainty, e.g. ``zero_forecast``)."""
    return all(np.array_equal(getattr(forecast, b), forecast.yhat) for b in _BANDS[1:])


def net_forecast(consumption: Forecast, generation: Forecast) -> Forecast:
    """Consumption minus generation [kW], the grid exchange without storage (+ import).

    The point is the difference of the points. Each band's half-widths add in quadrature, as for
    independent errors: the upper one from consumption's upper and generation's lower one, and
    vice versa. Not calibrated on its own; ``calibration_errors`` is the smaller of the two
    (of an exact forecast's partner alone)."""
    if not consumption.index.equals(generation.index):
        raise ValidationFailed("consumption and generation forecasts must share their times")
    yhat = consumption.yhat - generation.yhat

    def spread(c_side: np.ndarray, g_side: np.ndarray) -> FloatArray:
        c = np.abs(c_side - consumption.yhat)
        g = np.abs(generation.yhat - g_side)
        return np.asarray(np.sqrt(c**2 + g**2), dtype="float64")

    return Forecast(
        index=consumption.index,
        yhat=yhat,
        lo80=yhat - spread(consumption.lo80, generation.hi80),
        hi80=yhat + spread(consumption.hi80, generation.lo80),
        lo95=yhat - spread(consumption.lo95, generation.hi95),
        hi95=yhat + spread(consumption.hi95, generation.lo95),
        step_ms=consumption.step_ms,
        seasonality=tuple(dict.fromkeys(consumption.seasonality + generation.seasonality)),
        regressors=tuple(dict.fromkeys(consumption.regressors + generation.regressors)),
        calibration_errors=min(
            [f.calibration_errors for f in (consumption, generation) if not is_exact(f)] or [0]
        ),
    )
