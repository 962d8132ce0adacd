"""A whole site's demand-side KPIs from its energy balance (docs/site-energy.md), set-based: one
balance statement whatever the number of meters, never one query per asset.

- *Consumption* (``energy_kwh``, ``peak_demand_kw``, ``load_factor``, SEC) is what the site
  used: ``import - export + generation + discharge - charge`` per interval, so a main meter is
  never added to its own sub-meters and prosumers' own use counts.
- *Grid import* is what the site bought: cost (energy and demand charges) and carbon are priced
  on it, and ``contract_utilization_pct`` is its peak against the contract demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics import kpis
from gridpilot.analytics.kpis import Figure
from gridpilot.assets.models import Site
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.insights.data import AssetInfo, grid
from gridpilot.insights.kpis.inputs import AssetSeries, Period
from gridpilot.telemetry.rollups import LEVEL_BY_STEP

#: KPI intervals the balance is solved on directly (its rollup levels).
BALANCE_INTERVALS = {ms for ms, name in LEVEL_BY_STEP.items() if name in ("15m", "1h")}


@dataclass(frozen=True)
class SiteSeries:
    """A site's consumption and grid import per KPI interval, and the balance behind them."""

    consumption: AssetSeries
    imported: AssetSeries
    generation: AssetSeries
    balance: SiteBalance


def _part(site: Site, name: str, kwh: np.ndarray, period: Period) -> AssetSeries:
    """One term of the balance as an ``AssetSeries`` (kWh and mean kW per interval)."""
    index = grid(period.start_ms, period.end_ms, period.interval_ms)
    energy = pd.Series(kwh[: len(index)], index=index, dtype="float64")
    hours = period.interval_ms / 3_600_000
    info = AssetInfo(0, site.id, name, "site", "site", None)
    return AssetSeries(info, energy, energy / hours, None, "balance")


async def site_series(
    *, session: AsyncSession, site: Site, period: Period, max_gap_s: float
) -> SiteSeries:
    """The site's balance on the KPI intervals of ``period`` (15 min or 1 h); a power reading
    stands for at most ``max_gap_s`` (or twice its asset's expected interval)."""
    interval = LEVEL_BY_STEP[period.interval_ms]
    found = await site_balances(
        session=session,
        site_ids=[site.id],
        start_ms=period.start_ms,
        end_ms=period.end_ms,
        interval=interval,
        max_gap_s=int(max_gap_s),
    )
    balance = found[site.id]
    values = balance.balance.values
    return SiteSeries(
        consumption=_part(site, "consumption", values["consumption"], period),
        imported=_part(site, "grid import", values["import"], period),
        generation=_part(site, "generation", values["generation"], period),
        balance=balance,
    )


def energy_figure(part: AssetSeries) -> dict[str, Any]:
    """``energy_kwh`` of a balance term: its sum over the known intervals, with coverage."""
    known = part.energy_kwh.dropna()
    return {
        "value": float(known.sum()) if len(known) else None,
        "unit": "kWh",
        "coverage": part.coverage,
        "methods": ["balance"],
        "resets": 0,
    }


def contract_utilization(peak_import_kw: Figure, contract_kw: float | None) -> Figure:
    """Peak grid import / contract demand [%] (> 100: over the contract)."""
    share = kpis.contract_utilisation(peak_import_kw, contract_kw)
    value = None if share.value is None else share.value * 100.0
    return Figure(value, "%", share.coverage, share.detail)
