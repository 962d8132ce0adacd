"""Forecasts of a site's consumption, generation or net, or of an asset's power: compute,
store, serve.

A site's quantities come from its energy balance (``site.py``); an asset's forecast is of its
own ``power_kw``. The history is the last ``forecast_history_days`` at 15-min resolution, or at
the series' native resolution when it is coarser (hourly meters). The first point is the
interval that contains "now" (not yet complete). Stored site forecasts carry their quantity in
``metric`` (``STORED_METRIC``); the net is served from the consumption and generation of one
issue.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import holiday_country, regular_index
from gridpilot.analytics.forecast import Forecast, forecast_series
from gridpilot.analytics.forecast_bounds import is_exact, net_forecast, zero_forecast
from gridpilot.assets.catalogue import GENERATION_ROLES
from gridpilot.assets.service import get_asset, get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, iso
from gridpilot.insights.data import SYSTEM, load_series
from gridpilot.insights.forecasts.generation import (
    Generator,
    generator_forecast,
    is_physical,
    physical_generator,
)
from gridpilot.insights.forecasts.schemas import ForecastOut, ForecastPoint
from gridpilot.insights.forecasts.sensor_weather import regressors
from gridpilot.insights.forecasts.site import (
    BASIC,
    QUANTITIES,
    forecast_site,
    generation_fleet,
    native_step_ms,
)
from gridpilot.insights.forecasts.storage import (
    METRIC,
    forecast_of,
    latest_stored,
    points_of,
    window,
)
from gridpilot.insights.forecasts.storage_plans import planned_storage_kw
from gridpilot.insights.forecasts.weather import SiteLocation, WeatherSource

STEP_MS = 15 * 60_000
#: Horizons the API offers, in ms.
HORIZONS = {"1h": MS_PER_HOUR, "24h": MS_PER_DAY, "7d": 7 * MS_PER_DAY}
#: ``regressors`` of a storage forecast taken from the flex schedule.
SCHEDULE_INPUT = "flex_schedule"
SCHEDULE_NOTE = (
    "storage follows its plan: the site's latest flex schedule (charge > 0, discharge < 0; 0 "
    "beyond the schedule's end), GET /api/v1/sites/{id}/schedule"
)
STORAGE_NOTE = (
    "storage is not forecast from its history (it follows its plan, not a pattern): the "
    "planned charge and discharge are the site's flex schedule, GET /api/v1/sites/{id}/schedule"
)


@dataclass(frozen=True)
class Target:
    """What is forecast: a site total (``asset_id`` None) or one asset, and its calendar."""

    site_id: int
    asset_id: int | None
    timezone: str
    location: SiteLocation
    #: A generator (PV, wind): its daily profile follows the sun (UTC), not the wall clock.
    generator: bool = False
    #: The asset's role (None for a site).
    role: str | None = None
    #: The asset's physical model (PV, wind), when it has one.
    physical: Generator | None = None


async def resolve_target(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    asset_id: int | None = None,
) -> Target:
    """The site or asset as a ``Target``; ``NotFound`` when missing or out of scope (a site for a
    principal limited to some assets, as the balance answers)."""
    asset = None
    if asset_id is not None:
        asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
        site_id = asset.site_id
    if site_id is None:
        raise ValidationFailed("a site or an asset is needed")
    site = await get_site(session=session, site_id=site_id, principal=principal)
    if asset_id is None and principal.asset_ids is not None:  # a device key: its asset only
        raise NotFound(f"site {site_id} not found")
    location = SiteLocation(site.id, site.latitude, site.longitude)
    if asset is None:
        return Target(site.id, asset_id, site.timezone, location)
    generator = asset.role in GENERATION_ROLES
    physical = physical_generator(asset, location)
    return Target(site.id, asset_id, site.timezone, location, generator, asset.role, physical)


async def _load(
    session: AsyncSession, target: Target, start_ms: int, end_ms: int, step_ms: int
) -> pd.Series:
    if target.asset_id is None:
        raise ValidationFailed("an asset is needed")
    return await load_series(
        session=session,
        asset_id=target.asset_id,
        metric=METRIC,
        start_ms=start_ms,
        end_ms=end_ms,
        step_ms=step_ms,
    )


async def compute_forecast(
    *,
    session: AsyncSession,
    target: Target,
    horizon_ms: int,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None = None,
) -> Forecast:
    """Fit an asset's power on its recent history and forecast ``horizon_ms`` from the interval
    holding now: physically for a generator with a physical model (``generation.py``), 0 for
    storage (``STORAGE_NOTE``); weather regressors from the site's sensors
    (``sensor_weather.py``) or the adapter.

    Raises ``ValidationFailed`` when the history is too short.
    """
    found = await forecast_with_note(
        session=session, target=target, horizon_ms=horizon_ms, now_ms=now_ms,
        settings=settings, weather=weather,
    )  # fmt: skip
    return found[0]


async def forecast_with_note(
    *,
    session: AsyncSession,
    target: Target,
    horizon_ms: int,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None = None,
) -> tuple[Forecast, str | None]:
    """``compute_forecast`` and where its weather came from (``Regressors.note``)."""
    step = STEP_MS
    end = now_ms - now_ms % step
    if target.role == "storage" and target.asset_id is not None:
        index = regular_index(pd.Timestamp(end, unit="ms", tz="UTC"), -(-horizon_ms // step), step)
        planned = await planned_storage_kw(
            session=session, site_id=target.site_id, asset_id=target.asset_id, index=index
        )
        if planned is None:
            return zero_forecast(index, step), None
        kw = np.nan_to_num(planned, nan=0.0)
        return Forecast(index, kw, kw, kw, kw, kw, step, (), (SCHEDULE_INPUT,), 0), None
    if target.physical is not None:
        physical = await generator_forecast(
            session=session, generator=target.physical, end_ms=end,
            horizon=max(1, -(-horizon_ms // step)), step_ms=step, weather=weather,
            location=target.location,
        )  # fmt: skip
        return physical, None
    start = end - settings.forecast_history_days * MS_PER_DAY
    series = await _load(session, target, start, end, step)
    native = native_step_ms(series, step)
    if native != step:
        step, end = native, now_ms - now_ms % native
        start = end - settings.forecast_history_days * MS_PER_DAY
        series = await _load(session, target, start, end, step)
    horizon = max(1, -(-horizon_ms // step))
    found = await regressors(
        session=session, site_id=target.site_id, location=target.location, start_ms=start,
        end_ms=end, horizon_end_ms=end + horizon * step, step_ms=step, weather=weather,
    )  # fmt: skip
    zone = None if target.generator else target.timezone  # as in ``site.forecast_site``
    forecast = await asyncio.to_thread(
        forecast_series,
        series,
        horizon=horizon,
        step_ms=step,
        timezone=zone,
        country=holiday_country(zone),
        weather=found.frame,
    )
    return forecast, found.note() if forecast.regressors else None


def method_of(forecast: Forecast) -> str:
    """``physical``, ``schedule``, ``zero`` (exact 0, no uncertainty) or ``statistical``."""
    if is_physical(forecast):
        return "physical"
    if SCHEDULE_INPUT in forecast.regressors:
        return "schedule"
    if is_exact(forecast) and not forecast.yhat.any():
        return "zero"
    return "statistical"


def _points(forecast: Forecast) -> list[ForecastPoint]:
    return [
        ForecastPoint(ts=iso(int(p[0])), yhat=p[1], lo80=p[2], hi80=p[3], lo95=p[4], hi95=p[5])
        for p in points_of(forecast)
    ]


def _out(
    target: Target,
    forecast: Forecast,
    *,
    quantity: str | None,
    issued_ms: int,
    source: str,
    capacity_kw: float | None = None,
    components: dict[str, Forecast] | None = None,
    note: str | None = None,
) -> ForecastOut:
    if target.role == "storage":
        note = SCHEDULE_NOTE if SCHEDULE_INPUT in forecast.regressors else STORAGE_NOTE
    if note is None and quantity == "generation" and method_of(forecast) == "statistical":
        note = (
            "a statistical model of the site's generation history: not every generator has a "
            "physical model (PV on a located site, wind, with a rated capacity)"
        )
    return ForecastOut(
        site_id=target.site_id,
        asset_id=target.asset_id,
        quantity=quantity,
        metric=METRIC,
        issued_at=iso(issued_ms),
        step_s=forecast.step_ms // 1000,
        horizon=len(forecast.index),
        source=source,
        seasonality=list(forecast.seasonality),
        regressors=list(forecast.regressors),
        calibrated=forecast.calibration_errors > 0 or is_exact(forecast),
        capacity_kw=capacity_kw,
        method="derived" if components else method_of(forecast),
        note=note,
        components=None if not components else {k: _points(f) for k, f in components.items()},
        component_methods=None
        if not components
        else {k: method_of(f) for k, f in components.items()},
        points=_points(forecast),
    )


async def _asset_forecast(
    session: AsyncSession,
    target: Target,
    *,
    settings: Settings,
    horizon_ms: int,
    now_ms: int,
    weather: WeatherSource | None,
) -> ForecastOut:
    fresh_after = now_ms - settings.forecast_fresh_s * 1000
    stored = await latest_stored(
        session=session,
        site_id=target.site_id,
        asset_id=target.asset_id,
        issued_after_ms=fresh_after,
    )
    served = None if stored is None else window(forecast_of(stored), now_ms, horizon_ms)
    if stored is not None and served is not None:
        return _out(target, served, quantity=None, issued_ms=stored.issued_ms, source="stored")
    forecast, note = await forecast_with_note(
        session=session,
        target=target,
        horizon_ms=horizon_ms,
        now_ms=now_ms,
        settings=settings,
        weather=weather,
    )
    return _out(target, forecast, quantity=None, issued_ms=now_ms, source="computed", note=note)


async def _stored_site(
    session: AsyncSession,
    target: Target,
    basics: tuple[str, ...],
    *,
    fresh_after_ms: int,
    now_ms: int,
    horizon_ms: int,
) -> tuple[dict[str, Forecast], int] | None:
    """The stored forecasts of ``basics`` of one issue, cut to the horizon; None if missing."""
    found: dict[str, Forecast] = {}
    issued: set[int] = set()
    for quantity in basics:
        row = await latest_stored(
            session=session, site_id=target.site_id, asset_id=None,
            issued_after_ms=fresh_after_ms, quantity=quantity,
        )  # fmt: skip
        part = None if row is None else window(forecast_of(row), now_ms, horizon_ms)
        if row is None or part is None:
            return None
        found[quantity] = part
        issued.add(row.issued_ms)
    return (found, issued.pop()) if len(issued) == 1 else None


async def _site_forecast(
    session: AsyncSession,
    target: Target,
    quantity: str,
    *,
    settings: Settings,
    horizon_ms: int,
    now_ms: int,
    weather: WeatherSource | None,
) -> ForecastOut:
    basics: tuple[str, ...] = BASIC if quantity == "net" else (quantity,)
    fresh_after = now_ms - settings.forecast_fresh_s * 1000
    stored = await _stored_site(
        session, target, basics, fresh_after_ms=fresh_after, now_ms=now_ms, horizon_ms=horizon_ms
    )
    weather_note = None
    if stored is not None:
        forecasts, issued, source = stored[0], stored[1], "stored"
    else:
        made = await forecast_site(
            session=session, site_id=target.site_id, timezone=target.timezone,
            location=target.location, quantities=basics, horizon_ms=horizon_ms, now_ms=now_ms,
            settings=settings, weather=weather,
        )  # fmt: skip
        for basic in basics:
            if basic in made.errors:
                raise made.errors[basic]
        forecasts, issued, source = made.forecasts, now_ms, "computed"
        weather_note = made.weather_note
    if quantity == "net":
        forecast = net_forecast(forecasts["consumption"], forecasts["generation"])
    else:
        forecast = forecasts[quantity]
    capacity = None
    if quantity != "consumption":
        capacity = (await generation_fleet(session=session, site_id=target.site_id)).capacity_kw
    return _out(
        target, forecast, quantity=quantity, issued_ms=issued, source=source,
        capacity_kw=capacity, components=forecasts if quantity == "net" else None,
        note=weather_note if forecast.regressors else None,
    )  # fmt: skip


async def get_forecast(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    horizon: str,
    now_ms: int,
    site_id: int | None = None,
    asset_id: int | None = None,
    quantity: str = "consumption",
    weather: WeatherSource | None = None,
) -> ForecastOut:
    """A site's ``quantity`` (ignored for an asset: its power): a fresh stored forecast when
    there is one covering the horizon, else a new one."""
    if horizon not in HORIZONS:
        raise ValidationFailed(f"horizon must be one of {', '.join(HORIZONS)}")
    if quantity not in QUANTITIES:
        raise ValidationFailed(f"quantity must be one of {', '.join(QUANTITIES)}")
    target = await resolve_target(
        session=session, principal=principal, site_id=site_id, asset_id=asset_id
    )
    horizon_ms = HORIZONS[horizon]
    if target.asset_id is not None:
        return await _asset_forecast(
            session, target, settings=settings, horizon_ms=horizon_ms, now_ms=now_ms,
            weather=weather,
        )  # fmt: skip
    return await _site_forecast(
        session, target, quantity, settings=settings, horizon_ms=horizon_ms, now_ms=now_ms,
        weather=weather,
    )  # fmt: skip


async def site_target(*, session: AsyncSession, site_id: int) -> Target:
    """A site's target for background jobs (sees every site)."""
    return await resolve_target(session=session, principal=SYSTEM, site_id=site_id)


def peak_of(forecast: Forecast) -> dict[str, float | int]:
    """The highest expected point: ``{"ts" (epoch ms), "yhat", "hi80", "hi95"}``."""
    i = int(np.nanargmax(forecast.yhat))
    return {
        "ts": int(forecast.index[i].value // 1_000_000),
        "yhat": round(float(forecast.yhat[i]), 4),
        "hi80": round(float(forecast.hi80[i]), 4),
        "hi95": round(float(forecast.hi95[i]), 4),
    }
