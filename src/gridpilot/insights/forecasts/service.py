"""Serving forecasts of a site's consumption, generation or net, or of an asset's power: a
fresh stored one when it covers the horizon, else one computed now.

A site's quantities come from its energy balance (``site.py``); an asset's forecast is of its
own ``power_kw`` (``asset.py``). The history is the last ``forecast_history_days`` at 15-min
resolution, or at the series' native resolution when it is coarser (hourly meters). The first
point is the interval that contains "now" (not yet complete). Stored site forecasts carry their
quantity in ``metric`` (``STORED_METRIC``); the net is served from the consumption and
generation of one issue. What is forecast: ``target.py``; the answer: ``answer.py``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.forecast import Forecast
from gridpilot.analytics.forecast_bounds import net_forecast
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR
from gridpilot.insights.forecasts.answer import answer
from gridpilot.insights.forecasts.asset import forecast_with_note
from gridpilot.insights.forecasts.forecast_store import forecast_of, latest_stored, window
from gridpilot.insights.forecasts.schemas import ForecastOut
from gridpilot.insights.forecasts.site import BASIC, QUANTITIES, forecast_site, generation_fleet
from gridpilot.insights.forecasts.target import Target, resolve_target
from gridpilot.insights.forecasts.weather import WeatherSource

#: Horizons the API offers, in ms.
HORIZONS = {"1h": MS_PER_HOUR, "24h": MS_PER_DAY, "7d": 7 * MS_PER_DAY}


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
        return answer(target, served, quantity=None, issued_ms=stored.issued_ms, source="stored")
    forecast, note = await forecast_with_note(
        session=session,
        target=target,
        horizon_ms=horizon_ms,
        now_ms=now_ms,
        settings=settings,
        weather=weather,
    )
    return answer(target, forecast, quantity=None, issued_ms=now_ms, source="computed", note=note)


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
    return answer(
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
