"""What a site's schedule is planned from: load and PV forecasts, import prices, the month's
incumbent peak and the batteries' measured state of charge.

Forecasts come from the forecast service (``insights.forecasts``): the 15-minute job's stored
consumption and generation forecasts of the site when fresh and long enough, else computed
now for the whole horizon (a 48 h plan always needs a computed one: the job stores 24 h).
``consumption`` is the site's load without batteries (the balance's consumption term);
``generation`` its PV (and other generation). Each is averaged onto the plan's steps, weighted
by overlap, so an hourly forecast serves a 15-minute plan and the reverse. Prices are the
site's versioned time-of-use tariff (``insights.kpis``), each step priced at its start in the
site's local time by the version valid then: the import price from its ``periods`` /
``default_rate_per_kwh``, the export price from its ``export_periods`` /
``export_rate_per_kwh`` as the grid revenue reads them (``analytics.grid_revenue``; 0 where
the version agrees none). The site's dynamic prices (``prices.py``) replace the tariff's in
the steps whose start they cover; dynamic prices over every step plan a site without tariff.
The incumbent peak is the highest 15-minute mean grid import of the current local calendar
month so far (``balance.site_balances``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.forecast import Forecast
from gridpilot.analytics.grid_revenue import export_rates_per_kwh
from gridpilot.analytics.tariffs import rates_per_kwh
from gridpilot.assets.models import Site
from gridpilot.balance.service import site_balances
from gridpilot.core.errors import GridpilotError, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_HOUR, iso
from gridpilot.flex.prices import step_prices
from gridpilot.insights.forecasts.forecast_store import forecast_of, latest_stored
from gridpilot.insights.forecasts.site import forecast_site
from gridpilot.insights.forecasts.weather import SiteLocation, WeatherSource
from gridpilot.insights.kpis.tariffs import pricing_versions
from gridpilot.telemetry.queries import latest_values

QUANTITIES = ("consumption", "generation")
#: A measured state of charge older than this is not used [ms].
SOC_MAX_AGE_MS = MS_PER_HOUR
QUARTER_MS = 15 * 60_000


@dataclass(frozen=True)
class Horizon:
    """The plan's steps: ``steps`` of ``step_ms`` from ``start_ms`` (UTC)."""

    start_ms: int
    step_ms: int
    steps: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.steps * self.step_ms

    @property
    def step_starts_ms(self) -> np.ndarray:
        return self.start_ms + self.step_ms * np.arange(self.steps, dtype=np.int64)


@dataclass
class Prices:
    """Per step: import and export price [EUR/kWh]; the demand charge [EUR/kW-month] of the
    version valid at the start; whether any version used agrees an export price."""

    import_eur_per_kwh: np.ndarray
    export_eur_per_kwh: np.ndarray
    demand_charge_eur_per_kw: float
    export_agreed: bool = False
    tariff_valid_from: list[str] = field(default_factory=list)
    #: Steps priced by the site's dynamic prices (import), not the tariff.
    dynamic_steps: int = 0


def on_steps(forecast: Forecast, horizon: Horizon) -> np.ndarray | None:
    """The forecast's mean kW over each plan step (weighted by overlap), or None when it does
    not cover the whole horizon."""
    ts = np.asarray(forecast.index.as_unit("ms").asi8, dtype=np.int64)
    lo = np.maximum(horizon.step_starts_ms[:, None], ts[None, :])
    hi = np.minimum(
        horizon.step_starts_ms[:, None] + horizon.step_ms, ts[None, :] + forecast.step_ms
    )
    overlap = np.clip(hi - lo, 0, None).astype(np.float64)
    values = np.asarray(forecast.yhat, dtype=np.float64)
    usable = np.isfinite(values)
    overlap[:, ~usable] = 0.0
    covered = overlap.sum(axis=1)
    if np.any(covered < horizon.step_ms):
        return None
    mean = overlap @ np.where(usable, values, 0.0) / covered
    return np.asarray(np.clip(mean, 0.0, None))


async def forecasts_on_steps(
    *,
    session: AsyncSession,
    site: Site,
    horizon: Horizon,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, str]]:
    """Consumption and generation [kW] per step, where each came from, and why any is missing."""
    values: dict[str, np.ndarray] = {}
    sources: dict[str, Any] = {}
    fresh_after = now_ms - settings.forecast_fresh_s * 1000
    for quantity in QUANTITIES:
        row = await latest_stored(
            session=session, site_id=site.id, asset_id=None, issued_after_ms=fresh_after,
            quantity=quantity,
        )  # fmt: skip
        series = None if row is None else on_steps(forecast_of(row), horizon)
        if row is not None and series is not None:
            values[quantity] = series
            sources[quantity] = {"source": "stored", "issued": iso(row.issued_ms)}
    needed = tuple(q for q in QUANTITIES if q not in values)
    if not needed:
        return values, sources, {}
    missing: dict[str, str] = {}
    try:
        made = await forecast_site(
            session=session, site_id=site.id, timezone=site.timezone,
            location=SiteLocation(site.id, site.latitude, site.longitude), quantities=needed,
            horizon_ms=horizon.end_ms - now_ms + MS_PER_HOUR, now_ms=now_ms, settings=settings,
            weather=weather,
        )  # fmt: skip
    except ValidationFailed as exc:
        return values, sources, {q: exc.message for q in needed}
    for quantity in needed:
        forecast = made.forecasts.get(quantity)
        series = None if forecast is None else on_steps(forecast, horizon)
        if series is None:
            error = made.errors.get(quantity)
            missing[quantity] = error.message if error else "the forecast does not cover it"
            continue
        values[quantity] = series
        sources[quantity] = {"source": "computed", "issued": iso(now_ms)}
    return values, sources, missing


