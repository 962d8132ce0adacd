"""Site forecasts on the site energy balance: consumption and generation apart, net from both.

The history of a site is its balance (``balance.service.site_balances``): ``consumption`` and
``generation`` in kWh per interval, turned into mean kW (kWh / interval hours). Batteries
(charge, discharge) never enter either. Each is forecast on its own and bounded physically
(``analytics.forecast_bounds``): consumption never below 0; generation never below 0, never
above the installed generation capacity and, for solar, 0 while the sun is down. The net
(consumption - generation, the grid exchange without storage) is derived from the two.
Consumption's daily profile follows the site's wall clock and public holidays (people do);
generation's follows UTC and no holidays (the sun does), so neither moves at a DST change.

The balance is read at 15 min (in periods of 28 days: a 15-min balance spans at most 31); when
a series reports less often (30 min, 1 h) the site is forecast hourly on the hourly balance. A
term nothing on the site feeds (no generator: generation) is forecast as exactly 0. When every
generator of the site has a physical model (PV on a located site, wind: ``generation.py``), the
generation is the sum of their physical forecasts instead of a model of the balance's history.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import holiday_country, infer_step_ms, regular_index
from gridpilot.analytics.forecast import MAX_HISTORY_DAYS, Forecast, forecast_series
from gridpilot.analytics.forecast_bounds import (
    bound_forecast,
    generation_ceiling,
    night_from_history,
    solar_night,
    zero_forecast,
)
from gridpilot.analytics.site_balance import Source
from gridpilot.assets.service import list_assets
from gridpilot.balance.service import (
    COARSE_STEP_MS,
    DEFAULT_MAX_GAP_S,
    FINE_STEP_MS,
    site_balances,
)
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR
from gridpilot.insights.data import SYSTEM, grid
from gridpilot.insights.forecasts.generation import physical_site_generation
from gridpilot.insights.forecasts.sensor_weather import regressors
from gridpilot.insights.forecasts.weather import SiteLocation, WeatherSource

Quantity = Literal["consumption", "generation", "net"]
QUANTITIES: tuple[Quantity, ...] = ("consumption", "generation", "net")
#: The quantities that are forecast from history (net is derived from them).
BASIC: tuple[Literal["consumption", "generation"], ...] = ("consumption", "generation")
#: Asset kinds whose generation is solar (zero at night); a prosumer is solar when its
#: attributes carry ``pv_kwp`` (the simulator's and CER members' rooftop PV).
SOLAR_KINDS = frozenset({"solar_pv", "inverter"})
GENERATING_ROLES = ("producer", "prosumer")
#: The balance's interval names by step, and how long a period one balance call reads.
INTERVALS = {FINE_STEP_MS: "15m", COARSE_STEP_MS: "1h"}
_PERIOD_MS = {FINE_STEP_MS: 28 * MS_PER_DAY, COARSE_STEP_MS: 400 * MS_PER_DAY}
#: Coarser steps a meter may report at (the series is then forecast at that step).
NATIVE_STEPS = (30 * 60_000, MS_PER_HOUR, MS_PER_DAY)


@dataclass(frozen=True)
class SiteHistory:
    """A site's ``consumption`` and ``generation`` [kW] per interval of ``step_ms`` (NaN:
    unknown); ``absent``: the terms nothing on the site feeds."""

    consumption: pd.Series
    generation: pd.Series
    absent: frozenset[str]
    step_ms: int


@dataclass(frozen=True)
class GenerationFleet:
    """A site's generators: installed capacity [kW] by day and at night (generators other than
    solar), None when unknown (a producer without ``rated_capacity_kw``), and whether any is
    solar."""

    capacity_kw: float | None
    night_capacity_kw: float | None
    solar: bool


@dataclass
class SiteForecasts:
    """The forecasts of a site that could be made, and why the others could not."""

    forecasts: dict[str, Forecast] = field(default_factory=dict)
    errors: dict[str, ValidationFailed] = field(default_factory=dict)
    fleet: GenerationFleet | None = None
    #: Where the weather regressors came from (``sensor_weather.Regressors.note``).
    weather_note: str | None = None


async def _balance_kw(
    session: AsyncSession, site_id: int, start_ms: int, end_ms: int, step_ms: int, max_gap_s: int
) -> tuple[dict[str, np.ndarray], set[str], set[str], int]:
    found = await site_balances(
        session=session,
        site_ids=[site_id],
        start_ms=start_ms,
        end_ms=end_ms,
        interval=INTERVALS[step_ms],
        max_gap_s=max_gap_s,
    )
    balance = found[site_id]
    hours = balance.step_ms / MS_PER_HOUR
    b = balance.balance
    values: dict[str, np.ndarray] = {t: b.values[t] / hours for t in BASIC}
    # absent somewhere and never metered: nothing feeds it (a plant's consumption is assumed 0
    # where its generation is known, unknown where not: still nothing to forecast)
    absent: set[str] = {
        t for t in BASIC if (b.sources[t] == Source.ABSENT.value).any() and not b.metered(t)
    }
    metered: set[str] = {t for t in BASIC if b.metered(t)}
    return values, absent, metered, balance.step_ms


async def load_history(
    *,
    session: AsyncSession,
    site_id: int,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    max_gap_s: int = DEFAULT_MAX_GAP_S,
) -> SiteHistory:
    """The site's balance over ``[start_ms, end_ms)`` at ``step_ms`` (15 min, read in periods
    of 28 days, or 1 h) on aligned bounds; power is not held across ``max_gap_s``."""
    if step_ms not in INTERVALS or start_ms % step_ms or end_ms % step_ms or end_ms <= start_ms:
        raise ValidationFailed("a site history is read at 15 min or 1 h on aligned bounds")
    chunk = _PERIOD_MS[step_ms]
    periods = [(lo, min(lo + chunk, end_ms)) for lo in range(start_ms, end_ms, chunk)]
    parts: dict[str, list[np.ndarray]] = {t: [] for t in BASIC}
    absent: set[str] = set()
    metered: set[str] = set()
    for lo, hi in periods:
        values, gone, seen, step = await _balance_kw(session, site_id, lo, hi, step_ms, max_gap_s)
        if step != step_ms:  # pragma: no cover - the periods above decide the step
            raise ValidationFailed(f"the balance came at {step} ms, not {step_ms} ms")
        absent |= gone
        metered |= seen
        for term in BASIC:
            parts[term].append(values[term])
    index = grid(start_ms, end_ms, step_ms)
    series = {t: pd.Series(np.concatenate(parts[t]), index=index, name=t) for t in BASIC}
    absent -= metered  # absent in one period, metered in another: not absent
    return SiteHistory(series["consumption"], series["generation"], frozenset(absent), step_ms)


def native_step_ms(series: pd.Series, step_ms: int) -> int:
    """The series' own step when its values sit on a coarser grid than ``step_ms`` (30 min,
    1 h or 1 day), else ``step_ms``."""
    observed = pd.DatetimeIndex(series.dropna().index)
    if len(observed) < 3:
        return step_ms
    try:
        step = infer_step_ms(observed)
    except ValidationFailed:
        return step_ms
    coarser = [s for s in NATIVE_STEPS if s <= step and step % s == 0 and s > step_ms]
    return max(coarser) if coarser else step_ms


async def site_history(
    *, session: AsyncSession, site_id: int, now_ms: int, days: int, max_gap_s: int
) -> SiteHistory:
    """The last ``days`` (at most ``MAX_HISTORY_DAYS``) before the interval holding ``now_ms``,
    at 15 min, or at 1 h when a series reports less often than every 15 minutes."""
    days = min(days, MAX_HISTORY_DAYS)
    for step in (FINE_STEP_MS, COARSE_STEP_MS):
        end = now_ms - now_ms % step
        history = await load_history(
            session=session, site_id=site_id, start_ms=end - days * MS_PER_DAY, end_ms=end,
            step_ms=step, max_gap_s=max_gap_s,
        )  # fmt: skip
        series = [history.consumption, history.generation]
        if all(native_step_ms(s, step) == step for s in series):
            return history
    raise ValidationFailed(
        "the site's meters report less often than hourly: forecast its assets instead"
    )


async def generation_fleet(*, session: AsyncSession, site_id: int) -> GenerationFleet:
    """The site's generators (producers, and prosumers with a rated capacity) from its assets;
    a sub-meter of a same-role parent is not counted twice."""
    assets = await list_assets(session=session, principal=SYSTEM, site_id=site_id, limit=100_000)
    role_of = {a.id: a.role for a in assets}
    capacity: float | None = 0.0
    night: float | None = 0.0
    solar = False
    for asset in assets:
        parent = asset.parent_asset_id
        if asset.role not in GENERATING_ROLES or (parent and role_of.get(parent) == asset.role):
            continue
        rating = asset.rated_capacity_kw
        is_solar = asset.kind in SOLAR_KINDS or "pv_kwp" in (asset.attributes or {})
        solar |= is_solar
        if rating is None:
            if asset.role == "producer":
                capacity = None
            if not is_solar:
                night = None
            continue
        capacity = None if capacity is None else capacity + rating
        night = night if is_solar or night is None else night + rating
    return GenerationFleet(capacity, night, solar)


def generation_upper(
    fleet: GenerationFleet, location: SiteLocation, history: pd.Series, forecast: Forecast
) -> np.ndarray:
    """The most the site can generate in each forecast interval [kW] (inf: unknown)."""
    night = np.zeros(len(forecast.index), dtype=bool)
    if fleet.solar and location.latitude is not None and location.longitude is not None:
        night = solar_night(forecast.index, forecast.step_ms, location.latitude, location.longitude)
    elif fleet.solar:
        night = night_from_history(history, forecast.index)
    return generation_ceiling(night, fleet.capacity_kw, fleet.night_capacity_kw)


async def forecast_site(
    *,
    session: AsyncSession,
    site_id: int,
    timezone: str,
    location: SiteLocation,
    quantities: tuple[str, ...],
    horizon_ms: int,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None = None,
) -> SiteForecasts:
    """Forecast the basic ``quantities`` (consumption, generation) of a site from the interval
    holding now over ``horizon_ms``, each bounded; a quantity with too little history is in
    ``errors`` (``ValidationFailed``)."""
    history = await site_history(
        session=session, site_id=site_id, now_ms=now_ms, days=settings.forecast_history_days,
        max_gap_s=settings.energy_max_gap_s,
    )  # fmt: skip
    if not {"consumption", "generation"} - history.absent:
        raise ValidationFailed("the site has no asset feeding consumption or generation")
    step = history.step_ms
    end = int(history.consumption.index[-1].value // 1_000_000) + step
    horizon = max(1, -(-horizon_ms // step))
    found = await regressors(
        session=session, site_id=site_id, location=location,
        start_ms=end - len(history.consumption) * step, end_ms=end,
        horizon_end_ms=end + horizon * step, step_ms=step, weather=weather,
    )  # fmt: skip
    frame = found.frame
    result = SiteForecasts(weather_note=found.note())
    for quantity in quantities:
        series: pd.Series = getattr(history, quantity)
        if quantity in history.absent:
            index = regular_index(pd.Timestamp(end, unit="ms", tz="UTC"), horizon, step)
            result.forecasts[quantity] = zero_forecast(index, step)
            continue
        raw = None
        if quantity == "generation":  # from physics when every generator has a model
            raw = await physical_site_generation(
                session=session, site_id=site_id, location=location, end_ms=end,
                horizon=horizon, step_ms=step, weather=weather,
            )  # fmt: skip
        # generation follows the sun, which keeps neither the wall clock nor the holidays: its
        # daily profile is read in UTC, else a DST change moves it an hour against the sun
        zone = None if quantity == "generation" else timezone
        try:
            if raw is None:
                raw = await asyncio.to_thread(
                    forecast_series, series, horizon=horizon, step_ms=step, timezone=zone,
                    country=holiday_country(zone), weather=frame,
                )  # fmt: skip
        except ValidationFailed as error:
            result.errors[quantity] = error
            continue
        upper: float | np.ndarray = np.inf
        if quantity == "generation":
            result.fleet = await generation_fleet(session=session, site_id=site_id)
            upper = generation_upper(result.fleet, location, series, raw)
        result.forecasts[quantity] = bound_forecast(raw, 0.0, upper)
    return result
