"""The demo's flexibility: the portfolio's battery and the office building's EV chargers under
the MPC, and a first day-ahead schedule of each site.

``prepare(sessions, now_ms, settings)`` (idempotent) gives the solar park's ``Battery 1``
(the simulated 1 MWh / 500 kW battery, ``sim.storage.Battery``) and the office building's two
EV chargers flexible resources with ``auto_dispatch``, so the server's MPC loop
(``flex.tasks.FlexRuntime``) re-plans them every 15 minutes and dispatches each step as
commands, which the in-process simulator follows (``sim.model.Overrides.remote``). Each EV
charger gets a session from the next quarter hour to 8 hours later (renewed when a re-run finds
it over). Each site is then planned once, as ``POST /api/v1/sites/{id}/schedule`` does; a site
whose forecast cannot be made yet (too little history) is planned by the MPC later. The
community's simulated members have no battery, so it has no flexible resource here.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import list_assets, list_sites
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import iso
from gridpilot.dr import service as dr
from gridpilot.flex import service as flex
from gridpilot.flex.schedule_schemas import ScheduleRequest
from gridpilot.flex.schemas import BatteryCreate, EVChargerCreate, ResourceUpdate

SOLAR = "Sim solar park (Ravenna)"
BUILDING = "Sim office building (Milan)"
QUARTER_MS = 900_000
SESSION_MS = 8 * 3_600_000
ETA = round(math.sqrt(0.92), 4)  # the simulated battery's round trip, split evenly
#: The simulated ``Battery()``: 1000 kWh, 500 kW, SOC 10-90 %.
BATTERY = {"capacity_kwh": 1000.0, "charge_max_kw": 500.0, "discharge_max_kw": 500.0,
           "soc_min_pct": 10.0, "soc_max_pct": 90.0, "charge_efficiency": ETA,
           "discharge_efficiency": ETA, "cycle_cost_eur_per_kwh": 0.04}  # fmt: skip
#: EV charger asset name -> (rated kW, energy the session needs [kWh]).
CHARGERS = {"EV charger 1": (22.0, 30.0), "EV charger 2": (11.0, 15.0)}


def _session(now_ms: int, energy_kwh: float) -> dict[str, Any]:
    arrival = -(-now_ms // QUARTER_MS) * QUARTER_MS
    return {"label": "demo car", "arrival": iso(arrival), "departure": iso(arrival + SESSION_MS),
            "energy_kwh": energy_kwh}  # fmt: skip


async def _resources(session: AsyncSession, site_id: int, now_ms: int) -> int:
    """Create (or refresh) the site's demo resources; how many it has."""
    have = {r.name: r for r in await flex.list_resources(session=session, site_id=site_id)}
    assets = {a.name: a.id for a in await list_assets(session=session, principal=dr.SYSTEM,
                                                      site_id=site_id)}  # fmt: skip
    count = 0
    if "Battery 1" in assets:
        count += 1
        if "Battery 1" not in have:
            battery = BatteryCreate.model_validate({
                "kind": "battery", "name": "Battery 1", "asset_id": assets["Battery 1"],
                "auto_dispatch": True, "params": BATTERY,
            })  # fmt: skip
            await flex.create_resource(
                session=session, site_id=site_id, data=battery, principal=None
            )
    for name, (rated_kw, kwh) in CHARGERS.items():
        if name not in assets:
            continue
        count += 1
        found = have.get(name)
        if found is None:
            params = {"power_max_kw": rated_kw, "sessions": [_session(now_ms, kwh)]}
            charger = EVChargerCreate.model_validate({"kind": "ev_charger", "name": name,
                                                   "asset_id": assets[name], "auto_dispatch": True,
                                                   "params": params})  # fmt: skip
            await flex.create_resource(
                session=session, site_id=site_id, data=charger, principal=None
            )
        elif all(iso_ms(s.departure) <= now_ms for s in getattr(found.params, "sessions", [])):
            await flex.update_resource(
                session=session, site_id=site_id, resource_id=found.id, principal=None,
                data=ResourceUpdate(params={"sessions": [_session(now_ms, kwh)]}),
            )  # fmt: skip
    return count


def iso_ms(moment: Any) -> int:
    return int(moment.timestamp() * 1000)


async def _plan(sessions: async_sessionmaker[AsyncSession], site_id: int, name: str,
                now_ms: int, settings: Settings) -> str:  # fmt: skip
    try:
        async with sessions() as session, session.begin():
            plan = await flex.plan_schedule(
                session=session, site_id=site_id, request=ScheduleRequest(), principal=None,
                settings=settings, now_ms=now_ms, actor="gridpilot demo",
            )  # fmt: skip
    except GridpilotError as exc:
        return f"{name}: planned by the MPC later ({exc.message[:80]})"
    return (
        f"{name}: {plan.status}, saves {plan.savings.saving_vs_no_battery_eur} EUR vs no "
        f"battery over 24 h (/sites/{site_id})"
    )


async def prepare(
    sessions: async_sessionmaker[AsyncSession], now_ms: int, settings: Settings
) -> str:
    """Resources and a first schedule on the demo's sites; a line for the demo's panel."""
    async with sessions() as session, session.begin():
        sites = {s.name: s for s in await list_sites(session=session, principal=dr.SYSTEM)}
        ready = []
        for name in (SOLAR, BUILDING):
            if name in sites and await _resources(session, sites[name].id, now_ms):
                ready.append((sites[name].id, name))
    if not ready:
        return "flexibility: no simulated battery or EV charger"
    plans = [await _plan(sessions, site_id, name, now_ms, settings) for site_id, name in ready]
    return "flexibility (MPC every 15 min): " + "; ".join(plans)
