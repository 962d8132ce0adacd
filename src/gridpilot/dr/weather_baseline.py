"""The ``weather_regression`` baseline of an event: the site's load on its own outdoor temperature.

The pure fit is ``analytics.cbl.weather`` (OLS per local time of day on heating and cooling
degrees, ISO 50001 baseline code, ASHRAE Guideline 14 statistics). The temperature is what the
site's own sensors measured (assets reporting ``outdoor_temperature_c``: an HVAC's outdoor
sensor, a weather station; the mean of them per 15 min), over the look-back and the event.

Ex post, as regression baselines are settled (LBNL-63728; CAISO ESDER 2 weather matching): an
event announced ahead has no measured temperature yet, so its baseline is provisional, with
each missing interval's temperature persisted from the last 7 days' mean at that time of day
(``insights.forecasts.sensor_weather.persisted``); the record's ``adjustment`` says
``{"kind": "measured_temperature", "applied": null}``. The DR loop recomputes it at the start
and once the event has ended (``service.refresh_baseline``), and the event is judged on the
baseline from the measured temperature (``applied: true``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.cbl import CblResult, NotEnoughDays, weather_baseline
from gridpilot.assets.models import Site
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_MIN
from gridpilot.insights.forecasts.sensor_weather import persisted, sensor_mean, site_sensors

WEATHER = "weather_regression"
#: Days of history the regression is fitted on (eligible days of the event's pool in them).
LOOKBACK_DAYS = 60
#: Fewest eligible days for a fit.
MIN_DAYS = 10
STEP_MS = 15 * MS_PER_MIN
METRIC = "outdoor_temperature_c"


async def site_temperature_c(
    *, session: AsyncSession, site: Site, start_ms: int, end_ms: int
) -> pd.Series:
    """The site's measured outdoor temperature [degC] per 15 min of ``[start_ms, end_ms)``
    (mean of its sensors; NaN where none reported). ``ValidationFailed`` without a sensor."""
    sensors = await site_sensors(session=session, site_id=site.id, start_ms=start_ms, end_ms=end_ms)
    assets = sensors.get("temperature_c", [])
    if not assets:
        raise ValidationFailed(
            f"the {WEATHER} baseline needs the site's outdoor temperature: no asset of site "
            f"{site.id} reported {METRIC} in the {LOOKBACK_DAYS} days before the event",
            details={"method": WEATHER, "metric": METRIC},
        )
    mean = await sensor_mean(
        session=session, asset_ids=assets, metric=METRIC,
        start_ms=start_ms, end_ms=end_ms, step_ms=STEP_MS,
    )  # fmt: skip
    return mean.rename("temperature_c")


def with_event_temperature(
    temperature: pd.Series, start_ms: int, end_ms: int
) -> tuple[pd.Series, int]:
    """``temperature`` with each unmeasured interval of the event persisted from the last
    days' profile; (series, how many intervals were persisted)."""
    start = pd.Timestamp(start_ms, unit="ms", tz="UTC")
    event = pd.date_range(
        start, pd.Timestamp(end_ms, unit="ms", tz="UTC"),
        freq=pd.Timedelta(milliseconds=STEP_MS), inclusive="left",
    )  # fmt: skip
    full = temperature.reindex(temperature.index.union(event))
    missing = event[~np.isfinite(full.reindex(event).to_numpy(dtype="float64"))]
    if len(missing):
        history = full[full.index < start].dropna()
        full.loc[missing] = persisted(history, missing, STEP_MS)
    return full, len(missing)


async def weather_event_baseline(
    *,
    session: AsyncSession,
    site: Site,
    history_kw: pd.Series,
    start_ms: int,
    end_ms: int,
    excluded: Collection[dt.date],
    holidays: Collection[dt.date],
) -> CblResult:
    """The ``weather_regression`` baseline [kW] of an event of ``site`` over
    ``[start_ms, end_ms)`` from ``history_kw`` (the site's consumption before the event)."""
    first_ms = int(history_kw.index[0].value // 1_000_000)
    measured = await site_temperature_c(
        session=session, site=site, start_ms=first_ms, end_ms=end_ms
    )
    temperature, persisted_n = with_event_temperature(measured, start_ms, end_ms)
    try:
        result = weather_baseline(
            history_kw, temperature,
            event_start=pd.Timestamp(start_ms, unit="ms", tz="UTC"),
            event_end=pd.Timestamp(end_ms, unit="ms", tz="UTC"),
            timezone=site.timezone, excluded_dates=excluded, holidays=holidays,
            lookback_days=LOOKBACK_DAYS, min_days=MIN_DAYS,
        )  # fmt: skip
    except NotEnoughDays as exc:
        raise NotEnoughDays(
            f"not enough history for the {WEATHER} baseline: {exc.message}",
            details={"method": WEATHER, "needed": MIN_DAYS},
        ) from None
    adjustment = {"kind": "measured_temperature", "applied": True if not persisted_n else None}
    if persisted_n:
        adjustment["note"] = (
            f"{persisted_n} intervals' temperature not measured yet: persisted from the last "
            "7 days' profile until the event has ended"
        )
    return CblResult(
        method=result.method, parameters=result.parameters, baseline_kw=result.baseline_kw,
        unadjusted_kw=result.unadjusted_kw, source=result.source,
        selected_days=result.selected_days, eligible_days=result.eligible_days,
        skipped_days=result.skipped_days, adjustment=adjustment,
    )  # fmt: skip


def history_start_ms(start_ms: int) -> int:
    """Where the history of a weather baseline begins (``LOOKBACK_DAYS`` + 2 days before)."""
    first = start_ms - (LOOKBACK_DAYS + 2) * MS_PER_DAY
    return first - first % STEP_MS
