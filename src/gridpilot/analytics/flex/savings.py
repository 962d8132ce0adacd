"""What the optimised plan saves against two references, on the same problem and prices.

(a) ``no_battery``: batteries idle, deferrable loads and EVs as early as allowed (the fallback
plan); (b) ``rule_based``: the self-consumption controller (``rule_based.py``). All three are
priced by ``schedule.cost_of``, plus the value of the energy each leaves in (or takes out of)
its batteries: the plan must reach its terminal SOC, the self-consumption controller may end
the day empty, having spent energy that was there at the start. That change is valued at what
refilling it would cost at the cheapest import price of the horizon (price / charge
efficiency + wear per kWh charged), added for energy taken, credited for energy left. Over a
simulated year with the SOC carried from day to day (``bench/optimise.py``) it vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .fallback import fallback_flows
from .problem import FlexProblem
from .rule_based import rule_based_flows
from .schedule import Flows, Schedule, cost_of, money


@dataclass(frozen=True)
class Savings:
    """Total costs [EUR] of the three ways to run the site, stored energy included (floats)."""

    optimised_eur: float
    no_battery_eur: float
    rule_based_eur: float

    @property
    def vs_no_battery_eur(self) -> float:
        return self.no_battery_eur - self.optimised_eur

    @property
    def vs_rule_based_eur(self) -> float:
        return self.rule_based_eur - self.optimised_eur

    def report(self) -> dict[str, Decimal]:
        """The figures for a report, in Decimal to the cent."""
        return {
            "optimised_eur": money(self.optimised_eur),
            "no_battery_eur": money(self.no_battery_eur),
            "rule_based_eur": money(self.rule_based_eur),
            "saving_vs_no_battery_eur": money(self.vs_no_battery_eur),
            "saving_vs_rule_based_eur": money(self.vs_rule_based_eur),
        }


def stored_energy_cost_eur(problem: FlexProblem, flows: Flows) -> float:
    """What the change of stored energy over the horizon is worth [EUR]: positive when the
    batteries end lower than they started (see the module docstring)."""
    cheapest = float(problem.import_price_eur_per_kwh.min())
    total = 0.0
    for battery in problem.batteries:
        taken_kwh = battery.soc_start_kwh - float(flows.batteries[battery.name].soc_kwh[-1])
        refill = cheapest / battery.charge_efficiency + battery.wear_cost_eur_per_kwh
        total += taken_kwh * refill
    return total


def savings(problem: FlexProblem, optimised: Schedule) -> Savings:
    """The costs of ``optimised`` and of both references on ``problem``."""
    references = (optimised.flows, fallback_flows(problem), rule_based_flows(problem))
    costs = [
        cost_of(problem, flows).total_eur + stored_energy_cost_eur(problem, flows)
        for flows in references
    ]
    return Savings(*costs)
