"""A site's current demand against its contract (the demand-response seed's ``/current``).

From the site's current balance (``balance.current``, set-based, docs/site-energy.md):
consumption, generation, storage and the exchange with the grid [kW] from the newest power
reading of each asset; a reading older than ``max_age_ms`` is stale and left out (the asset is
listed with ``stale: true``), so a dead meter never freezes the figure. The contract demand is
a limit on what the site draws from the grid, so utilisation and headroom compare the import.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Principal
from gridpilot.balance.cache import CurrentBalanceCache
from gridpilot.balance.current import DEFAULT_MAX_AGE_MS, current_balances
from gridpilot.core.errors import NotFound
from gridpilot.core.timestamps import iso, now_ms


async def current_demand(
    *,
    session: AsyncSession,
    site_id: int,
    principal: Principal,
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
    at_ms: int | None = None,
    cache: CurrentBalanceCache | None = None,
) -> dict[str, Any]:
    """Current demand [kW], generation, grid exchange, storage and contract utilisation [%]."""
    site = await get_site(session=session, site_id=site_id, principal=principal)
    if principal.asset_ids is not None:  # a device key sees its asset, not the whole site
        raise NotFound(f"site {site_id} not found")
    now = now_ms() if at_ms is None else at_ms
    if cache is not None and at_ms is None:  # from memory (balance.cache)
        found = await cache.balances([site_id], now_ms=now, max_age_ms=max_age_ms)
    else:
        found = await current_balances(
            session=session, site_ids=[site_id], now_ms=now, max_age_ms=max_age_ms
        )
    current = found[site_id]
    kw = current.power_kw
    imported, exported = kw["import"], kw["export"]
    net = imported - exported if imported is not None and exported is not None else None
    contract = site.contract_demand_kw
    limited = imported is not None and bool(contract)
    utilisation = imported / contract * 100.0 if imported is not None and contract else None
    headroom = contract - imported if imported is not None and contract else None
    return {
        "site_id": site.id,
        "site_name": site.name,
        "timestamp": iso(current.newest_ms) if current.newest_ms is not None else None,
        "current_demand_kw": kw["consumption"],
        "current_generation_kw": kw["generation"],
        "grid_import_kw": imported,
        "grid_export_kw": exported,
        "storage_charge_kw": kw["charge"],
        "storage_discharge_kw": kw["discharge"],
        "net_demand_kw": net,
        "contract_demand_kw": contract,
        "contract_utilization_pct": utilisation,
        "headroom_kw": headroom,
        "over_contract": bool(limited and utilisation is not None and utilisation > 100.0),
        "sources": current.sources,
        "fresh_share": current.fresh_share,
        "flagged": current.flagged,
        "points_without_data": list(current.without_data),
        "max_age_s": max_age_ms / 1000,
        "assets": current.assets,
    }
