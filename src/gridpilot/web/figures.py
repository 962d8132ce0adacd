"""What the dashboard shows, computed through the services for one principal.

Energy here is integrated from 15-minute average power (kWh = kW x 0.25 h) of the rollups, the
same figures the series API returns; "today" is the site's local calendar day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.lifecycle import AlertFilter, list_alerts
from gridpilot.assets.catalogue import GENERATION_ROLES, LOAD_ROLES
from gridpilot.assets.models import Asset, Site
from gridpilot.assets.service import list_assets, list_sites
from gridpilot.auth.permissions import Principal
from gridpilot.control.status import StatusView, read_statuses
from gridpilot.control.tasks import status_policy
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import local_midnight_ms, now_ms
from gridpilot.insights.data import load_site_series
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.web.context import current

QUARTER_MS = 15 * 60_000
#: The roles counted as load and as generation: the same as the KPIs'.
CONSUMING = tuple(LOAD_ROLES)
PRODUCING = tuple(GENERATION_ROLES)


@dataclass
class SiteToday:
    """One site's figures for its local day so far (kW, kWh, kg CO2)."""

    site: Site
    consumption_kw: pd.Series
    production_kw: pd.Series
    energy_kwh: float
    produced_kwh: float
    peak_kw: float | None
    carbon_kg: float
    avoided_kg: float
    cost: tuple[float, str] | None = None  # (amount, currency) today, None without a tariff


@dataclass
class Overview:
    """The overview's KPI strip and chart data."""

    sites: list[SiteToday] = field(default_factory=list)
    installed_kw: float = 0.0
    asset_count: int = 0
    active_alerts: int = 0
    critical_alerts: int = 0

    @property
    def energy_kwh(self) -> float:
        return sum(s.energy_kwh for s in self.sites)

    @property
    def produced_kwh(self) -> float:
        return sum(s.produced_kwh for s in self.sites)

    @property
    def carbon_kg(self) -> float:
        return sum(s.carbon_kg for s in self.sites)

    @property
    def avoided_kg(self) -> float:
        return sum(s.avoided_kg for s in self.sites)

    def cost_today(self) -> str:
        """Today's cost of all priced sites, per currency ("no tariff" when none is priced)."""
        totals: dict[str, float] = {}
        for site in self.sites:
            if site.cost is not None:
                totals[site.cost[1]] = totals.get(site.cost[1], 0.0) + site.cost[0]
        if not totals:
            return "no tariff"
        return " + ".join(
            f"{amount:,.2f} {currency}" for currency, amount in sorted(totals.items())
        )

    def worst_contract_use(self) -> tuple[str, float, float] | None:
        """(site, peak kW, contract kW) of the site closest to its contract demand."""
        rated = [
            (s.site.name, s.peak_kw, s.site.contract_demand_kw)
            for s in self.sites
            if s.peak_kw is not None and s.site.contract_demand_kw
        ]
        if not rated:
            return None
        return max(rated, key=lambda r: r[1] / r[2])

    def total_power(self) -> tuple[pd.Series, pd.Series]:
        """Consumption and production of all sites per quarter hour of the last 24 h [kW]."""
        empty = pd.Series(dtype="float64")
        consumption = [s.consumption_kw for s in self.sites]
        production = [s.production_kw for s in self.sites]
        return (
            _sum(consumption) if consumption else empty,
            _sum(production) if production else empty,
        )


def _sum(parts: list[pd.Series]) -> pd.Series:
    frame = pd.concat(parts, axis=1)
    return frame.sum(axis=1, min_count=1)


def energy_kwh(power_kw: pd.Series, since_ms: int) -> float:
    """kWh of quarter-hour average power from ``since_ms`` on (NaN quarters count as 0)."""
    since = pd.Timestamp(since_ms, unit="ms", tz="UTC")
    part = power_kw[power_kw.index >= since].dropna()
    return float(part.sum() * 0.25)


async def site_today(*, session: AsyncSession, site: Site, principal: Principal) -> SiteToday:
    end = now_ms() + QUARTER_MS
    start = end - 24 * 3_600_000
    start -= start % QUARTER_MS
    common = {
        "session": session,
        "site_id": site.id,
        "metric": "power_kw",
        "start_ms": start,
        "end_ms": end,
        "step_ms": QUARTER_MS,
        "principal": principal,
    }
    consumption = await load_site_series(roles=CONSUMING, **common)  # type: ignore[arg-type]
    production = await load_site_series(roles=PRODUCING, **common)  # type: ignore[arg-type]
    midnight = local_midnight_ms(site.timezone, now_ms())
    used = energy_kwh(consumption, midnight)
    produced = energy_kwh(production, midnight)
    today = consumption[consumption.index >= pd.Timestamp(midnight, unit="ms", tz="UTC")]
    peak = float(today.max()) if today.notna().any() else None
    factor = site.emission_factor_kg_per_kwh
    try:
        kpis = await compute_kpis(
            session=session,
            principal=principal,
            start_ms=midnight,
            end_ms=now_ms(),
            site_id=site.id,
        )
        figure = kpis["kpis"].get("cost", {})
        cost = (figure["value"], figure["unit"]) if figure.get("value") is not None else None
    except GridpilotError:
        cost = None
    return SiteToday(
        site=site,
        consumption_kw=consumption,
        production_kw=production,
        energy_kwh=used,
        produced_kwh=produced,
        peak_kw=None if peak is None or math.isnan(peak) else peak,
        carbon_kg=used * factor,
        avoided_kg=produced * factor,
        cost=cost,
    )


async def overview(*, session: AsyncSession, principal: Principal) -> Overview:
    result = Overview()
    sites = await list_sites(session=session, principal=principal)
    assets = await list_assets(session=session, principal=principal, limit=100_000)
    result.asset_count = len(assets)
    result.installed_kw = sum(a.rated_capacity_kw or 0.0 for a in assets if a.role in PRODUCING)
    for site in sites:
        result.sites.append(await site_today(session=session, site=site, principal=principal))
    active = await list_alerts(
        session=session,
        principal=principal,
        where=AlertFilter(states=["active"]),
        limit=10_000,
        offset=0,
    )
    result.active_alerts = len(active)
    result.critical_alerts = sum(1 for a in active if a.severity == "critical")
    return result


def since_label(ts_ms: int | None, now: int | None = None) -> str:
    """'12 s ago' style label of a last-seen time."""
    if ts_ms is None:
        return "never"
    seconds = max(0, ((now or now_ms()) - ts_ms) // 1000)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def hours_ago_ms(hours: float) -> int:
    return now_ms() - int(timedelta(hours=hours).total_seconds() * 1000)


async def statuses(assets: Sequence[Asset]) -> dict[int, StatusView]:
    """Online/offline/unknown of ``assets`` as ``GET /assets/{id}/status`` reports it."""
    context = current()
    runtime = getattr(context.app.state, "control", None)
    async with context.session() as session:
        views = await read_statuses(
            session=session,
            assets=[(a.id, a.site_id, a.expected_interval_s) for a in assets],
            tracked=runtime.tracker.last_seen if runtime else (lambda _a: None),
            policy=status_policy(context.settings),
            now_ms=now_ms(),
        )
    return {view.asset_id: view for view in views}
