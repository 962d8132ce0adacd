"""KPIs of an asset, a site or a group of assets over a period (maths in ``analytics.kpis``).

Scope rules (docs/kpis.md): a whole *site* is measured by its energy balance (``site.py``,
docs/site-energy.md): energy, peak and load factor of its consumption, cost, carbon and
contract utilisation of its grid import, generation of producers and prosumers, one statement
for any number of meters. A *group* of assets (or what a device key sees) sums its assets'
own series: load is its ``consumer`` assets, generation its ``producer`` assets. A single asset
is load unless it is a producer. Per-producer KPIs (capacity factor, yield, PR, availability)
come from the producers' own series. Costs and carbon are per site and added up.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import kpis, kpis_generation
from gridpilot.analytics.kpis import Figure
from gridpilot.assets.catalogue import GENERATION_ROLES, LOAD_ROLES
from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Principal
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.core.timestamps import iso
from gridpilot.insights.data import AssetInfo, site_assets
from gridpilot.insights.kpis.balance import balance_kpis
from gridpilot.insights.kpis.costs import cost_and_carbon
from gridpilot.insights.kpis.current import current_demand as current_demand  # for dr
from gridpilot.insights.kpis.inputs import (
    AssetSeries,
    Period,
    asset_series,
    first_available,
    mean_coverage,
    production_counts,
    summed,
)
from gridpilot.insights.kpis.revenue import balance_revenue
from gridpilot.insights.kpis.scope import MAX_INTERVALS as MAX_INTERVALS
from gridpilot.insights.kpis.scope import align_period, resolve_scope
from gridpilot.insights.kpis.site import (
    BALANCE_INTERVALS,
    SiteSeries,
    contract_utilization,
    energy_figure,
    site_series,
)
from gridpilot.telemetry.service import energy

#: At most this many intervals per asset in one KPI query (a year and a month at 15 min).
#: The KPIs that need the generation assets' series.
GENERATION_FIGURES = frozenset(
    ["generation_kwh", "capacity_factor", "specific_yield_kwh_per_kwp", "performance_ratio",
     "availability", "self_consumption", "self_sufficiency"]
)  # fmt: skip
#: The KPIs of a whole site's balance and what its export earned (``_whole_site``).
WHOLE_SITE_FIGURES = frozenset(["balance", "self_consumption", "self_sufficiency", "grid_revenue"])
#: Whether a KPI is asked for (``compute_kpis``'s ``figures``).
Wanted = Callable[..., bool]


def wanted(figures: Collection[str] | None) -> Wanted:
    """``want(*names)``: True when ``figures`` is None (every KPI) or holds one of ``names``."""
    return lambda *names: figures is None or any(n in figures for n in names)


def _figure_json(figure: Figure, *, coverage_cap: float | None = None) -> dict[str, Any]:
    share = figure.coverage if coverage_cap is None else min(figure.coverage, coverage_cap)
    body: dict[str, Any] = {"value": figure.value, "unit": figure.unit, "coverage": share}
    for key, value in figure.detail.items():
        body[key] = iso(int(value.value // 1_000_000)) if isinstance(value, pd.Timestamp) else value
    return body


async def _energy_figure(
    session: AsyncSession, assets: Sequence[AssetInfo], period: Period, max_gap_s: float
) -> dict[str, Any]:
    """Energy [kWh] by telemetry's semantics (register deltas or power integral), summed."""
    results = [
        await energy(
            session=session,
            asset_id=a.id,
            start_ms=period.start_ms,
            end_ms=period.end_ms,
            max_gap_s=max_gap_s,
        )
        for a in assets
    ]
    known = [r.energy_kwh for r in results if r.energy_kwh is not None]
    return {
        "value": sum(known) if known else None,
        "unit": "kWh",
        "coverage": sum(r.coverage for r in results) / len(results) if results else 0.0,
        "methods": sorted({r.method for r in results}),
        "resets": sum(r.resets for r in results),
    }


