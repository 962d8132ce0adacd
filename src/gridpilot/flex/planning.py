"""A site's stored resources and inputs as the optimiser's problem (``analytics.flex``).

Names inside the problem are internal (``battery:<id>``, ``ev:<id>:<session>``,
``load:<id>:<day>``, ``shed:<id>``) so two resources can never clash; ``Problem.label`` maps
them back to the resource's name for the stored schedule (a load's days and an EV's sessions
add up under their resource's name). What the optimiser does not model is left out with a
note: HVAC setpoint offsets, curtailable loads with a duration cap (``dr`` dispatches those
for events), window occurrences already under way, EV sessions shorter than one step, and a
one-block load whose window the horizon cuts before its run fits (a later plan takes it:
``FlexProblem.deferrable_energy_kwh``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gridpilot.analytics.flex import (
    Battery,
    CurtailableLoad,
    DeferrableLoad,
    EVSession,
    FlexProblem,
    SiteLimits,
)
from gridpilot.core.timestamps import iso
from gridpilot.flex.inputs import Horizon
from gridpilot.flex.schemas import (
    BatteryParams,
    CurtailableLoadParams,
    DeferrableLoadParams,
    EVChargerParams,
    PvCurtailmentParams,
    ResourceOut,
)
from gridpilot.flex.windows import first_step_at_or_after, occurrences, steps_before


@dataclass
class SiteData:
    """The inputs of one site's plan (see ``inputs.py``)."""

    timezone: str
    horizon: Horizon
    load_kw: np.ndarray
    pv_kw: np.ndarray
    import_price_eur_per_kwh: np.ndarray
    export_price_eur_per_kwh: np.ndarray
    demand_charge_eur_per_kw: float
    incumbent_peak_kw: float
    contract_demand_kw: float | None
    #: Measured SOC [%] and its time, by battery resource id.
    soc_pct: dict[int, tuple[float, int]] = field(default_factory=dict)


@dataclass
class Problem:
    problem: FlexProblem
    #: Internal name -> resource name.
    label: dict[str, str]
    #: Battery resource name -> capacity [kWh] (to state SOC in percent).
    capacity_kwh: dict[str, float]
    soc: dict[str, dict[str, Any]]
    notes: list[str]
    export_limit_kw: float | None


def _battery(r: ResourceOut, p: BatteryParams, data: SiteData, soc: dict[str, Any]) -> Battery:
    measured = data.soc_pct.get(r.id)
    start_pct = measured[0] if measured else p.soc_start_pct
    soc[r.name] = (
        {"start_pct": start_pct, "source": "measured", "ts": iso(measured[1])}
        if measured
        else {"start_pct": start_pct, "source": "configured"}
    )
    return Battery(
        f"battery:{r.id}",
        capacity_kwh=p.capacity_kwh,
        charge_max_kw=p.charge_max_kw,
        discharge_max_kw=p.discharge_max_kw,
        soc_start_frac=start_pct / 100,
        soc_min_frac=p.soc_min_pct / 100,
        soc_max_frac=p.soc_max_pct / 100,
        soc_end_frac=None if p.soc_end_pct is None else p.soc_end_pct / 100,
        charge_efficiency=p.charge_efficiency,
        discharge_efficiency=p.discharge_efficiency,
        wear_cost_eur_per_kwh=p.cycle_cost_eur_per_kwh / 2,
    )


def _ev_sessions(
    r: ResourceOut, p: EVChargerParams, horizon: Horizon, notes: list[str]
) -> list[EVSession]:
    found = []
    for i, session in enumerate(p.sessions):
        arrival_ms = int(session.arrival.timestamp() * 1000)
        departure_ms = int(session.departure.timestamp() * 1000)
        if departure_ms <= horizon.start_ms or arrival_ms >= horizon.end_ms:
            continue  # over, or not yet in the horizon
        arrival = max(0, first_step_at_or_after(arrival_ms, horizon.start_ms, horizon.step_ms))
        departure = steps_before(departure_ms, horizon.start_ms, horizon.step_ms)
        if arrival >= horizon.steps:
            continue  # arrives during the last step: nothing whole to plan
        if departure <= arrival:
            notes.append(f"EV charger {r.name!r}: session {i + 1} is shorter than one step")
            continue
        if arrival_ms < horizon.start_ms:
            notes.append(
                f"EV charger {r.name!r}: session {i + 1} is under way; its energy_kwh is "
                "taken as what it still needs"
            )
        found.append(
            EVSession(
                f"ev:{r.id}:{i}",
                arrival_step=arrival,
                departure_step=departure,
                energy_kwh=session.energy_kwh,
                power_max_kw=p.power_max_kw,
                power_min_kw=p.power_min_kw,
            )
        )
    return found


