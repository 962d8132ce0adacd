"""Flexibility optimisation (pure): day-ahead schedules of batteries, EVs, deferrable and
curtailable loads and PV curtailment on HiGHS, real-time peak shaving, and savings against a
no-battery and a rule-based reference. See ``docs/flexibility.md``.
"""

from .peak_shaving import PeakShavingSettings, PeakShavingState, SetPoint, peak_shaving_setpoint
from .problem import FlexProblem
from .resources import Battery, CurtailableLoad, DeferrableLoad, EVSession, SiteLimits
from .rule_based import rule_based_flows
from .savings import Savings, savings
from .schedule import BatteryPlan, Conflict, CostParts, Flows, Schedule, cost_of, money
from .solve import optimise

__all__ = [
    "Battery",
    "BatteryPlan",
    "Conflict",
    "CostParts",
    "CurtailableLoad",
    "DeferrableLoad",
    "EVSession",
    "FlexProblem",
    "Flows",
    "PeakShavingSettings",
    "PeakShavingState",
    "Savings",
    "Schedule",
    "SetPoint",
    "SiteLimits",
    "cost_of",
    "money",
    "optimise",
    "peak_shaving_setpoint",
    "rule_based_flows",
    "savings",
]
