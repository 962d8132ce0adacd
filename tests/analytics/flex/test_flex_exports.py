"""The flexibility package's public surface: what callers (the future ``flex`` domain, the
bench) may import from ``gridpilot.analytics.flex``."""

from __future__ import annotations

import gridpilot.analytics.flex as flex


def test_public_surface_is_pinned():
    assert sorted(flex.__all__) == [
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
    assert all(hasattr(flex, name) for name in flex.__all__)