async def _generation_kpis(
    session: AsyncSession, gen: Sequence[AssetSeries], sites: dict[int, Site], period: Period
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    energy_kwh = summed([p.energy_kwh for p in gen])
    rated = sum(p.asset.rated_capacity_kw or 0.0 for p in gen) or None
    cap = mean_coverage(gen)
    figures = {
        "capacity_factor": kpis_generation.capacity_factor(energy_kwh, rated, period.interval_ms),
        "specific_yield_kwh_per_kwp": kpis_generation.specific_yield(energy_kwh, rated),
    }
    pv = {p.asset.id for p in gen if p.asset.kind == "solar_pv"}
    availabilities = []
    pv_energy, pv_irradiance, pv_rated = [], [], 0.0
    for part in gen:
        resource = None
        if part.asset.kind in ("solar_pv", "wind_onshore", "wind_offshore"):
            metric = "irradiance_wm2" if part.asset.id in pv else "wind_speed_ms"
            own = await first_available(
                session=session, assets=[part.asset], metric=metric, period=period
            )
            if own is None:
                neighbours = await site_assets(session=session, site_id=part.asset.site_id)
                own = await first_available(
                    session=session, assets=neighbours, metric=metric, period=period
                )
            resource = own
            if part.asset.id in pv and own is not None and part.asset.rated_capacity_kw:
                pv_energy.append(part.energy_kwh)
                pv_irradiance.append(own * part.asset.rated_capacity_kw)
                pv_rated += part.asset.rated_capacity_kw
        threshold = 50.0 if part.asset.id in pv else 3.0  # W/m2 for PV; cut-in wind speed [m/s]
        availabilities.append(
            kpis_generation.availability(part.power_kw, resource, resource_threshold=threshold)
        )
    if pv_energy:
        # capacity-weighted irradiance, so PR = sum(E) / sum(P0_k x Y_r,k)
        irradiance = summed(pv_irradiance) / pv_rated
        figures["performance_ratio"] = kpis_generation.performance_ratio(
            summed(pv_energy), irradiance, pv_rated, period.interval_ms
        )
    for name, figure in figures.items():
        out[name] = _figure_json(figure, coverage_cap=cap)
    known = [a for a in availabilities if a.value is not None]
    out["availability"] = {
        "value": sum(a.value or 0.0 for a in known) / len(known) if known else None,
        "unit": "1",
        "coverage": sum(a.coverage for a in availabilities) / len(availabilities),
        "basis": sorted({str(a.detail.get("basis")) for a in availabilities}),
    }
    return out


async def _asset_load(
    session: AsyncSession,
    load: list[AssetSeries],
    load_assets: Sequence[AssetInfo],
    sites: dict[int, Site],
    period: Period,
    max_gap_s: float,
    want: Wanted = wanted(None),
) -> dict[str, Any]:
    """Load KPIs summed over the load assets' own series (an asset, a group, a device key)."""
    cap = mean_coverage(load)
    energy_kwh = summed([p.energy_kwh for p in load])
    demand_kw = summed([p.power_kw for p in load])
    result: dict[str, Any] = {}
    if want("energy_kwh"):
        result["energy_kwh"] = await _energy_figure(session, load_assets, period, max_gap_s)
    peak = kpis.peak_demand(demand_kw)
    result["peak_demand_kw"] = _figure_json(peak, coverage_cap=cap)
    result["load_factor"] = _figure_json(kpis.load_factor(demand_kw), coverage_cap=cap)
    counts = [p.production_count for p in load if p.production_count is not None]
    if counts:
        sec = kpis.specific_energy_consumption(energy_kwh, summed(counts))
        result["sec_kwh_per_unit"] = _figure_json(sec, coverage_cap=cap)
    if want("cost", "carbon_kg"):
        result.update(await cost_and_carbon(session, load, sites, period))
    return result


async def _site_load(
    session: AsyncSession,
    part: SiteSeries,
    assets: Sequence[AssetInfo],
    sites: dict[int, Site],
    period: Period,
    want: Wanted = wanted(None),
) -> dict[str, Any]:
    """A whole site's load KPIs from its balance: consumption for energy, peak, load factor
    and SEC; grid import for cost, carbon, peak import and contract utilisation."""
    consumption, imported = part.consumption, part.imported
    if not consumption.energy_kwh.notna().any() and not imported.energy_kwh.notna().any():
        return {}
    result: dict[str, Any] = {"energy_kwh": energy_figure(consumption)}
    peak = kpis.peak_demand(consumption.power_kw)
    result["peak_demand_kw"] = _figure_json(peak)
    result["load_factor"] = _figure_json(kpis.load_factor(consumption.power_kw))
    counts = None
    if want("sec_kwh_per_unit"):
        counts = await production_counts(session=session, assets=assets, period=period)
    if counts is not None:
        sec = kpis.specific_energy_consumption(consumption.energy_kwh, counts)
        result["sec_kwh_per_unit"] = _figure_json(sec)
    if want("cost", "carbon_kg"):
        result.update(await cost_and_carbon(session, [imported], sites, period))
    peak_import = kpis.peak_demand(imported.power_kw)
    result["peak_import_kw"] = _figure_json(peak_import)
    contract = sites[part.balance.site_id].contract_demand_kw
    if contract:
        share = contract_utilization(peak_import, contract)
        result["contract_utilization_pct"] = _figure_json(share)
    return result


async def compute_kpis(
    *,
    session: AsyncSession,
    principal: Principal,
    start_ms: int,
    end_ms: int,
    interval_ms: int = kpis.DEMAND_INTERVAL_MS,
    max_gap_s: float = 900.0,
    asset_id: int | None = None,
    site_id: int | None = None,
    asset_ids: Sequence[int] | None = None,
    figures: Collection[str] | None = None,
) -> dict[str, Any]:
    """Every applicable KPI of the scope over ``[start_ms, end_ms)`` with its coverage.

    ``figures``: the KPIs the caller needs (None: all). Those are computed exactly as without
    it; the others may be left out, and the work only they need (production counts, the
    generation assets' series, cost and carbon, the balance's shares and revenue) is skipped.
    """
    want = wanted(figures)
    scope, assets, sites = await resolve_scope(
        session=session,
        principal=principal,
        asset_id=asset_id,
        site_id=site_id,
        asset_ids=asset_ids,
    )
    period = align_period(start_ms, end_ms, interval_ms)
    single = scope["type"] == "asset"
    whole_site = scope["type"] == "site" and principal.asset_ids is None
    by_balance = whole_site and period.interval_ms in BALANCE_INTERVALS
    load_assets = [a for a in assets if (single and a.role != "producer") or a.role in LOAD_ROLES]
    gen_assets = [a for a in assets if a.role in GENERATION_ROLES and want(*GENERATION_FIGURES)]
    gen = await _series(session, gen_assets, period, production=False)
    result: dict[str, Any] = {}
    site_part = None
    load: list[AssetSeries] = []
    if by_balance:  # one statement for the whole site, however many meters
        site_part = await site_series(
            session=session, site=next(iter(sites.values())), period=period, max_gap_s=max_gap_s
        )
        result.update(await _site_load(session, site_part, assets, sites, period, want))
    else:
        load = await _series(session, load_assets, period, production=want("sec_kwh_per_unit"))
    if load:
        result.update(await _asset_load(session, load, load_assets, sites, period, max_gap_s, want))
        if scope["type"] == "site":
            result.update(_contract_share(load, next(iter(sites.values()))))
    if gen:
        result["generation_kwh"] = await _energy_figure(session, gen_assets, period, max_gap_s)
        result.update(await _generation_kpis(session, gen, sites, period))
    if site_part is not None and (gen or (site_part.generation.energy_kwh > 0).any()):
        result["generation_kwh"] = energy_figure(site_part.generation)  # prosumers' too
    if load and gen:
        result.update(_self_consumption(load, gen))
    if whole_site and want(*WHOLE_SITE_FIGURES):  # the site's balance, what its export earned
        found = site_part.balance if site_part is not None else None
        site = next(iter(sites.values()))
        result.update(await _whole_site(session, site, start_ms, end_ms, found))
    return _answer(scope, period, assets, single, result)


def _answer(
    scope: dict[str, Any], period: Period, assets: list[AssetInfo], single: bool, result: dict
) -> dict[str, Any]:
    """``compute_kpis``'s answer: the scope, the aligned period, the assets and how each was
    counted, and the figures."""
    return {
        "scope": scope,
        "start": iso(period.start_ms),
        "end": iso(period.end_ms),
        "interval_s": period.interval_ms // 1000,
        "assets": [
            {
                "id": a.id,
                "name": a.name,
                "kind": a.kind,
                "role": a.role,
                "counted_as": _counted(a, single),
            }
            for a in assets
        ],
        "kpis": result,
    }


async def _series(
    session: AsyncSession, assets: list[AssetInfo], period: Period, *, production: bool
) -> list[AssetSeries]:
    """Each asset's interval series over ``period`` (with production counts if ``production``)."""
    return [
        await asset_series(session=session, asset=a, period=period, production=production)
        for a in assets
    ]


def _contract_share(load: list[AssetSeries], site: Site) -> dict[str, Any]:
    """``contract_utilization_pct`` of a site's summed load meters (none without a contract)."""
    if not site.contract_demand_kw:
        return {}
    peak = kpis.peak_demand(summed([p.power_kw for p in load]))
    share = contract_utilization(peak, site.contract_demand_kw)
    return {"contract_utilization_pct": _figure_json(share, coverage_cap=mean_coverage(load))}


def _self_consumption(load: list[AssetSeries], gen: list[AssetSeries]) -> dict[str, Any]:
    """Self-consumption and -sufficiency of the load and generation meters' energy."""
    consumption, sufficiency = kpis.self_consumption(
        summed([p.energy_kwh for p in load]), summed([p.energy_kwh for p in gen])
    )
    cap = min(mean_coverage(load), mean_coverage(gen))
    return {
        "self_consumption": _figure_json(consumption, coverage_cap=cap),
        "self_sufficiency": _figure_json(sufficiency, coverage_cap=cap),
    }


async def _whole_site(
    session: AsyncSession, site: Site, start_ms: int, end_ms: int, found: SiteBalance | None
) -> dict[str, Any]:
    """``balance`` (and the shares from it) and ``grid_revenue`` of the whole site."""
    if found is None:
        found = (
            await site_balances(
                session=session, site_ids=[site.id], start_ms=start_ms, end_ms=end_ms
            )
        )[site.id]
    out = await balance_kpis(
        session=session, site_id=site.id, start_ms=start_ms, end_ms=end_ms, found=found
    )
    out["grid_revenue"] = await balance_revenue(session=session, site=site, balance=found)
    return out


def _counted(asset: AssetInfo, single: bool) -> str | None:
    if asset.role in GENERATION_ROLES:
        return "generation"
    if asset.role in LOAD_ROLES or single:
        return "load"
    return None
