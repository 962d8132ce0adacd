"""Generation forecasts from physics: PV from the clear sky, wind through the power curve.

A generator is forecast physically (``analytics.generation_forecast``) when it is a producer
with a ``rated_capacity_kw`` and

- **PV** (kind ``solar_pv`` or ``inverter``) on a site with a latitude and longitude: the
  clear-sky potential of its array (``analytics.generation_physics``; attributes ``tilt_deg``
  (default 30), ``azimuth_deg`` (default 180, south), ``pv_kwp`` or ``dc_kw`` (default: the
  rated capacity), ``altitude_m``) times its clear-sky index persisted from its own
  ``power_kw``, capped at the rated (inverter) capacity;
- **wind** (kind ``wind_onshore``, ``wind_offshore``): its own hub-height ``wind_speed_ms``
  persisted, through its ``power_curve`` attribute (``[[speed_ms, power_kw], ...]``) or the
  generic IEC class II curve scaled to the rating; without wind-speed data its output as a
  share of the rating is persisted instead.

A site's generation is the sum of its generators' physical forecasts when every generator can
be forecast so (else the statistical model of ``site.py`` forecasts the balance's generation):
points and bands add (generators of one site see the same weather: their errors are taken as
fully correlated, which errs on the wide side). The inputs show in ``regressors``
(``PHYSICAL_INPUTS``), which is how a stored forecast says it was physical.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import regular_index
from gridpilot.analytics.forecast import Forecast
from gridpilot.analytics.generation_forecast import Bands, forecast_state, pv_bands
from gridpilot.analytics.generation_physics import (
    DEFAULT_AZIMUTH_DEG,
    DEFAULT_TILT_DEG,
    PowerCurve,
    PvArray,
    clear_sky_ghi_wm2,
    clear_sky_potential_kw,
    generic_curve,
    parse_power_curve,
    power_curve_kw,
    weather_clear_sky_index,
)
from gridpilot.assets.service import list_assets
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY
from gridpilot.insights.data import SYSTEM, load_series
from gridpilot.insights.forecasts.weather import SiteLocation, WeatherSource

SOLAR_KINDS = frozenset({"solar_pv", "inverter"})
WIND_KINDS = frozenset({"wind_onshore", "wind_offshore"})
#: ``regressors`` of a physical forecast: what its state is.
PHYSICAL_INPUTS = ("clear_sky_index", "wind_speed_ms", "wind_power_share")
#: Days of history the persistence's errors are estimated on.
HISTORY_DAYS = 28


@dataclass(frozen=True)
class PvGenerator:
    asset_id: int
    array: PvArray


@dataclass(frozen=True)
class WindGenerator:
    asset_id: int
    curve: PowerCurve


Generator = PvGenerator | WindGenerator


def _number(attributes: dict[str, Any], keys: tuple[str, ...], default: float) -> float:
    for key in keys:
        value = attributes.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationFailed(f"attribute {key} must be a number")
        try:
            return float(value)
        except ValueError as error:
            raise ValidationFailed(f"attribute {key} must be a number") from error
    return default


def physical_generator(asset: Any, location: SiteLocation) -> Generator | None:
    """The physical model of a producer ``asset`` (PV with a located site, wind), None when it
    has none. Raises ``ValidationFailed`` for attributes that make no sense (naming them)."""
    rated = asset.rated_capacity_kw
    if asset.role != "producer" or rated is None or rated <= 0:
        return None
    attributes = dict(asset.attributes or {})
    try:
        if asset.kind in SOLAR_KINDS and location.latitude is not None:
            if location.longitude is None:
                return None
            array = PvArray(
                latitude_deg=location.latitude,
                longitude_deg=location.longitude,
                dc_kw=_number(attributes, ("pv_kwp", "dc_kw"), rated),
                ac_kw=rated,
                tilt_deg=_number(attributes, ("tilt_deg",), DEFAULT_TILT_DEG),
                azimuth_deg=_number(attributes, ("azimuth_deg",), DEFAULT_AZIMUTH_DEG),
                altitude_m=_number(attributes, ("altitude_m",), 0.0),
            )
            return PvGenerator(asset.id, array)
        if asset.kind in WIND_KINDS:
            raw = attributes.get("power_curve")
            curve = generic_curve(rated) if raw is None else parse_power_curve(raw, rated)
            return WindGenerator(asset.id, curve)
    except ValidationFailed as error:
        raise ValidationFailed(f"asset {asset.id} ({asset.name}): {error.message}") from error
    return None


def _to_forecast(bands: Bands, index: pd.DatetimeIndex, step_ms: int, inputs: str) -> Forecast:
    return Forecast(
        index, bands.yhat, bands.lo80, bands.hi80, bands.lo95, bands.hi95, step_ms, (),
        (inputs,), bands.pairs,
    )  # fmt: skip


def weather_index(
    array: PvArray, weather: pd.DataFrame | None, index: pd.DatetimeIndex, step_ms: int
) -> np.ndarray | None:
    """The clear-sky index of a weather forecast's ``irradiance_wm2`` (global horizontal, read
    at each interval's middle, linear in time between the forecast's rows) over ``index``;
    None without irradiance."""
    if weather is None or "irradiance_wm2" not in weather.columns or len(index) == 0:
        return None
    column = weather["irradiance_wm2"].dropna()
    if column.empty:
        return None
    middle = pd.DatetimeIndex(index) + pd.Timedelta(milliseconds=step_ms // 2)
    union = column.index.union(middle)
    values = column.reindex(union).interpolate(method="time", limit_area="inside")
    ghi = values.reindex(middle).to_numpy(dtype="float64")
    return weather_clear_sky_index(ghi, clear_sky_ghi_wm2(array, index, step_ms))


def pv_forecast(
    array: PvArray,
    power_kw: pd.Series,
    index: pd.DatetimeIndex,
    step_ms: int,
    weather: pd.DataFrame | None = None,
) -> Forecast:
    """A PV forecast over ``index`` from the measured ``power_kw`` history (regular, NaN:
    missing) at ``step_ms``, and a weather forecast's irradiance when ``weather`` has it."""
    history_index = pd.DatetimeIndex(power_kw.index)
    potential = clear_sky_potential_kw(array, history_index, step_ms)
    future = clear_sky_potential_kw(array, index, step_ms)
    both = pd.DatetimeIndex(history_index.append(pd.DatetimeIndex(index)))
    forecast_index = weather_index(array, weather, both, step_ms)
    bands = pv_bands(
        power_kw.to_numpy(dtype="float64"), potential, future, array.ac_kw, forecast_index
    )
    forecast = _to_forecast(bands, index, step_ms, "clear_sky_index")
    if bands.weather:
        return replace(forecast, regressors=(*forecast.regressors, "irradiance_wm2"))
    return forecast


