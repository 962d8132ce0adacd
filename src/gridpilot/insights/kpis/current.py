"""A site's current demand against its contract (the demand-response seed's ``/current``).

Demand = sum of the newest ``power_kw`` reading of each ``consumer`` asset, generation = the
same over ``producer`` assets; readings older than ``max_age_ms`` are stale and left out (the
asset is listed with ``stale: true``), so a dead meter never freezes the figure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import GENERATION_ROLES, LOAD_ROLES
from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.insights.data import site_assets
from gridpilot.telemetry.service import latest_values

#: Default age after which a reading no longer counts as current [ms] (seed: 15-s readings).
DEFAULT_MAX_AGE_MS = 300_000


async def current_demand(
    *,
    session: AsyncSession,
    site_id: int,
    principal: Principal,
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
    at_ms: int | None = None,
) -> dict[str, Any]:
    """Current demand [kW], generation [kW] and contract utilisation [%] of a site."""
    site = await get_site(session=session, site_id=site_id, principal=principal)
    now = now_ms() if at_ms is None else at_ms
    demand = generation = 0.0
    newest: int | None = None
    counted = 0
    rows = []
    for asset in await site_assets(session=session, site_id=site_id, principal=principal):
        side = (
            "load"
            if asset.role in LOAD_ROLES
            else "generation"
            if asset.role in GENERATION_ROLES
            else None
        )
        latest = await latest_values(session=session, asset_id=asset.id, metric_keys=["power_kw"])
        value = latest.get("power_kw")
        stale = value is None or now - value.ts_ms > max_age_ms
        rows.append(
            {
                "asset_id": asset.id,
                "name": asset.name,
                "role": asset.role,
                "counted_as": side,
                "power_kw": None if value is None else value.value,
                "ts": None if value is None else iso(value.ts_ms),
                "stale": stale,
            }
        )
        if stale or side is None or value is None:
            continue
        counted += 1
        newest = value.ts_ms if newest is None else max(newest, value.ts_ms)
        if side == "load":
            demand += value.value
        else:
            generation += value.value
    contract = site.contract_demand_kw
    has_data = counted > 0
    return {
        "site_id": site.id,
        "site_name": site.name,
        "timestamp": iso(newest) if newest is not None else None,
        "current_demand_kw": demand if has_data else None,
        "current_generation_kw": generation if has_data else None,
        "net_demand_kw": demand - generation if has_data else None,
        "contract_demand_kw": contract,
        "contract_utilization_pct": demand / contract * 100.0 if has_data and contract else None,
        "headroom_kw": contract - demand if has_data and contract else None,
        "over_contract": bool(has_data and contract and demand > contract),
        "max_age_s": max_age_ms / 1000,
        "assets": rows,
    }
