"""Forecasts of a site's or an asset's power: compute, store, serve.

A site forecast is the forecast of the summed ``power_kw`` of its consumer assets (all assets
when it has no consumer with data). The history is the last ``forecast_history_days`` at
15-min resolution, or at the series' native resolution when it is coarser (hourly meters).
The first point is the interval that contains "now" (not yet complete).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import holiday_country, infer_step_ms
from gridpilot.analytics.forecast import Forecast, forecast_series
from gridpilot.assets.catalogue import LOAD_ROLES
from gridpilot.assets.service import get_asset, get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, iso
from gridpilot.insights.data import SYSTEM, load_series, load_site_series
from gridpilot.insights.forecasts.models import StoredForecast
from gridpilot.insights.forecasts.schemas import ForecastOut, ForecastPoint
from gridpilot.insights.forecasts.weather import SiteLocation, WeatherSource

METRIC = "power_kw"
STEP_MS = 15 * 60_000
#: Horizons the API offers, in ms.
HORIZONS = {"1h": MS_PER_HOUR, "24h": MS_PER_DAY}
_NATIVE_STEPS = (30 * 60_000, MS_PER_HOUR, MS_PER_DAY)


@dataclass(frozen=True)
class Target:
    """What is forecast: a site total (``asset_id`` None) or one asset, and its calendar."""

    site_id: int
    asset_id: int | None
    timezone: str
    location: SiteLocation


async def resolve_target(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    asset_id: int | None = None,
) -> Target:
    """The site or asset as a ``Target``; ``NotFound`` when missing or out of scope."""
    if asset_id is not None:
        asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
        site_id = asset.site_id
    if site_id is None:
        raise ValidationFailed("a site or an asset is needed")
    site = await get_site(session=session, site_id=site_id, principal=principal)
    location = SiteLocation(site.id, site.latitude, site.longitude)
    return Target(site.id, asset_id, site.timezone, location)


async def _load(
    session: AsyncSession, target: Target, start_ms: int, end_ms: int, step_ms: int
) -> pd.Series:
    if target.asset_id is not None:
        return await load_series(
            session=session,
            asset_id=target.asset_id,
            metric=METRIC,
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
        )
    series = await load_site_series(
        session=session,
        site_id=target.site_id,
        metric=METRIC,
        start_ms=start_ms,
        end_ms=end_ms,
        step_ms=step_ms,
        roles=LOAD_ROLES,
    )
    if series.notna().sum() == 0:
        series = await load_site_series(
            session=session,
            site_id=target.site_id,
            metric=METRIC,
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
        )
    return series


def native_step_ms(series: pd.Series, step_ms: int) -> int:
    """The series' own step when its values sit on a coarser grid than ``step_ms``."""
    observed = pd.DatetimeIndex(series.dropna().index)
    if len(observed) < 3:
        return step_ms
    try:
        step = infer_step_ms(observed)
    except ValidationFailed:
        return step_ms
    coarser = [s for s in _NATIVE_STEPS if s <= step and step % s == 0 and s > step_ms]
    return max(coarser) if coarser else step_ms