def wind_forecast(
    curve: PowerCurve, power_kw: pd.Series, speed_ms: pd.Series | None, index: pd.DatetimeIndex,
    step_ms: int,
) -> Forecast:  # fmt: skip
    """A wind forecast over ``index``: the hub-height ``speed_ms`` history persisted through
    ``curve``, or without it the output's share of the rating persisted."""
    horizon = len(index)
    speeds = None if speed_ms is None else speed_ms.to_numpy(dtype="float64")
    if speeds is not None and np.isfinite(speeds).sum() >= 0.5 * np.isfinite(power_kw).sum():

        def through_curve(values: np.ndarray, columns: slice) -> np.ndarray:
            return power_curve_kw(curve, values)

        bands = forecast_state(speeds, horizon, through_curve, curve.rated_kw)
        return _to_forecast(bands, index, step_ms, "wind_speed_ms")
    share = power_kw.to_numpy(dtype="float64") / curve.rated_kw

    def scaled(values: np.ndarray, columns: slice) -> np.ndarray:
        return np.clip(values, 0.0, 1.0) * curve.rated_kw

    bands = forecast_state(share, horizon, scaled, curve.rated_kw)
    return _to_forecast(bands, index, step_ms, "wind_power_share")


async def generator_forecast(
    *, session: AsyncSession, generator: Generator, end_ms: int, horizon: int, step_ms: int,
    history_days: int = HISTORY_DAYS, weather: WeatherSource | None = None,
    location: SiteLocation | None = None,
) -> Forecast:  # fmt: skip
    """Forecast ``generator`` for ``horizon`` intervals of ``step_ms`` from ``end_ms`` (the
    start of the interval holding now) on its last ``history_days``; a PV's with the
    ``weather`` source's irradiance forecast at ``location`` when it has one."""
    start = end_ms - history_days * MS_PER_DAY
    power = await load_series(
        session=session, asset_id=generator.asset_id, metric="power_kw", start_ms=start,
        end_ms=end_ms, step_ms=step_ms,
    )  # fmt: skip
    index = regular_index(pd.Timestamp(end_ms, unit="ms", tz="UTC"), horizon, step_ms)
    if isinstance(generator, PvGenerator):
        frame = None
        if weather is not None and location is not None:
            frame = await asyncio.to_thread(
                weather.frame, location, start, end_ms + horizon * step_ms
            )  # a provider answers over the network
        array = generator.array
        return await asyncio.to_thread(pv_forecast, array, power, index, step_ms, frame)
    speed = await load_series(
        session=session, asset_id=generator.asset_id, metric="wind_speed_ms", start_ms=start,
        end_ms=end_ms, step_ms=step_ms,
    )  # fmt: skip
    return await asyncio.to_thread(wind_forecast, generator.curve, power, speed, index, step_ms)


