"""The rule-based self-consumption controller: the usual reference for a PV + battery site.

Each step, every battery in turn charges from the PV surplus left after the load and
discharges to cover the deficit, within its power limits and its SOC band; it never draws from
or feeds the grid on purpose and ignores prices (the "maximise self-consumption" mode of most
home batteries). Deferrable loads and EVs run as early as allowed, as in the fallback.
"""

from __future__ import annotations

import numpy as np

from .fallback import asap_loads, with_grid_exchange
from .problem import FlexProblem
from .resources import Battery
from .schedule import BatteryPlan, Flows


def self_consumption(battery: Battery, net_kw: np.ndarray, step_h: float) -> BatteryPlan:
    """One battery following ``net_kw`` (demand minus PV, kW per step; < 0 is a surplus)."""
    steps = net_kw.size
    charge, discharge, soc = np.zeros(steps), np.zeros(steps), np.zeros(steps)
    level = battery.soc_start_kwh
    eta_c, eta_d = battery.charge_efficiency, battery.discharge_efficiency
    for t in range(steps):
        if net_kw[t] < 0:
            room_kw = max(0.0, battery.soc_max_kwh - level) / (eta_c * step_h)
            charge[t] = min(battery.charge_max_kw, -net_kw[t], room_kw)
            level += eta_c * charge[t] * step_h
        elif net_kw[t] > 0:
            available_kw = max(0.0, level - battery.soc_min_kwh) * eta_d / step_h
            discharge[t] = min(battery.discharge_max_kw, net_kw[t], available_kw)
            level -= discharge[t] / eta_d * step_h
        soc[t] = level
    return BatteryPlan(charge, discharge, soc)


def rule_based_flows(problem: FlexProblem) -> Flows:
    """The flows of the self-consumption controller on ``problem`` (see module docstring)."""
    ev_kw, deferrable_kw = asap_loads(problem)
    shifted = sum((p for p in [*ev_kw.values(), *deferrable_kw.values()]), np.zeros(problem.steps))
    net = problem.load_kw + shifted - problem.pv_kw
    batteries = {}
    for battery in problem.batteries:
        plan = self_consumption(battery, net, problem.step_h)
        batteries[battery.name] = plan
        net = net + plan.charge_kw - plan.discharge_kw
    return with_grid_exchange(problem, batteries, ev_kw, deferrable_kw)
