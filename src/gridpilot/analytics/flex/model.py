"""The day-ahead model: columns, the site balance, SOC dynamics, demand charge, objective.

Per step t (length ``step_h`` = dt hours), all powers in kW averaged over the step:

* balance: ``import - export = load + sum deferrable + sum EV + sum charge - sum discharge
  - (pv - curtailed) - sum shed``;
* battery: ``soc_t = soc_{t-1} + dt * (eta_c * charge_t - discharge_t / eta_d)`` [kWh], SOC
  in its band (soft when the start is outside it: the violation may only shrink), terminal
  ``soc_{T-1} >= soc_end``;
* limits: ``import <= import_max_kw``, ``export <= export_max_kw``, ``curtailed <= pv``;
* demand charge: ``peak_excess >= import_t - incumbent_peak_kw``, ``peak_excess >= 0``.

Objective [EUR]: ``sum_t dt * (p_import_t * import_t - p_export_t * export_t + wear * (charge_t
+ discharge_t) + c_shed * shed_t) + demand_charge_eur_per_kw * peak_excess`` plus penalties
(soft SOC band, and in the elastic model the constraint slacks). The formulation follows
EMHASS (Hernandez Torres, ``emhass/optimization.py``: the "profit" cost function, PV
curtailment, semi-continuous deferrable loads); binaries against simultaneous import/export or
charge/discharge are added only when asked (see ``solve.py`` for when that is).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .lp import INF, IntArray, LpBuilder, Term
from .model_loads import SHORTFALL_PENALTY_EUR_PER_KWH, add_deferrable, add_ev
from .problem import FlexProblem
from .resources import Battery

#: EUR per kWh-hour of state of charge outside the band (start outside it): far above prices,
#: so the battery moves back to its band as fast as its power allows.
SOC_BAND_PENALTY_EUR_PER_KWH_H = 100.0
#: A negligible cost per kWh curtailed so PV is curtailed only when it pays.
CURTAIL_TIE_BREAK_EUR_PER_KWH = 1e-5


@dataclass
class BatteryColumns:
    charge: IntArray
    discharge: IntArray
    soc: IntArray
    terminal_shortfall: IntArray | None = None


@dataclass
class ModelColumns:
    """Where each quantity sits among the columns; ``slacks`` only in the elastic model:
    constraint group -> (columns, unit)."""

    import_kw: IntArray
    export_kw: IntArray
    curtailed_kw: IntArray
    batteries: dict[str, BatteryColumns] = field(default_factory=dict)
    ev_kw: dict[str, IntArray] = field(default_factory=dict)
    deferrable_kw: dict[str, IntArray] = field(default_factory=dict)
    shed_kw: dict[str, IntArray] = field(default_factory=dict)
    slacks: dict[str, tuple[IntArray, str]] = field(default_factory=dict)


def big_m_kw(problem: FlexProblem) -> float:
    """An upper bound on any grid flow [kW]: everything that could be drawn or injected."""
    flexible = sum(b.charge_max_kw + b.discharge_max_kw for b in problem.batteries)
    flexible += sum(e.power_max_kw for e in problem.ev_sessions)
    flexible += sum(d.power_max_kw for d in problem.deferrable_loads)
    return float(problem.load_kw.max() + problem.pv_kw.max() + flexible + 1.0)


def _add_battery(
    lp: LpBuilder, problem: FlexProblem, battery: Battery, binaries: bool, elastic: bool
) -> BatteryColumns:
    steps, dt = problem.steps, problem.step_h
    wear = dt * battery.wear_cost_eur_per_kwh
    charge = lp.add_columns(steps, upper=battery.charge_max_kw, cost=wear)
    discharge = lp.add_columns(steps, upper=battery.discharge_max_kw, cost=wear)
    start, low, high = battery.soc_start_kwh, battery.soc_min_kwh, battery.soc_max_kwh
    soc = lp.add_columns(steps, lower=min(low, start), upper=max(high, start))
    previous = np.concatenate(([soc[0]], soc[:-1]))
    has_previous = np.concatenate(([0.0], np.full(steps - 1, -1.0)))
    rhs = np.concatenate(([start], np.zeros(steps - 1)))
    terms: list[Term] = [(soc, 1.0), (previous, has_previous)]
    terms += [(charge, -dt * battery.charge_efficiency)]
    terms += [(discharge, dt / battery.discharge_efficiency)]
    lp.add_rows(terms, lower=rhs, upper=rhs)
    if start < low:
        _soft_band(lp, soc, low - start, dt, sign=1.0, bound=low)
    if start > high:
        _soft_band(lp, soc, start - high, dt, sign=-1.0, bound=high)
    columns = BatteryColumns(charge, discharge, soc)
    if battery.soc_end_min_kwh is not None:
        cols, coeffs = soc[-1:], np.ones(1)
        if elastic:
            columns.terminal_shortfall = lp.add_columns(1, cost=SHORTFALL_PENALTY_EUR_PER_KWH)
            cols, coeffs = np.concatenate((cols, columns.terminal_shortfall)), np.ones(2)
        lp.add_sum_row(cols, coeffs, lower=battery.soc_end_min_kwh, upper=INF)
    if binaries:
        mode = lp.add_columns(steps, upper=1.0, integer=True)  # 1: may charge, 0: may discharge
        lp.add_rows([(charge, 1.0), (mode, -battery.charge_max_kw)], lower=-INF, upper=0.0)
        limit = battery.discharge_max_kw
        lp.add_rows([(discharge, 1.0), (mode, limit)], lower=-INF, upper=limit)
    return columns


def _soft_band(
    lp: LpBuilder, soc: IntArray, gap_kwh: float, dt: float, sign: float, bound: float
) -> None:
    """``sign * soc_t + violation_t >= sign * bound`` with a violation that never grows."""
    steps = soc.size
    violation = lp.add_columns(steps, upper=gap_kwh, cost=SOC_BAND_PENALTY_EUR_PER_KWH_H * dt)
    lp.add_rows([(soc, sign), (violation, 1.0)], lower=sign * bound, upper=INF)
    if steps > 1:
        lp.add_rows([(violation[1:], 1.0), (violation[:-1], -1.0)], lower=-INF, upper=0.0)


def _add_grid(
    lp: LpBuilder, problem: FlexProblem, binary_steps: np.ndarray
) -> tuple[IntArray, IntArray]:
    dt, limits = problem.step_h, problem.limits
    imports = lp.add_columns(
        problem.steps, upper=limits.import_max_kw, cost=dt * problem.import_price_eur_per_kwh
    )
    exports = lp.add_columns(
        problem.steps, upper=limits.export_max_kw, cost=-dt * problem.export_price_eur_per_kwh
    )
    steps = np.flatnonzero(binary_steps)
    if steps.size:
        m_import = min(limits.import_max_kw, big_m_kw(problem))
        m_export = min(limits.export_max_kw, big_m_kw(problem))
        mode = lp.add_columns(steps.size, upper=1.0, integer=True)  # 1: may import
        lp.add_rows([(imports[steps], 1.0), (mode, -m_import)], lower=-INF, upper=0.0)
        lp.add_rows([(exports[steps], 1.0), (mode, m_export)], lower=-INF, upper=m_export)
    return imports, exports


def build_model(
    problem: FlexProblem,
    *,
    grid_binary_steps: np.ndarray | None = None,
    battery_binaries: bool = False,
    elastic: bool = False,
) -> tuple[LpBuilder, ModelColumns]:
    """The LP (MILP when binaries are asked for or loads need them) of ``problem``.

    ``elastic``: the constraint groups that can conflict get penalised slack columns (import
    and export limits [kW], terminal SOC, EV and deferrable energy [kWh]) so the model is
    always feasible and the non-zero slacks name the conflict.
    """
    lp, steps, dt = LpBuilder(), problem.steps, problem.step_h
    binary_steps = np.zeros(steps, bool) if grid_binary_steps is None else grid_binary_steps
    imports, exports = _add_grid(lp, problem, binary_steps)
    pv_upper = problem.pv_kw if problem.limits.pv_curtailable else 0.0
    curtailed = lp.add_columns(steps, upper=pv_upper, cost=dt * CURTAIL_TIE_BREAK_EUR_PER_KWH)
    cols = ModelColumns(imports, exports, curtailed)
    balance: list[Term] = [(imports, 1.0), (exports, -1.0), (curtailed, -1.0)]
    for battery in problem.batteries:
        b = _add_battery(lp, problem, battery, battery_binaries, elastic)
        cols.batteries[battery.name] = b
        balance += [(b.charge, -1.0), (b.discharge, 1.0)]
        if b.terminal_shortfall is not None:
            cols.slacks[f"battery_terminal_soc:{battery.name}"] = (b.terminal_shortfall, "kWh")
    for ev in problem.ev_sessions:
        power, shortfall = add_ev(lp, problem, ev, elastic)
        cols.ev_kw[ev.name] = power
        balance.append((power, -1.0))
        if shortfall is not None:
            cols.slacks[f"ev_deadline:{ev.name}"] = (shortfall, "kWh")
    for load in problem.deferrable_loads:
        power, shortfall = add_deferrable(lp, problem, load, elastic)
        cols.deferrable_kw[load.name] = power
        balance.append((power, -1.0))
        if shortfall is not None:
            cols.slacks[f"deferrable_energy:{load.name}"] = (shortfall, "kWh")
    _add_shedding(lp, problem, cols, balance)
    if elastic:
        penalty = dt * SHORTFALL_PENALTY_EUR_PER_KWH
        over_import = lp.add_columns(steps, cost=penalty)
        over_export = lp.add_columns(steps, cost=penalty)
        balance += [(over_import, 1.0), (over_export, -1.0)]
        cols.slacks["import_limit"] = (over_import, "kW")
        cols.slacks["export_limit"] = (over_export, "kW")
    net = problem.load_kw - problem.pv_kw
    lp.add_rows(balance, lower=net, upper=net)
    if problem.demand_charge_eur_per_kw > 0:
        peak = lp.add_columns(1, cost=problem.demand_charge_eur_per_kw)
        peak_cols = np.full(steps, peak[0])
        lp.add_rows([(imports, 1.0), (peak_cols, -1.0)], -INF, problem.incumbent_peak_kw)
    return lp, cols


def _add_shedding(
    lp: LpBuilder,
    problem: FlexProblem,
    cols: ModelColumns,
    balance: list[Term],
) -> None:
    if not problem.curtailable_loads:
        return
    dt, steps = problem.step_h, problem.steps
    for load in problem.curtailable_loads:
        upper = np.minimum(load.max_shed_kw, problem.load_kw)
        shed = lp.add_columns(steps, upper=upper, cost=dt * load.cost_eur_per_kwh)
        cols.shed_kw[load.name] = shed
        balance.append((shed, 1.0))
    if len(problem.curtailable_loads) > 1:
        terms = [(shed, 1.0) for shed in cols.shed_kw.values()]
        lp.add_rows(terms, lower=-INF, upper=problem.load_kw)
