"""Weather regressors from a site's own sensors, the horizon from the weather forecast.

A site with assets measuring ``outdoor_temperature_c`` or ``irradiance_wm2`` (an HVAC's
outdoor sensor, a weather station, a PV plant's pyranometer) gets that weather as regressors:
the history measured at the site (the mean of its sensors), the horizon from the configured
weather-forecast adapter (``weather.py``: a file, a provider), else persisted: each time of
day's mean over the last ``PERSIST_DAYS`` days of the sensors (said in ``horizon_from``). A
regressor the site does not measure comes from the adapter over the whole period, as before.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.metrics import find_metric_ref
from gridpilot.assets.models import Asset
from gridpilot.insights.data import load_series
from gridpilot.insights.forecasts.weather import COLUMNS, SiteLocation, WeatherSource
from gridpilot.telemetry.queries import assets_with_data

#: Sensor metric -> the regressor's column.
SENSOR_METRICS = {"outdoor_temperature_c": "temperature_c", "irradiance_wm2": "irradiance_wm2"}
#: Days whose mean profile is persisted over the horizon when there is no weather forecast.
PERSIST_DAYS = 7
FORECAST, PERSISTED, ADAPTER = "forecast", "persisted", "adapter"


@dataclass
class Regressors:
    """The regressors' frame over history and horizon (None: none) and where each came from:
    ``sensors`` (column -> asset ids measuring it) and ``horizon_from`` (column -> ``forecast``
    or ``persisted`` for a sensor's column, ``adapter`` for a column from the adapter alone)."""

    frame: pd.DataFrame | None = None
    sensors: dict[str, list[int]] = field(default_factory=dict)
    horizon_from: dict[str, str] = field(default_factory=dict)

    def note(self) -> str | None:
        """Where the weather came from, for the answer's ``note`` (None without sensors)."""
        parts = []
        for column, assets in self.sensors.items():
            horizon = self.horizon_from.get(column)
            ahead = (
                "the horizon from the weather forecast"
                if horizon == FORECAST
                else f"the horizon persisted from the last {PERSIST_DAYS} days' profile (no "
                "weather forecast configured)"
            )
            ids = ", ".join(str(a) for a in assets)
            parts.append(f"{column} measured by the site's sensors (asset {ids}), {ahead}")
        return "; ".join(parts) or None


async def site_sensors(
    *, session: AsyncSession, site_id: int, start_ms: int, end_ms: int
) -> dict[str, list[int]]:
    """Column -> the site's assets with readings of its sensor metric in the period."""
    ids = list((await session.scalars(select(Asset.id).where(Asset.site_id == site_id))).all())
    found: dict[str, list[int]] = {}
    for metric, column in SENSOR_METRICS.items():
        ref = await find_metric_ref(session=session, key=metric)
        if ref is None or not ids:
            continue
        having = await assets_with_data(
            session=session, asset_ids=ids, metric_id=ref.id, start_ms=start_ms, end_ms=end_ms
        )
        if having:
            found[column] = sorted(having)
    return found


def persisted(history: pd.Series, future: pd.DatetimeIndex, step_ms: int) -> np.ndarray:
    """Each future time's value: the mean at its time of day (UTC) over the last
    ``PERSIST_DAYS`` days of ``history`` (NaN where that time of day has no data)."""
    per_day = 86_400_000 // step_ms
    recent = history.iloc[-PERSIST_DAYS * per_day :]
    slot = (pd.DatetimeIndex(recent.index).asi8 // 1_000_000 % 86_400_000) // step_ms
    profile = recent.groupby(slot).mean()
    wanted = (future.asi8 // 1_000_000 % 86_400_000) // step_ms
    return profile.reindex(wanted).to_numpy(dtype="float64")


async def sensor_mean(
    *,
    session: AsyncSession,
    asset_ids: list[int],
    metric: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
) -> pd.Series:
    """The mean of the sensors' readings of ``metric`` per ``step_ms`` of ``[start_ms, end_ms)``
    (NaN where none has one); also the DR ``weather_regression`` baseline's temperature."""
    columns = [
        await load_series(
            session=session,
            asset_id=asset_id,
            metric=metric,
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
        )
        for asset_id in asset_ids
    ]
    return pd.concat(columns, axis=1).mean(axis=1)


async def regressors(
    *,
    session: AsyncSession,
    site_id: int,
    location: SiteLocation,
    start_ms: int,
    end_ms: int,
    horizon_end_ms: int,
    step_ms: int,
    weather: WeatherSource | None,
) -> Regressors:
    """Regressors over ``[start_ms, horizon_end_ms)``: history ``[start_ms, end_ms)``, the
    horizon after it (see the module doc)."""
    adapter = None
    if weather is not None:
        adapter = await asyncio.to_thread(weather.frame, location, start_ms, horizon_end_ms)
    sensors = await site_sensors(session=session, site_id=site_id, start_ms=start_ms, end_ms=end_ms)
    if not sensors:
        return Regressors(
            adapter, {}, {c: ADAPTER for c in COLUMNS if adapter is not None and c in adapter}
        )
    start = start_ms - start_ms % step_ms
    index = pd.date_range(
        pd.Timestamp(start, unit="ms", tz="UTC"), pd.Timestamp(horizon_end_ms, unit="ms", tz="UTC"),
        freq=pd.Timedelta(milliseconds=step_ms), inclusive="left",
    )  # fmt: skip
    future = index[index >= pd.Timestamp(end_ms, unit="ms", tz="UTC")]
    frame = pd.DataFrame(index=index)
    result = Regressors(frame, sensors)
    reverse = {column: metric for metric, column in SENSOR_METRICS.items()}
    for column, assets in sensors.items():
        history = await sensor_mean(
            session=session, asset_ids=assets, metric=reverse[column],
            start_ms=start, end_ms=end_ms, step_ms=step_ms,
        )  # fmt: skip
        values = pd.Series(np.nan, index=index)
        values.loc[history.index.intersection(index)] = history
        ahead = _from_adapter(adapter, column, future)
        result.horizon_from[column] = FORECAST if ahead is not None else PERSISTED
        values.loc[future] = ahead if ahead is not None else persisted(history, future, step_ms)
        frame[column] = values.to_numpy()
    for column in COLUMNS:  # what the site does not measure, from the adapter
        if column not in frame and adapter is not None and column in adapter:
            frame[column] = _interpolated(adapter[column], index)
            result.horizon_from[column] = ADAPTER
    return result


def _interpolated(column: pd.Series, index: pd.DatetimeIndex) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").dropna().sort_index()
    if values.empty:
        return np.full(len(index), np.nan)
    x = pd.DatetimeIndex(values.index).asi8.astype("float64")
    return np.interp(index.asi8.astype("float64"), x, values.to_numpy(), left=np.nan, right=np.nan)


def _from_adapter(
    adapter: pd.DataFrame | None, column: str, future: pd.DatetimeIndex
) -> np.ndarray | None:
    """The adapter's ``column`` over the whole horizon, or None when it misses any of it."""
    if adapter is None or column not in adapter or not len(future):
        return None
    values = _interpolated(adapter[column], future)
    return None if np.isnan(values).any() else values
