"""Why a problem is infeasible: re-solve with slack on each constraint group.

The elastic model (``build_model(elastic=True)``) gives the groups that can conflict a
non-negative slack at a penalty far above any price: the import and export limits (extra kW
beyond the limit in a step), each EV's and deferrable load's energy (kWh short of the target)
and each battery's terminal SOC (kWh short). It is always feasible; the groups whose slack is
non-zero at its optimum are the conflict, with the smallest total violation (an "elastic
filter", Chinneck, "Feasibility and Infeasibility in Optimization", Springer 2008, ch. 7).
"""

from __future__ import annotations

import numpy as np

from .model import build_model
from .problem import FlexProblem
from .schedule import Conflict

#: Slack below this (kW or kWh) is solver noise, not a conflict.
SLACK_TOLERANCE = 1e-5


def _message(problem: FlexProblem, group: str, values: np.ndarray, amount: float) -> str:
    kind, _, name = group.partition(":")
    limits = problem.limits
    if kind in ("import_limit", "export_limit"):
        limit = limits.import_max_kw if kind == "import_limit" else limits.export_max_kw
        steps = np.flatnonzero(values > SLACK_TOLERANCE)
        what = "import" if kind == "import_limit" else "export"
        return (
            f"the {what} limit of {limit:g} kW would have to be exceeded by up to "
            f"{amount:.3f} kW in {steps.size} step(s), first at step {int(steps[0])}"
        )
    if kind == "ev_deadline":
        ev = next(e for e in problem.ev_sessions if e.name == name)
        due = problem.ev_energy_due_kwh(ev)
        return (
            f"EV session {name!r} can get only {due - amount:.3f} of its {due:.3f} kWh before "
            f"step {ev.departure_step}: {amount:.3f} kWh short"
        )
    if kind == "deferrable_energy":
        load = next(d for d in problem.deferrable_loads if d.name == name)
        due = problem.deferrable_energy_due_kwh(load)
        window = problem.window(load)
        return (
            f"deferrable load {name!r} can take only {due - amount:.3f} of its {due:.3f} kWh in "
            f"steps {window.start}..{window.stop - 1}: {amount:.3f} kWh short"
        )
    battery = next(b for b in problem.batteries if b.name == name)
    return (
        f"battery {name!r} cannot reach its terminal state of charge of "
        f"{battery.soc_end_min_kwh:.3f} kWh: {amount:.3f} kWh short"
    )


def diagnose(
    problem: FlexProblem,
    *,
    grid_binary_steps: np.ndarray | None = None,
    battery_binaries: bool = False,
    time_limit_s: float = 10.0,
) -> tuple[Conflict, ...]:
    """The conflicting constraint groups of an infeasible ``problem`` and their shortfall."""
    lp, cols = build_model(
        problem,
        grid_binary_steps=grid_binary_steps,
        battery_binaries=battery_binaries,
        elastic=True,
    )
    solution = lp.solve(time_limit_s=time_limit_s, mip_rel_gap=1e-4)
    if solution.values is None:
        message = f"the elastic re-solve found no answer either ({solution.status})"
        return (Conflict("unknown", float("nan"), "", message),)
    conflicts = []
    for group, (columns, unit) in cols.slacks.items():
        values = solution.values[columns]
        amount = float(values.max() if unit == "kW" else values.sum())
        if amount > SLACK_TOLERANCE:
            message = _message(problem, group, values, amount)
            conflicts.append(Conflict(group, amount, unit, message))
    if not conflicts:
        message = "HiGHS reports the problem infeasible but no constraint group needs slack"
        return (Conflict("unknown", 0.0, "", message),)
    return tuple(conflicts)
