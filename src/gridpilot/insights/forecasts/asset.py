"""An asset's power forecast from the interval holding now: its plan for storage (the flex
schedule), physics for a generator with a model (``generation.py``), else a statistical fit on
its recent history with weather regressors (``sensor_weather.py`` or the adapter)."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import holiday_country, regular_index
from gridpilot.analytics.forecast import Forecast, forecast_series
from gridpilot.analytics.forecast_bounds import zero_forecast
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY
from gridpilot.insights.data import load_series
from gridpilot.insights.forecasts.forecast_store import METRIC
from gridpilot.insights.forecasts.generation import generator_forecast
from gridpilot.insights.forecasts.sensor_weather import regressors
from gridpilot.insights.forecasts.site import native_step_ms
from gridpilot.insights.forecasts.storage_plans import planned_storage_kw
from gridpilot.insights.forecasts.target import Target
from gridpilot.insights.forecasts.weather import WeatherSource

STEP_MS = 15 * 60_000
#: ``regressors`` of a storage forecast taken from the flex schedule.
SCHEDULE_INPUT = "flex_schedule"


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
    storage (``answer.STORAGE_NOTE``); weather regressors from the site's sensors
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
        return await _planned(session, target.site_id, target.asset_id, end, horizon_ms), None
    if target.physical is not None:
        physical = await generator_forecast(
            session=session, generator=target.physical, end_ms=end,
            horizon=max(1, -(-horizon_ms // step)), step_ms=step, weather=weather,
            location=target.location,
        )  # fmt: skip
        return physical, None
    return await _statistical(session, target, horizon_ms, now_ms, settings, weather)


async def _planned(
    session: AsyncSession, site_id: int, asset_id: int, end_ms: int, horizon_ms: int
) -> Forecast:
    """A storage asset's plan (its site's latest flex schedule; 0 without one), exact."""
    step = STEP_MS
    index = regular_index(pd.Timestamp(end_ms, unit="ms", tz="UTC"), -(-horizon_ms // step), step)
    planned = await planned_storage_kw(
        session=session, site_id=site_id, asset_id=asset_id, index=index
    )
    if planned is None:
        return zero_forecast(index, step)
    kw = np.nan_to_num(planned, nan=0.0)
    return Forecast(index, kw, kw, kw, kw, kw, step, (), (SCHEDULE_INPUT,), 0)


async def _statistical(
    session: AsyncSession,
    target: Target,
    horizon_ms: int,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None,
) -> tuple[Forecast, str | None]:
    """Fitted on the asset's history at 15 min, or at its native step when coarser, with the
    weather regressors; and where the weather came from."""
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
