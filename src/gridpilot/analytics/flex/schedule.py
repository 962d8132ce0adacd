"""A schedule: per-step flows of a site and what they cost.

Every schedule (optimised, fallback, rule-based, no battery) has the same shape and is priced
by the same function (``cost_of``), so their costs compare like with like. Powers are kW
averaged over each step; ``soc_kwh[t]`` is the state of charge at the *end* of step t.
Costs are floats in EUR inside the optimiser; ``money`` turns one into a ``Decimal`` for
reporting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from .problem import FlexProblem, Vector


@dataclass(frozen=True, eq=False)
class BatteryPlan:
    charge_kw: Vector
    discharge_kw: Vector
    soc_kwh: Vector


@dataclass(frozen=True)
class CostParts:
    """EUR over the horizon: energy (import cost minus export revenue), demand charge above
    the incumbent peak, battery wear, and the value of load shed."""

    energy_eur: float
    demand_charge_eur: float
    wear_eur: float
    shed_eur: float

    @property
    def total_eur(self) -> float:
        return self.energy_eur + self.demand_charge_eur + self.wear_eur + self.shed_eur


@dataclass(frozen=True, eq=False)
class Flows:
    """The per-step decisions and the grid exchange that follows from them."""

    import_kw: Vector
    export_kw: Vector
    pv_curtailed_kw: Vector
    batteries: Mapping[str, BatteryPlan] = field(default_factory=dict)
    ev_kw: Mapping[str, Vector] = field(default_factory=dict)
    deferrable_kw: Mapping[str, Vector] = field(default_factory=dict)
    shed_kw: Mapping[str, Vector] = field(default_factory=dict)

    def total(self, part: str) -> Vector:
        """Sum over resources of ``charge``, ``discharge``, ``ev``, ``deferrable`` or ``shed``."""
        groups: dict[str, list[Vector]] = {
            "charge": [b.charge_kw for b in self.batteries.values()],
            "discharge": [b.discharge_kw for b in self.batteries.values()],
            "ev": list(self.ev_kw.values()),
            "deferrable": list(self.deferrable_kw.values()),
            "shed": list(self.shed_kw.values()),
        }
        series = groups[part]
        return np.sum(series, axis=0) if series else np.zeros_like(self.import_kw)

    def balance_residual_kw(self, problem: FlexProblem) -> Vector:
        """``import - export - (load + deferrable + EV + charge - discharge - pv_used - shed)``
        per step [kW]: zero for a physically consistent schedule."""
        pv_used = problem.pv_kw - self.pv_curtailed_kw
        demand = problem.load_kw + self.total("deferrable") + self.total("ev")
        demand = demand + self.total("charge") - self.total("discharge") - self.total("shed")
        return np.asarray(self.import_kw - self.export_kw - (demand - pv_used))


def cost_of(problem: FlexProblem, flows: Flows) -> CostParts:
    """The cost parts [EUR] of ``flows`` under ``problem``'s prices (see ``CostParts``)."""
    dt = problem.step_h
    energy = dt * float(
        problem.import_price_eur_per_kwh @ flows.import_kw
        - problem.export_price_eur_per_kwh @ flows.export_kw
    )
    excess_kw = max(0.0, float(flows.import_kw.max()) - problem.incumbent_peak_kw)
    wear = 0.0
    for battery in problem.batteries:
        plan = flows.batteries[battery.name]
        throughput_kwh = dt * float(plan.charge_kw.sum() + plan.discharge_kw.sum())
        wear += battery.wear_cost_eur_per_kwh * throughput_kwh
    shed = sum(
        dt * load.cost_eur_per_kwh * float(flows.shed_kw[load.name].sum())
        for load in problem.curtailable_loads
    )
    return CostParts(energy, problem.demand_charge_eur_per_kw * excess_kw, wear, shed)


def money(eur: float) -> Decimal:
    """A cost for reports: Decimal, to the cent, half-even."""
    return Decimal(repr(float(eur))).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Conflict:
    """A constraint group that cannot be met, and by how much: ``shortfall`` in ``unit``
    (kW for a limit: the largest excess in any step; kWh for an energy target)."""

    group: str
    shortfall: float
    unit: str
    message: str


@dataclass(frozen=True, eq=False)
class Schedule:
    """The answer to a problem: always a usable plan.

    ``status``: ``optimal``; ``feasible`` (a solver limit stopped it with a plan in hand);
    ``infeasible`` (``conflicts`` says why, ``flows`` is the safe fallback); ``failed`` (the
    solver gave no answer, ``flows`` is the fallback). ``is_fallback`` tells the last two apart
    from a solved plan.
    """

    status: str
    flows: Flows
    cost: CostParts
    conflicts: tuple[Conflict, ...] = ()
    solve_time_s: float = 0.0
    used_binaries: bool = False
    message: str = ""

    @property
    def is_fallback(self) -> bool:
        return self.status in ("infeasible", "failed")
