"""The demo's flexibility: the portfolio's battery, the community's batteries and the office
building's EV chargers under the MPC, and a first day-ahead schedule of each site.

``prepare(sessions, now_ms, settings)`` (idempotent) gives every simulated battery (the solar
park's ``Battery 1``, 1 MWh / 500 kW; the home batteries behind three community members'
PODs, two of them at ``Office 3``: ``sim.community_scenario.COMMUNITY_BATTERIES``) and the office
building's two EV chargers flexible resources with ``auto_dispatch``, each battery's figures
taken from its simulated model, so the server's MPC loop (``flex.tasks.FlexRuntime``)
re-plans them every 15 minutes and dispatches each step as commands, which the in-process
simulator follows (``sim.model.Overrides.remote``; a member's battery inside its member's
model, so the POD's net power carries it). Each EV charger gets a session from the next
quarter hour to 8 hours later (renewed when a re-run finds it over). Each site is then planned
once, as ``POST /api/v1/sites/{id}/schedule`` does; a site whose forecast cannot be made yet
(too little history) is planned by the MPC later.
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
from gridpilot.sim.scenarios import SCENARIOS, scenario_sites
from gridpilot.sim.storage_devices import Battery

SOLAR = "Sim solar park (Ravenna)"
BUILDING = "Sim office building (Milan)"
QUARTER_MS = 900_000
SESSION_MS = 8 * 3_600_000
#: Wear cost of the demo's batteries per kWh cycled [EUR/kWh].
CYCLE_COST_EUR_PER_KWH = 0.04
#: EV charger asset name -> (rated kW, energy the session needs [kWh]).
CHARGERS = {"EV charger 1": (22.0, 30.0), "EV charger 2": (11.0, 15.0)}


def battery_params(model: Battery) -> dict[str, float]:
    """A simulated battery's figures as flex params (its round trip split evenly)."""
    eta = round(math.sqrt(model.efficiency), 4)
    return {"capacity_kwh": model.capacity_kwh, "charge_max_kw": model.rated_kw,
            "discharge_max_kw": model.rated_kw, "soc_min_pct": model.soc_min_pct,
            "soc_max_pct": model.soc_max_pct, "charge_efficiency": eta,
            "discharge_efficiency": eta,
            "cycle_cost_eur_per_kwh": CYCLE_COST_EUR_PER_KWH}  # fmt: skip


def simulated_batteries() -> dict[str, dict[str, Battery]]:
    """Site name -> battery asset name -> its simulated model, over every scenario."""
    found: dict[str, dict[str, Battery]] = {}
    for scenario in SCENARIOS:
        for site in scenario_sites(scenario):
            for spec in site.assets:
                if isinstance(spec.model, Battery):
                    found.setdefault(site.name, {})[spec.name] = spec.model
    return found


def _session(now_ms: int, energy_kwh: float) -> dict[str, Any]:
    arrival = -(-now_ms // QUARTER_MS) * QUARTER_MS
    return {"label": "demo car", "arrival": iso(arrival), "departure": iso(arrival + SESSION_MS),
            "energy_kwh": energy_kwh}  # fmt: skip


async def _resources(
    session: AsyncSession, site_id: int, now_ms: int, batteries: dict[str, Battery]
) -> int:
    """Create (or refresh) the site's demo resources; how many it has."""
    have = {r.name: r for r in await flex.list_resources(session=session, site_id=site_id)}
    assets = {a.name: a.id for a in await list_assets(session=session, principal=dr.SYSTEM,
                                                      site_id=site_id)}  # fmt: skip
    count = 0
    for name, model in batteries.items():
        if name not in assets:
            continue
        count += 1
        if name not in have:
            battery = BatteryCreate.model_validate({
                "kind": "battery", "name": name, "asset_id": assets[name],
                "auto_dispatch": True, "params": battery_params(model),
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
    batteries = simulated_batteries()
    async with sessions() as session, session.begin():
        sites = {s.name: s for s in await list_sites(session=session, principal=dr.SYSTEM)}
        ready = []
        for name in sorted({BUILDING, *batteries}, key=lambda n: (n != SOLAR, n)):
            found = sites.get(name)
            if found and await _resources(session, found.id, now_ms, batteries.get(name, {})):
                ready.append((found.id, name))
    if not ready:
        return "flexibility: no simulated battery or EV charger"
    plans = [await _plan(sessions, site_id, name, now_ms, settings) for site_id, name in ready]
    return "flexibility (MPC every 15 min): " + "; ".join(plans)
