"""The customer baseline of an event from the site energy balance and the stored forecasts.

History: the site's consumption per 15-min interval (``balance.service.site_balances``, the
``consumption`` term: import - export + generation + discharge - charge) [kWh / 0.25 h = kW],
from ``lookback + 2`` days before the event up to its start, read in periods of 28 days (a
15-min balance spans at most 31). It goes into the pure ``analytics.cbl.customer_baseline`` with
the site's time zone and public holidays (the site's ``country``, else its time zone's) and the
days of the site's earlier events excluded.

``forecast``: the newest stored day-ahead consumption forecast of the site
(``insights.forecasts``), which must have been issued before the event starts
(``analytics.cbl.forecast_baseline``).

``weather_regression``: the site's load regressed on its own measured outdoor temperature,
settled ex post (``dr.weather_baseline``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import holiday_country
from gridpilot.analytics.cbl import (
    PRESETS,
    CblMethod,
    CblResult,
    NotEnoughDays,
    customer_baseline,
    forecast_baseline,
    preset,
)
from gridpilot.analytics.cbl.days import WEEKDAY, day_pool, holidays_between
from gridpilot.analytics.site_balance import Source
from gridpilot.assets.models import Site
from gridpilot.balance.service import site_balances
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, MS_PER_MIN
from gridpilot.dr.weather_baseline import WEATHER, history_start_ms, weather_event_baseline
from gridpilot.insights.forecasts.forecast_store import forecast_of, latest_stored

STEP_MS = 15 * MS_PER_MIN
#: The method of an event when none is asked for: all 10 of the last 10 weekdays (4 of 4
#: weekend days), the load-point adjustment capped at +-20 % (docs/demand-response.md).
DEFAULT_METHOD = "caiso_10in10"
FORECAST = "forecast"
METHODS: tuple[str, ...] = (*sorted(PRESETS), FORECAST, WEATHER)
#: How long a balance call reads (a 15-min balance spans at most 31 days).
READ_CHUNK_MS = 28 * MS_PER_DAY
#: A stored forecast used as a baseline was issued at most this long before the event.
FORECAST_MAX_AGE_MS = 2 * MS_PER_DAY


def check_method(name: str) -> str:
    """``name`` if it is a known method; ``ValidationFailed`` listing them otherwise."""
    if name not in METHODS:
        raise ValidationFailed(f"unknown baseline method {name!r}; known: {', '.join(METHODS)}")
    return name


def site_country(site: Site) -> str | None:
    """The country whose public holidays count for ``site``."""
    return site.country or holiday_country(site.timezone)


async def consumption_kw(
    *, session: AsyncSession, site_id: int, start_ms: int, end_ms: int, now_ms: int | None = None
) -> pd.Series:
    """The site's consumption [kW] per 15-min interval of ``[start_ms, end_ms)`` (aligned; NaN
    where the balance does not know it, or where the site has nothing that consumes), UTC
    index of interval starts."""
    stamps: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for lo in range(start_ms, end_ms, READ_CHUNK_MS):
        hi = min(lo + READ_CHUNK_MS, end_ms)
        found = await site_balances(
            session=session, site_ids=[site_id], start_ms=lo, end_ms=hi, interval="15m",
            now_ms=now_ms,
        )  # fmt: skip
        balance = found[site_id]
        kw = balance.balance.values["consumption"] * (MS_PER_HOUR / balance.step_ms)
        absent = balance.balance.sources["consumption"] == Source.ABSENT.value
        stamps.append(np.asarray(balance.edges[:-1], dtype="int64"))
        values.append(np.where(absent, np.nan, kw))  # nothing on site consumes: no history
    index = pd.to_datetime(np.concatenate(stamps), unit="ms", utc=True)
    return pd.Series(np.concatenate(values), index=index, name="consumption_kw")


def _not_enough(
    error: NotEnoughDays, method: CblMethod, event_day: dt.date, holidays: Collection[dt.date]
) -> NotEnoughDays:
    pool = day_pool(event_day, holidays, like_days=method.like_days)
    rule = method.weekday if pool == WEEKDAY else method.weekend
    found = len((error.details or {}).get("eligible", []))
    return NotEnoughDays(
        f"not enough history for the {method.name} baseline: {found} eligible {pool} days "
        f"found, {rule.needed} needed ({error.message})",
        details={"method": method.name, "pool": pool, "found": found, "needed": rule.needed},
    )


async def day_matching_baseline(
    *,
    session: AsyncSession,
    site: Site,
    start_ms: int,
    end_ms: int,
    method: str,
    excluded: Collection[dt.date],
    now_ms: int | None = None,
) -> CblResult:
    """The ``method`` preset's baseline of an event of ``site`` (see the module docstring).
    ``NotEnoughDays`` (422) says how many eligible days were found and how many are needed."""
    chosen = preset(method)
    lookback = max(chosen.weekday.lookback_days, chosen.weekend.lookback_days)
    history_start = start_ms - (lookback + chosen.skip_days + 2) * MS_PER_DAY
    history_start -= history_start % STEP_MS
    history = await consumption_kw(
        session=session, site_id=site.id, start_ms=history_start, end_ms=start_ms, now_ms=now_ms
    )
    zone = site.timezone
    event_day = pd.Timestamp(start_ms, unit="ms", tz="UTC").tz_convert(zone).date()
    first_day = history.index[0].tz_convert(zone).date()
    holidays = holidays_between(site_country(site), first_day, event_day)
    if history.notna().sum() < 2:
        raise NotEnoughDays(
            f"not enough history for the {method} baseline: no metered consumption in the "
            f"{lookback} days before the event",
            details={"method": method, "found": 0, "needed": chosen.weekday.needed},
        )
    try:
        return customer_baseline(
            history,
            event_start=pd.Timestamp(start_ms, unit="ms", tz="UTC"),
            event_end=pd.Timestamp(end_ms, unit="ms", tz="UTC"),
            timezone=zone, method=chosen, excluded_dates=excluded, holidays=holidays,
        )  # fmt: skip
    except NotEnoughDays as exc:
        raise _not_enough(exc, chosen, event_day, holidays) from None


async def weather_regression_baseline(
    *,
    session: AsyncSession,
    site: Site,
    start_ms: int,
    end_ms: int,
    excluded: Collection[dt.date],
    now_ms: int | None = None,
) -> CblResult:
    """The ``weather_regression`` baseline of an event of ``site`` (``dr.weather_baseline``)
    from its consumption over the look-back."""
    history = await consumption_kw(
        session=session, site_id=site.id, start_ms=history_start_ms(start_ms), end_ms=start_ms,
        now_ms=now_ms,
    )  # fmt: skip
    if history.notna().sum() < 2:
        raise NotEnoughDays(
            f"not enough history for the {WEATHER} baseline: no metered consumption before "
            "the event",
            details={"method": WEATHER, "found": 0},
        )
    zone = site.timezone
    event_day = pd.Timestamp(start_ms, unit="ms", tz="UTC").tz_convert(zone).date()
    first_day = history.index[0].tz_convert(zone).date()
    return await weather_event_baseline(
        session=session, site=site, history_kw=history, start_ms=start_ms, end_ms=end_ms,
        excluded=excluded, holidays=holidays_between(site_country(site), first_day, event_day),
    )  # fmt: skip


async def stored_forecast_baseline(
    *, session: AsyncSession, site: Site, start_ms: int, end_ms: int
) -> CblResult:
    """The newest stored consumption forecast of ``site`` as the baseline (issued within
    ``FORECAST_MAX_AGE_MS`` before the event start, covering the event)."""
    row = await latest_stored(
        session=session, site_id=site.id, asset_id=None,
        issued_after_ms=start_ms - FORECAST_MAX_AGE_MS, quantity="consumption",
    )  # fmt: skip
    if row is None:
        raise ValidationFailed(
            f"no stored consumption forecast of site {site.id} issued in the 2 days before the "
            "event: the forecast baseline needs one"
        )
    forecast = forecast_of(row)
    series = pd.Series(forecast.yhat, index=forecast.index)
    if forecast.step_ms != STEP_MS:  # an hourly forecast holds over its quarters
        quarters = pd.date_range(
            series.index[0], series.index[-1] + pd.Timedelta(milliseconds=forecast.step_ms),
            freq=pd.Timedelta(milliseconds=STEP_MS), inclusive="left",
        )  # fmt: skip
        series = series.reindex(quarters, method="ffill")
    return forecast_baseline(
        series,
        event_start=pd.Timestamp(start_ms, unit="ms", tz="UTC"),
        event_end=pd.Timestamp(end_ms, unit="ms", tz="UTC"),
        timezone=site.timezone, step_minutes=STEP_MS // MS_PER_MIN,
        issued_at=pd.Timestamp(row.issued_ms, unit="ms", tz="UTC"), model="insights.forecasts",
    )  # fmt: skip


async def event_baseline(
    *,
    session: AsyncSession,
    site: Site,
    start_ms: int,
    end_ms: int,
    method: str,
    excluded: Collection[dt.date] = (),
    now_ms: int | None = None,
) -> CblResult:
    """The baseline of an event of ``site`` over ``[start_ms, end_ms)`` by ``method``."""
    check_method(method)
    if method == FORECAST:
        return await stored_forecast_baseline(
            session=session, site=site, start_ms=start_ms, end_ms=end_ms
        )
    if method == WEATHER:
        return await weather_regression_baseline(
            session=session, site=site, start_ms=start_ms, end_ms=end_ms, excluded=excluded,
            now_ms=now_ms,
        )  # fmt: skip
    return await day_matching_baseline(
        session=session, site=site, start_ms=start_ms, end_ms=end_ms, method=method,
        excluded=excluded, now_ms=now_ms,
    )  # fmt: skip
