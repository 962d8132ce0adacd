"""Cost and carbon of a load per site, each with its own tariff, time zone and emission factor,
added up (maths in ``analytics.tariff_cost`` and ``analytics.kpis``; docs/kpis.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import kpis
from gridpilot.analytics.tariff_cost import CostBreakdown, cost
from gridpilot.assets.models import Site
from gridpilot.core.errors import GridpilotError
from gridpilot.insights.data import site_assets
from gridpilot.insights.kpis.inputs import (
    EMISSION_FACTOR_METRIC,
    AssetSeries,
    Period,
    first_available,
    mean_coverage,
    summed,
)
from gridpilot.insights.kpis.tariffs import pricing_versions


async def site_cost(
    session: AsyncSession, site: Site, energy_kwh: pd.Series, demand_kw: pd.Series, period: Period
) -> tuple[CostBreakdown | None, str | None]:
    """The site's cost breakdown, or None with the reason it cannot be priced."""
    try:
        versions = await pricing_versions(session=session, site=site)
        if not versions:
            return None, f"site {site.id} has no tariff"
        breakdown = cost(
            energy_kwh,
            interval_ms=period.interval_ms,
            versions=versions,
            timezone=site.timezone,
            demand_kw=demand_kw,
        )
    except GridpilotError as exc:
        return None, f"site {site.id}: {exc.message}"
    return breakdown, None


def merge_costs(parts: dict[int, tuple[CostBreakdown, float]], notes: list[str]) -> dict[str, Any]:
    """One ``cost`` figure from per-site breakdowns (coverage: mean over all load sites, an
    unpriced site counting 0)."""
    sites = len(parts) + len(notes)
    currencies = sorted({b.currency for b, _ in parts.values()})
    if len(currencies) > 1:
        notes = [*notes, f"sites are priced in different currencies: {', '.join(currencies)}"]
    if not parts or len(currencies) > 1:
        return {"value": None, "unit": None, "coverage": 0.0, "notes": notes}
    by_period: dict[str, dict[str, float]] = {}
    for breakdown, _ in parts.values():
        for name, figures in breakdown.by_period.items():
            into = by_period.setdefault(name, {"energy_kwh": 0.0, "cost": 0.0})
            into["energy_kwh"] += figures["energy_kwh"]
            into["cost"] += figures["cost"]
    items = [b for b, _ in parts.values()]
    return {
        "value": sum(b.total for b in items),
        "unit": currencies[0],
        "coverage": sum(share for _, share in parts.values()) / sites,
        "energy_cost": sum(b.energy_cost for b in items),
        "demand_cost": sum(b.demand_cost for b in items),
        "fixed_cost": sum(b.fixed_cost for b in items),
        "priced_energy_kwh": sum(b.energy_kwh for b in items),
        "by_period": by_period,
        "billing_peaks": [
            {"site_id": site_id, **peak}
            for site_id, (b, _) in parts.items()
            for peak in b.billing_peaks
        ],
        "by_site": {str(site_id): b.total for site_id, (b, _) in parts.items()},
        "notes": notes,
    }


async def cost_and_carbon(
    session: AsyncSession, load: Sequence[AssetSeries], sites: dict[int, Site], period: Period
) -> dict[str, Any]:
    """``cost`` and ``carbon_kg`` of the load, per site (its tariff and factor), added up."""
    costs: dict[int, tuple[CostBreakdown, float]] = {}
    notes: list[str] = []
    carbon_value, carbon_cov, varying = 0.0, [], []
    for site_id, site in sites.items():
        parts = [p for p in load if p.asset.site_id == site_id]
        if not parts:
            continue
        energy_kwh = summed([p.energy_kwh for p in parts])
        demand_kw = summed([p.power_kw for p in parts])
        grid = await site_assets(session=session, site_id=site_id)
        factors = await first_available(
            session=session,
            assets=[a for a in grid if a.kind == "grid_connection"],
            metric=EMISSION_FACTOR_METRIC,
            period=period,
        )
        fallback = site.emission_factor_kg_per_kwh
        carbon = kpis.carbon_kg(energy_kwh, factors if factors is not None else fallback, fallback)
        carbon_value += carbon.value or 0.0
        carbon_cov.append(min(carbon.coverage, mean_coverage(parts)))
        varying.append(carbon.detail.get("varying_share", 0.0))
        breakdown, problem = await site_cost(session, site, energy_kwh, demand_kw, period)
        if breakdown is None:
            notes.append(problem or f"site {site_id} cannot be priced")
        else:
            costs[site_id] = (breakdown, min(breakdown.coverage, mean_coverage(parts)))
    if not carbon_cov:
        return {}
    has_energy = any(p.energy_kwh.notna().any() for p in load)
    return {
        "cost": merge_costs(costs, notes),
        "carbon_kg": {
            "value": carbon_value if has_energy else None,
            "unit": "kg",
            "coverage": sum(carbon_cov) / len(carbon_cov),
            "varying_share": sum(varying) / len(varying),
        },
    }