def _deferrable(
    r: ResourceOut, p: DeferrableLoadParams, data: SiteData, notes: list[str]
) -> list[DeferrableLoad]:
    horizon = data.horizon
    found, under_way = occurrences(
        start_ms=horizon.start_ms, steps=horizon.steps, step_ms=horizon.step_ms,
        timezone=data.timezone, window_start=p.window_start, window_end=p.window_end,
    )  # fmt: skip
    if under_way:
        notes.append(
            f"deferrable load {r.name!r}: the window under way at the start is not planned "
            "(what already ran is not known)"
        )
    min_run = max(1, math.ceil(p.min_run_min * 60_000 / horizon.step_ms))
    return [
        DeferrableLoad(
            f"load:{r.id}:{k}",
            energy_kwh=p.energy_kwh,
            power_max_kw=p.power_max_kw,
            power_min_kw=p.power_min_kw,
            window_start_step=o.first_step,
            window_end_step=o.end_step,
            interruptible=p.interruptible,
            min_run_steps=min_run,
        )
        for k, o in enumerate(found)
    ]


def build_problem(resources: list[ResourceOut], data: SiteData) -> Problem:
    """The optimiser's problem for the enabled ``resources`` on ``data``."""
    batteries: list[Battery] = []
    evs: list[EVSession] = []
    loads: list[DeferrableLoad] = []
    sheds: list[CurtailableLoad] = []
    label: dict[str, str] = {}
    capacity: dict[str, float] = {}
    soc: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    export_limits: list[float] = []
    curtailable_pv = False
    for r in resources:
        p = r.params
        made: list[Battery] | list[EVSession] | list[DeferrableLoad] | list[CurtailableLoad] = []
        if isinstance(p, BatteryParams):
            made = [_battery(r, p, data, soc)]
            batteries.extend(made)
            capacity[r.name] = p.capacity_kwh
        elif isinstance(p, EVChargerParams):
            made = _ev_sessions(r, p, data.horizon, notes)
            evs.extend(made)
        elif isinstance(p, DeferrableLoadParams):
            made = _deferrable(r, p, data, notes)
            loads.extend(made)
        elif isinstance(p, CurtailableLoadParams):
            if p.max_duration_min is None:
                made = [CurtailableLoad(f"shed:{r.id}", p.shed_kw, p.cost_eur_per_kwh)]
                sheds.extend(made)
            else:
                notes.append(f"curtailable load {r.name!r} has a duration cap: not scheduled")
        elif isinstance(p, PvCurtailmentParams):
            curtailable_pv = True
            if p.export_limit_kw is not None:
                export_limits.append(p.export_limit_kw)
        else:
            notes.append(f"HVAC {r.name!r}: setpoint offsets are not scheduled yet")
        for item in made:
            label[item.name] = r.name
    export_limit = min(export_limits) if export_limits else None
    contract = data.contract_demand_kw
    problem = FlexProblem(
        step_h=data.horizon.step_ms / 3_600_000,
        load_kw=data.load_kw,
        pv_kw=data.pv_kw,
        import_price_eur_per_kwh=data.import_price_eur_per_kwh,
        export_price_eur_per_kwh=data.export_price_eur_per_kwh,
        batteries=batteries,
        ev_sessions=evs,
        deferrable_loads=loads,
        curtailable_loads=sheds,
        limits=SiteLimits(
            import_max_kw=math.inf if contract is None else contract,
            export_max_kw=math.inf if export_limit is None else export_limit,
            pv_curtailable=curtailable_pv,
        ),
        demand_charge_eur_per_kw=data.demand_charge_eur_per_kw,
        incumbent_peak_kw=data.incumbent_peak_kw,
    )
    notes.extend(_left_to_later(problem, label, data.horizon))
    return Problem(problem, label, capacity, soc, notes, export_limit)


def _left_to_later(problem: FlexProblem, label: dict[str, str], horizon: Horizon) -> list[str]:
    """Notes for the one-block loads whose run does not fit before the horizon ends."""
    return [
        f"deferrable load {label[load.name]!r}: its window from "
        f"{iso(horizon.start_ms + load.window_start_step * horizon.step_ms)} ends after the "
        "horizon and its run does not fit before; left to a later plan"
        for load in problem.deferrable_loads
        if problem.left_to_later(load)
    ]
