"""The scheduled forecast job: every ``forecast_interval_s`` (15 min), forecast the consumption
and the generation of every site with data day-ahead (``site.py``), store both and publish
``forecast.stored`` with the peak of their net; delete forecasts older than
``forecast_keep_days``.

Each site is forecast in its own transaction; the event is published after the commit. Of
several processes sharing the database, one runs each round (``db.schedules``). A site without
enough history of either quantity is skipped (no error); any other failure is logged and the
job goes on with the next site.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.analytics.forecast import Forecast
from gridpilot.analytics.forecast_bounds import net_forecast
from gridpilot.assets.service import list_sites
from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.db.schedules import claimed_periodic
from gridpilot.insights.data import SYSTEM
from gridpilot.insights.forecasts.answer import peak_of
from gridpilot.insights.forecasts.forecast_store import (
    METRIC,
    delete_old_forecasts,
    store_forecast,
    window,
)
from gridpilot.insights.forecasts.service import HORIZONS
from gridpilot.insights.forecasts.site import BASIC, forecast_site
from gridpilot.insights.forecasts.target import site_target
from gridpilot.insights.forecasts.weather import WeatherSource, make_weather_source

log = logging.getLogger(__name__)

_FIRST_RUN_DELAY_S = 30.0


class ForecastRuntime:
    """Runs the forecast job in the background of one process (``stop()`` ends it)."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        weather: WeatherSource | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.bus = bus
        self.weather = weather
        interval = settings.forecast_interval_s
        self.job = claimed_periodic(
            sessions, "forecasts", interval, self.run_once,
            first_delay_s=min(interval, _FIRST_RUN_DELAY_S),
        )  # fmt: skip

    def start(self) -> None:
        self.job.start()

    async def stop(self) -> None:
        await self.job.stop()

    async def run_once(self, at_ms: int | None = None) -> list[dict[str, Any]]:
        """Forecast every site with enough data; returns the published events' payloads."""
        issued = at_ms if at_ms is not None else now_ms()
        async with self.sessions() as session:
            site_ids = [
                s.id for s in await list_sites(session=session, principal=SYSTEM, limit=10**9)
            ]
        events = []
        for site_id in site_ids:
            try:
                event = await self._forecast_site(site_id, issued)
            except (ValidationFailed, NotFound) as exc:
                log.debug("no forecast for site %d: %s", site_id, exc)
                continue
            except Exception:
                log.exception("forecast of site %d failed", site_id)
                continue
            await self.bus.publish(catalogue.FORECAST_STORED.name, event)
            events.append(event)
        keep_ms = self.settings.forecast_keep_days * MS_PER_DAY
        async with self.sessions() as session, session.begin():
            await delete_old_forecasts(session=session, before_ms=issued - keep_ms)
        return events

    async def _forecast_site(self, site_id: int, issued_ms: int) -> dict[str, Any]:
        # day-ahead plus the freshness window, so the stored forecast still covers a full day
        # for a request made until it is no longer fresh
        horizon_ms = HORIZONS["24h"] + self.settings.forecast_fresh_s * 1000
        async with self.sessions() as session:  # read and compute outside a write transaction
            target = await site_target(session=session, site_id=site_id)
            made = await forecast_site(
                session=session, site_id=site_id, timezone=target.timezone,
                location=target.location, quantities=BASIC, horizon_ms=horizon_ms,
                now_ms=issued_ms, settings=self.settings, weather=self.weather,
            )  # fmt: skip
        if not made.forecasts:
            raise next(iter(made.errors.values()))
        async with self.sessions() as session, session.begin():
            for quantity, forecast in made.forecasts.items():
                await store_forecast(
                    session=session, site_id=site_id, asset_id=None, forecast=forecast,
                    issued_ms=issued_ms, quantity=quantity,
                )  # fmt: skip
        return event_of(site_id, issued_ms, made.forecasts)


def event_of(site_id: int, issued_ms: int, forecasts: dict[str, Forecast]) -> dict[str, Any]:
    """The ``forecast.stored`` payload. ``horizon`` counts the points stored (a day plus the
    freshness window); ``peak`` is the day ahead's, the 24 h from the interval holding
    ``issued_ms`` that the API serves, of the net forecast (the grid exchange without storage),
    or of consumption when generation could not be forecast, or of generation."""
    if "consumption" in forecasts and "generation" in forecasts:
        quantity = "net"
        forecast = net_forecast(forecasts["consumption"], forecasts["generation"])
    else:
        quantity, forecast = next(iter(forecasts.items()))
    day_ahead = window(forecast, issued_ms, HORIZONS["24h"]) or forecast
    return {
        "site_id": site_id,
        "asset_id": None,
        "metric": METRIC,
        "quantity": quantity,
        "issued_ms": issued_ms,
        "step_ms": forecast.step_ms,
        "horizon": len(forecast.index),
        "peak": peak_of(day_ahead),
    }


FORECASTS: Slot[ForecastRuntime] = Slot("forecasts")


def weather_of(app: Any) -> WeatherSource | None:
    """The weather source of ``app``'s forecast job (None before it starts, or without one)."""
    runtime = runtime_of(app).get(FORECASTS)
    return runtime.weather if runtime is not None else None


async def start_forecasts(app: Any) -> ForecastRuntime:
    """Build and start the forecast job of ``app`` (weather from the settings' source)."""
    shared = runtime_of(app)
    settings = shared.settings
    runtime = ForecastRuntime(settings, shared.sessions, shared.bus, make_weather_source(settings))
    runtime.start()
    return runtime