async def tariff_prices(*, session: AsyncSession, site: Site, horizon: Horizon) -> Prices | None:
    """The import and export price [EUR/kWh] of each step, the site's dynamic prices where
    they hold a step's start, else its tariff's; the demand charge [EUR/kW-month] of the
    tariff version valid at the start. None when some step has neither."""
    dynamic, dynamic_exports = await step_prices(
        session=session, site_id=site.id, starts_ms=horizon.step_starts_ms
    )
    covered = ~np.isnan(dynamic)
    tariff = await _tariff_prices(session=session, site=site, horizon=horizon)
    if tariff is None:
        if not covered.all():
            return None
        tariff = Prices(np.zeros(horizon.steps), np.zeros(horizon.steps), 0.0)
    tariff.import_eur_per_kwh = np.where(covered, dynamic, tariff.import_eur_per_kwh)
    exporting = ~np.isnan(dynamic_exports)
    tariff.export_eur_per_kwh = np.where(exporting, dynamic_exports, tariff.export_eur_per_kwh)
    tariff.export_agreed |= bool(exporting.any())
    tariff.dynamic_steps = int(covered.sum())
    return tariff


async def _tariff_prices(*, session: AsyncSession, site: Site, horizon: Horizon) -> Prices | None:
    """The tariff's prices of each step (``tariff_prices``); None when no version covers all."""
    versions = await pricing_versions(session=session, site=site)
    if not versions:
        return None
    starts = horizon.step_starts_ms
    which = np.searchsorted([v for v, _ in versions], starts, side="right") - 1
    if np.any(which < 0):
        return None
    currencies = {versions[w][1].currency for w in set(which.tolist())}
    if currencies != {"EUR"}:
        raise ValidationFailed(
            f"schedules are priced in EUR; the site's tariff is in {', '.join(sorted(currencies))}"
        )
    index = pd.DatetimeIndex(pd.to_datetime(starts, unit="ms", utc=True))
    prices = np.zeros(horizon.steps)
    exports = np.zeros(horizon.steps)
    agreed = False
    for w in sorted(set(which.tolist())):
        mask = which == w
        tariff = versions[w][1]
        rates, _ = rates_per_kwh(index[mask], tariff, site.timezone)
        prices[mask] = rates
        exports[mask] = export_rates_per_kwh(index[mask], tariff, site.timezone)
        agreed |= tariff.export_rate_per_kwh is not None or bool(tariff.export_periods)
    first = versions[int(which[0])][1]
    used = [iso(versions[w][0]) for w in sorted(set(which.tolist()))]
    return Prices(prices, exports, first.demand_charge_per_kw_month, agreed, used)


def month_start_ms(ts_ms: int, timezone: str) -> int:
    """The start of the local calendar month holding ``ts_ms`` [UTC ms]."""
    local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(timezone))
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(first.timestamp() * 1000)


async def incumbent_peak_kw(*, session: AsyncSession, site: Site, until_ms: int) -> float:
    """The highest 15-min mean grid import [kW] of the local month before ``until_ms`` (0 when
    nothing was measured)."""
    start = month_start_ms(until_ms, site.timezone)
    if until_ms - start < QUARTER_MS:
        return 0.0
    try:
        balances = await site_balances(
            session=session, site_ids=[site.id], start_ms=start, end_ms=until_ms, interval="15m"
        )
    except GridpilotError:
        return 0.0
    found = balances.get(site.id)
    if found is None:
        return 0.0
    kwh = np.asarray(found.balance.values["import"], dtype=np.float64)
    if kwh.size == 0 or not np.any(np.isfinite(kwh)):
        return 0.0
    return float(np.nanmax(kwh)) / (found.step_ms / MS_PER_HOUR)


async def measured_soc_pct(
    *, session: AsyncSession, asset_id: int, now_ms: int
) -> tuple[float, int] | None:
    """The asset's latest ``soc_pct`` and its time when younger than ``SOC_MAX_AGE_MS``."""
    latest = (await latest_values(session=session, asset_id=asset_id, metric_keys=["soc_pct"])).get(
        "soc_pct"
    )
    if latest is None or now_ms - latest.ts_ms > SOC_MAX_AGE_MS or latest.ts_ms > now_ms + 60_000:
        return None
    return min(100.0, max(0.0, latest.value)), latest.ts_ms
