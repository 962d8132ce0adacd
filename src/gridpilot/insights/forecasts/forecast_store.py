"""Stored forecasts: save, find the newest fresh one, cut it to a horizon, delete old ones.

A row holds an asset's ``power_kw`` forecast (``metric`` "power_kw") or a site's consumption or
generation forecast (``metric`` from ``STORED_METRIC``: the quantity, without a migration);
the net is not stored, it is derived from the two of one issue when served.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.forecast import Forecast
from gridpilot.insights.forecasts.models import StoredForecast

METRIC = "power_kw"
#: The ``metric`` label of a stored site forecast, by quantity (net is not stored).
STORED_METRIC = {"consumption": "site_consumption_kw", "generation": "site_generation_kw"}


def stored_metric(asset_id: int | None, quantity: str | None) -> str:
    """The ``metric`` label of a stored forecast: ``power_kw`` for an asset, ``STORED_METRIC``
    of the quantity for a site."""
    if asset_id is not None or quantity is None:
        return METRIC
    return STORED_METRIC[quantity]


def points_of(forecast: Forecast) -> list[list[float]]:
    ts = forecast.index.as_unit("ms").asi8
    columns = np.column_stack(
        [forecast.yhat, forecast.lo80, forecast.hi80, forecast.lo95, forecast.hi95]
    )
    return [
        [int(t), *(round(float(v), 4) for v in row)] for t, row in zip(ts, columns, strict=True)
    ]


async def store_forecast(
    *,
    session: AsyncSession,
    site_id: int,
    asset_id: int | None,
    forecast: Forecast,
    issued_ms: int,
    quantity: str | None = None,
) -> StoredForecast:
    """Save ``forecast`` of an asset, or of a site's ``quantity`` (flushes)."""
    row = StoredForecast(
        site_id=site_id,
        asset_id=asset_id,
        metric=stored_metric(asset_id, quantity),
        issued_ms=issued_ms,
        start_ms=int(forecast.index[0].value // 1_000_000),
        step_ms=forecast.step_ms,
        horizon=len(forecast.index),
        seasonality=list(forecast.seasonality),
        regressors=list(forecast.regressors),
        calibration_errors=forecast.calibration_errors,
        points=points_of(forecast),
    )
    session.add(row)
    await session.flush()
    return row


async def latest_stored(
    *,
    session: AsyncSession,
    site_id: int,
    asset_id: int | None,
    issued_after_ms: int,
    quantity: str | None = None,
) -> StoredForecast | None:
    """The newest stored forecast of an asset (or a site's ``quantity``) issued after
    ``issued_after_ms``."""
    asset_match = (
        StoredForecast.asset_id.is_(None)
        if asset_id is None
        else StoredForecast.asset_id == asset_id
    )
    query = (
        select(StoredForecast)
        .where(
            StoredForecast.site_id == site_id,
            asset_match,
            StoredForecast.metric == stored_metric(asset_id, quantity),
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


def forecast_of(row: StoredForecast) -> Forecast:
    """A stored forecast as a ``Forecast``."""
    values = np.asarray(row.points, dtype="float64").reshape(-1, 6)
    index = pd.DatetimeIndex(pd.to_datetime(values[:, 0].astype("int64"), unit="ms", utc=True))
    return Forecast(
        index=index,
        yhat=values[:, 1],
        lo80=values[:, 2],
        hi80=values[:, 3],
        lo95=values[:, 4],
        hi95=values[:, 5],
        step_ms=row.step_ms,
        seasonality=tuple(row.seasonality),
        regressors=tuple(row.regressors),
        calibration_errors=row.calibration_errors,
    )


def window(forecast: Forecast, now_ms: int, horizon_ms: int) -> Forecast | None:
    """The part of ``forecast`` from the interval holding ``now_ms`` over ``horizon_ms``; None
    when it does not cover it."""
    step = forecast.step_ms
    first = now_ms - now_ms % step
    count = max(1, -(-horizon_ms // step))
    ts = forecast.index.as_unit("ms").asi8
    at = np.flatnonzero(ts == first)
    if len(at) == 0 or at[0] + count > len(ts):
        return None
    part = slice(int(at[0]), int(at[0]) + count)
    bands = {b: getattr(forecast, b)[part] for b in ("yhat", "lo80", "hi80", "lo95", "hi95")}
    return replace(forecast, index=forecast.index[part], **bands)
