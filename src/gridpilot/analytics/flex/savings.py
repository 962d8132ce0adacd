"""What the optimised plan saves against two references, on the same problem and prices.

(a) ``no_battery``: batteries idle, deferrable loads and EVs as early as allowed (the fallback
plan); (b) ``rule_based``: the self-consumption controller (``rule_based.py``). All three are
priced by ``schedule.cost_of``. The references may end a horizon with a different state of
charge than the plan (which must reach its terminal SOC): over one day that is worth at most
one battery's content, over a simulated year with the SOC carried from day to day it vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .fallback import fallback_flows
from .problem import FlexProblem
from .rule_based import rule_based_flows
from .schedule import Schedule, cost_of, money


@dataclass(frozen=True)
class Savings:
    """Total costs [EUR] of the three ways to run the site, as floats."""

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


def savings(problem: FlexProblem, optimised: Schedule) -> Savings:
    """The costs of ``optimised`` and of both references on ``problem``."""
    return Savings(
        optimised_eur=optimised.cost.total_eur,
        no_battery_eur=cost_of(problem, fallback_flows(problem)).total_eur,
        rule_based_eur=cost_of(problem, rule_based_flows(problem)).total_eur,
    )