def sum_forecasts(forecasts: list[Forecast]) -> Forecast:
    """The sum of forecasts of one grid: points and bands add (fully correlated errors)."""
    if not forecasts:
        raise ValidationFailed("no forecast to add up")
    first = forecasts[0]
    bands = {
        name: np.sum([getattr(f, name) for f in forecasts], axis=0)
        for name in ("yhat", "lo80", "hi80", "lo95", "hi95")
    }
    inputs = tuple(dict.fromkeys(r for f in forecasts for r in f.regressors))
    pairs = min(f.calibration_errors for f in forecasts)
    return Forecast(
        first.index, step_ms=first.step_ms, seasonality=(), regressors=inputs,
        calibration_errors=pairs, **bands,
    )  # fmt: skip


def is_physical(forecast: Forecast) -> bool:
    """True when ``forecast`` came from a physical model (its inputs say so)."""
    return any(r in PHYSICAL_INPUTS for r in forecast.regressors)


async def site_generators(
    *, session: AsyncSession, site_id: int, location: SiteLocation
) -> list[Generator] | None:
    """The physical models of all the site's generators (producers and prosumers, not a
    sub-meter of a same-role parent); None when any has none (a prosumer never has: its power
    is net of its own load), then the site's generation is forecast statistically, or when
    there is none."""
    assets = await list_assets(session=session, principal=SYSTEM, site_id=site_id, limit=100_000)
    role_of = {a.id: a.role for a in assets}
    found: list[Generator] = []
    for asset in assets:
        parent = asset.parent_asset_id
        if asset.role not in ("producer", "prosumer") or (
            parent and role_of.get(parent) == asset.role
        ):
            continue
        generator = physical_generator(asset, location)
        if generator is None:
            return None
        found.append(generator)
    return found or None


async def physical_site_generation(
    *, session: AsyncSession, site_id: int, location: SiteLocation, end_ms: int, horizon: int,
    step_ms: int, weather: WeatherSource | None = None,
) -> Forecast | None:  # fmt: skip
    """The site's generation [kW] as the sum of its generators' physical forecasts, None when
    one of them has no physical model or too little history."""
    generators = await site_generators(session=session, site_id=site_id, location=location)
    if generators is None:
        return None
    forecasts = []
    for generator in generators:
        try:
            made = await generator_forecast(
                session=session, generator=generator, end_ms=end_ms, horizon=horizon,
                step_ms=step_ms, weather=weather, location=location,
            )  # fmt: skip
        except ValidationFailed:
            return None
        forecasts.append(made)
    return sum_forecasts(forecasts)
