"""The safe fallback plan and the grid exchange of any set of decisions (no solver).

Fallback: batteries idle (SOC stays where it is), every deferrable load and EV as early as
allowed at full power until its energy is in (the last step at the remaining power, never
below the minimum), nothing shed, PV curtailed only above the export limit. It is what a site
without an optimiser would do, so it is also the "no battery, no shifting" reference of the
savings.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .problem import FlexProblem, Vector
from .schedule import BatteryPlan, Flows


def as_early_as_possible(
    steps: int,
    window: range,
    energy_kwh: float,
    step_h: float,
    power_max_kw: float,
    power_min_kw: float = 0.0,
) -> Vector:
    """Power [kW] per step of a load run at full power from the window's start until
    ``energy_kwh`` is delivered (or the window ends)."""
    power = np.zeros(steps)
    remaining = energy_kwh
    for t in window:
        if remaining <= 1e-9:
            break
        p = min(power_max_kw, remaining / step_h)
        power[t] = max(p, power_min_kw)
        remaining -= power[t] * step_h
    return power


def idle_battery(steps: int, soc_kwh: float) -> BatteryPlan:
    zeros = np.zeros(steps)
    return BatteryPlan(zeros, zeros.copy(), np.full(steps, soc_kwh))


def with_grid_exchange(
    problem: FlexProblem,
    batteries: Mapping[str, BatteryPlan],
    ev_kw: Mapping[str, Vector],
    deferrable_kw: Mapping[str, Vector],
) -> Flows:
    """The flows that follow from these decisions: import or export of the net demand, PV
    curtailed only as far as the export limit requires (and allows)."""
    charge = sum((b.charge_kw for b in batteries.values()), np.zeros(problem.steps))
    discharge = sum((b.discharge_kw for b in batteries.values()), np.zeros(problem.steps))
    shifted = sum((p for p in [*ev_kw.values(), *deferrable_kw.values()]), np.zeros(problem.steps))
    net = problem.load_kw + shifted + charge - discharge - problem.pv_kw
    export = np.maximum(-net, 0.0)
    curtailed = np.zeros(problem.steps)
    if problem.limits.pv_curtailable:
        curtailed = np.minimum(problem.pv_kw, np.maximum(export - problem.limits.export_max_kw, 0))
    export = export - curtailed
    shed = {load.name: np.zeros(problem.steps) for load in problem.curtailable_loads}
    imports = np.maximum(net, 0.0)
    return Flows(imports, export, curtailed, dict(batteries), ev_kw, deferrable_kw, shed)


def asap_loads(problem: FlexProblem) -> tuple[dict[str, Vector], dict[str, Vector]]:
    """EV and deferrable power [kW] when each runs as early as allowed (see module doc)."""
    steps, dt = problem.steps, problem.step_h
    ev_kw = {
        ev.name: as_early_as_possible(
            steps,
            problem.plug_window(ev),
            problem.ev_energy_due_kwh(ev),
            dt,
            ev.power_max_kw,
            ev.power_min_kw,
        )
        for ev in problem.ev_sessions
    }
    deferrable_kw = {
        load.name: as_early_as_possible(
            steps,
            problem.window(load),
            problem.deferrable_energy_due_kwh(load),
            dt,
            load.power_max_kw,
            load.power_min_kw,
        )
        for load in problem.deferrable_loads
    }
    return ev_kw, deferrable_kw


def fallback_flows(problem: FlexProblem) -> Flows:
    """The safe fallback (see module docstring)."""
    ev_kw, deferrable_kw = asap_loads(problem)
    batteries = {b.name: idle_battery(problem.steps, b.soc_start_kwh) for b in problem.batteries}
    return with_grid_exchange(problem, batteries, ev_kw, deferrable_kw)