async def compute_forecast(
    *,
    session: AsyncSession,
    target: Target,
    horizon_ms: int,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None = None,
) -> Forecast:
    """Fit on the recent history and forecast ``horizon_ms`` from the interval holding now.

    Raises ``ValidationFailed`` when the history is too short.
    """
    step = STEP_MS
    end = now_ms - now_ms % step
    start = end - settings.forecast_history_days * MS_PER_DAY
    series = await _load(session, target, start, end, step)
    native = native_step_ms(series, step)
    if native != step:
        step, end = native, now_ms - now_ms % native
        start = end - settings.forecast_history_days * MS_PER_DAY
        series = await _load(session, target, start, end, step)
    horizon = max(1, -(-horizon_ms // step))
    frame = None
    if weather is not None:
        frame = weather.frame(target.location, start, end + horizon * step)
    return await asyncio.to_thread(
        forecast_series,
        series,
        horizon=horizon,
        step_ms=step,
        timezone=target.timezone,
        country=holiday_country(target.timezone),
        weather=frame,
    )


def _points(forecast: Forecast) -> list[list[float]]:
    ts = forecast.index.as_unit("ms").asi8
    columns = np.column_stack(
        [forecast.yhat, forecast.lo80, forecast.hi80, forecast.lo95, forecast.hi95]
    )
    return [
        [int(t), *(round(float(v), 4) for v in row)] for t, row in zip(ts, columns, strict=True)
    ]


async def store_forecast(
    *, session: AsyncSession, target: Target, forecast: Forecast, issued_ms: int
) -> StoredForecast:
    """Save ``forecast`` (flushes)."""
    row = StoredForecast(
        site_id=target.site_id,
        asset_id=target.asset_id,
        metric=METRIC,
        issued_ms=issued_ms,
        start_ms=int(forecast.index[0].value // 1_000_000),
        step_ms=forecast.step_ms,
        horizon=len(forecast.index),
        seasonality=list(forecast.seasonality),
        regressors=list(forecast.regressors),
        calibration_errors=forecast.calibration_errors,
        points=_points(forecast),
    )
    session.add(row)
    await session.flush()
    return row


async def latest_stored(
    *, session: AsyncSession, target: Target, issued_after_ms: int
) -> StoredForecast | None:
    """The newest stored forecast of ``target`` issued after ``issued_after_ms``."""
    asset_match = (
        StoredForecast.asset_id.is_(None)
        if target.asset_id is None
        else StoredForecast.asset_id == target.asset_id
    )
    query = (
        select(StoredForecast)
        .where(
            StoredForecast.site_id == target.site_id,
            asset_match,
            StoredForecast.metric == METRIC,
            StoredForecast.issued_ms > issued_after_ms,
        )
        .order_by(StoredForecast.issued_ms.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def delete_old_forecasts(*, session: AsyncSession, before_ms: int) -> int:
    """Delete forecasts issued before ``before_ms``; returns how many."""
    result = await session.execute(
        delete(StoredForecast).where(StoredForecast.issued_ms < before_ms)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _out(
    target: Target,
    *,
    issued_ms: int,
    step_ms: int,
    source: str,
    seasonality: list[str],
    regressors: list[str],
    calibrated: bool,
    points: list[list[float]],
) -> ForecastOut:
    return ForecastOut(
        site_id=target.site_id,
        asset_id=target.asset_id,
        metric=METRIC,
        issued_at=iso(issued_ms),
        step_s=step_ms // 1000,
        horizon=len(points),
        source=source,
        seasonality=seasonality,
        regressors=regressors,
        calibrated=calibrated,
        points=[
            ForecastPoint(ts=iso(int(p[0])), yhat=p[1], lo80=p[2], hi80=p[3], lo95=p[4], hi95=p[5])
            for p in points
        ],
    )


def _from_stored(
    target: Target, stored: StoredForecast, now_ms: int, horizon_ms: int
) -> ForecastOut | None:
    """The part of ``stored`` from the interval holding now over ``horizon_ms``; None when the
    stored forecast does not cover it."""
    step = stored.step_ms
    first = now_ms - now_ms % step
    last = first + (max(1, -(-horizon_ms // step)) - 1) * step
    points = [p for p in stored.points if first <= p[0] <= last]
    if not points or points[0][0] != first or points[-1][0] != last:
        return None
    return _out(
        target,
        issued_ms=stored.issued_ms,
        step_ms=step,
        source="stored",
        seasonality=list(stored.seasonality),
        regressors=list(stored.regressors),
        calibrated=stored.calibration_errors > 0,
        points=points,
    )


async def get_forecast(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    horizon: str,
    now_ms: int,
    site_id: int | None = None,
    asset_id: int | None = None,
    weather: WeatherSource | None = None,
) -> ForecastOut:
    """A fresh stored forecast when there is one covering the horizon, else a new one."""
    if horizon not in HORIZONS:
        raise ValidationFailed(f"horizon must be one of {', '.join(HORIZONS)}")
    horizon_ms = HORIZONS[horizon]
    target = await resolve_target(
        session=session, principal=principal, site_id=site_id, asset_id=asset_id
    )
    stored = await latest_stored(
        session=session, target=target, issued_after_ms=now_ms - settings.forecast_fresh_s * 1000
    )
    if stored is not None:
        served = _from_stored(target, stored, now_ms, horizon_ms)
        if served is not None:
            return served
    forecast = await compute_forecast(
        session=session,
        target=target,
        horizon_ms=horizon_ms,
        now_ms=now_ms,
        settings=settings,
        weather=weather,
    )
    return _out(
        target,
        issued_ms=now_ms,
        step_ms=forecast.step_ms,
        source="computed",
        seasonality=list(forecast.seasonality),
        regressors=list(forecast.regressors),
        calibrated=forecast.calibration_errors > 0,
        points=_points(forecast),
    )


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
