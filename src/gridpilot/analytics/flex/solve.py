"""Solve a day-ahead problem: LP first, binaries only where they matter, never a crash.

Simultaneous import and export can only pay in a step whose export price is at least its
import price; simultaneous charge and discharge (burning energy in the losses) only when
energy has a negative value (a negative import price, or a negative export price with PV that
cannot be curtailed). So the model is an LP unless the prices say otherwise or a load needs
on/off decisions; after solving, a plan that still does both at once in some step (possible
on ties) is solved again with the binaries. An infeasible problem answers the conflicting
constraint groups (``diagnosis.diagnose``) and the safe fallback (``fallback.fallback_flows``).
"""

from __future__ import annotations

import numpy as np

from .diagnosis import diagnose
from .fallback import fallback_flows
from .lp import LpSolution
from .model import ModelColumns, build_model
from .problem import FlexProblem
from .schedule import BatteryPlan, Flows, Schedule, cost_of

#: A plan with on/off decisions is accepted within 0.05 % (or 1 cent, ``LpBuilder.solve``) of
#: the optimum: far below forecast error, and it halves the solve time of a 96-step site.
MIP_REL_GAP = 5e-4
#: kW below which two opposite flows in a step are solver noise.
SIMULTANEOUS_TOLERANCE_KW = 1e-6


def _clean(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) < 1e-9, 0.0, values)


def extract_flows(problem: FlexProblem, cols: ModelColumns, x: np.ndarray) -> Flows:
    """The flows of a solution vector ``x``."""
    batteries = {
        name: BatteryPlan(_clean(x[b.charge]), _clean(x[b.discharge]), x[b.soc])
        for name, b in cols.batteries.items()
    }
    return Flows(
        import_kw=_clean(x[cols.import_kw]),
        export_kw=_clean(x[cols.export_kw]),
        pv_curtailed_kw=_clean(x[cols.curtailed_kw]),
        batteries=batteries,
        ev_kw={name: _clean(x[c]) for name, c in cols.ev_kw.items()},
        deferrable_kw={name: _clean(x[c]) for name, c in cols.deferrable_kw.items()},
        shed_kw={name: _clean(x[c]) for name, c in cols.shed_kw.items()},
    )


def grid_binary_steps(problem: FlexProblem) -> np.ndarray:
    """Steps where exporting and importing at once could pay (export price >= import price)."""
    return np.asarray(problem.export_price_eur_per_kwh >= problem.import_price_eur_per_kwh)


def battery_binaries_needed(problem: FlexProblem) -> bool:
    """Whether burning energy in the battery's losses could pay (see module docstring)."""
    if not problem.batteries:
        return False
    negative_import = bool(np.any(problem.import_price_eur_per_kwh < 0))
    negative_export = bool(np.any(problem.export_price_eur_per_kwh < 0))
    return negative_import or (negative_export and not problem.limits.pv_curtailable)


def _both_at_once(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    return np.asarray(np.minimum(first, second) > SIMULTANEOUS_TOLERANCE_KW)


def _run(
    problem: FlexProblem, grid_steps: np.ndarray, battery_binaries: bool, time_limit_s: float
) -> tuple[LpSolution, ModelColumns, bool]:
    lp, cols = build_model(problem, grid_binary_steps=grid_steps, battery_binaries=battery_binaries)
    return lp.solve(time_limit_s=time_limit_s, mip_rel_gap=MIP_REL_GAP), cols, lp.has_integers


def optimise(problem: FlexProblem, *, time_limit_s: float = 10.0) -> Schedule:
    """The cheapest schedule of ``problem`` (see ``docs/flexibility.md``), or the safe
    fallback with the conflicting constraints when there is none. Never raises: a site always
    gets a plan (an unexpected solver error gives the fallback with status ``failed``)."""
    try:
        return _optimise(problem, time_limit_s)
    except Exception as exc:  # the solver binding failed: the site still needs a plan
        fallback = fallback_flows(problem)
        message = f"the optimiser failed ({type(exc).__name__}: {exc}); fallback used"
        return Schedule("failed", fallback, cost_of(problem, fallback), message=message)


def _optimise(problem: FlexProblem, time_limit_s: float) -> Schedule:
    grid_steps, battery_binaries = grid_binary_steps(problem), battery_binaries_needed(problem)
    solution, cols, mip = _run(problem, grid_steps, battery_binaries, time_limit_s)
    elapsed = solution.solve_time_s
    for _ in range(2):  # at most: add the grid binaries, then the battery ones
        if solution.values is None:
            break
        flows = extract_flows(problem, cols, solution.values)
        both_grid = _both_at_once(flows.import_kw, flows.export_kw) & ~grid_steps
        both_battery = not battery_binaries and any(
            _both_at_once(b.charge_kw, b.discharge_kw).any() for b in flows.batteries.values()
        )
        if not (both_grid.any() or both_battery):
            break
        grid_steps = grid_steps | both_grid
        battery_binaries = battery_binaries or both_battery
        solution, cols, mip = _run(problem, grid_steps, battery_binaries, time_limit_s)
        elapsed += solution.solve_time_s
    if solution.values is not None:
        flows = extract_flows(problem, cols, solution.values)
        status = "optimal" if solution.status == "optimal" else "feasible"
        message = "" if status == "optimal" else f"solver stopped: {solution.status}"
        return Schedule(status, flows, cost_of(problem, flows), (), elapsed, mip, message)
    fallback = fallback_flows(problem)
    cost = cost_of(problem, fallback)
    if solution.status == "infeasible":
        conflicts = diagnose(
            problem,
            grid_binary_steps=grid_steps,
            battery_binaries=battery_binaries,
            time_limit_s=time_limit_s,
        )
        message = "; ".join(c.message for c in conflicts)
        return Schedule("infeasible", fallback, cost, conflicts, elapsed, mip, message)
    message = f"the solver gave no plan ({solution.status}); fallback used"
    return Schedule("failed", fallback, cost, (), elapsed, mip, message)
