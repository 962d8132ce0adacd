"""The rule-based reference, the savings against it and against no battery, money as Decimal."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from tests.analytics.flex.cases import (
    RESIDUAL_KW,
    STEP_H,
    battery,
    full_site,
    load_kw,
    pv_kw,
    simulated_soc,
    tou_price,
)

from gridpilot.analytics.flex import (
    Battery,
    FlexProblem,
    cost_of,
    money,
    optimise,
    rule_based_flows,
    savings,
)


def test_self_consumption_stores_the_surplus_and_covers_the_deficit():
    # Step 0: 8 kW surplus, 5 kW charged (limit); step 1: 6 kW deficit, the 4.5 kWh stored
    # give 4.5 x 0.9 = 4.05 kW for one hour; step 2: 2 kW deficit, battery at its minimum.
    bess = Battery(
        "b", 10.0, 5.0, 5.0, soc_start_frac=0.0, soc_min_frac=0.0, soc_max_frac=1.0,
        charge_efficiency=0.9, discharge_efficiency=0.9,
    )  # fmt: skip
    problem = FlexProblem(1.0, [2.0, 6.0, 2.0], [10.0, 0.0, 0.0], 0.3, 0.05, batteries=[bess])
    flows = rule_based_flows(problem)
    plan = flows.batteries["b"]
    np.testing.assert_allclose(plan.charge_kw, [5.0, 0.0, 0.0])
    np.testing.assert_allclose(plan.discharge_kw, [0.0, 4.05, 0.0])
    np.testing.assert_allclose(plan.soc_kwh, [4.5, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(flows.export_kw, [3.0, 0.0, 0.0])
    np.testing.assert_allclose(flows.import_kw, [0.0, 1.95, 2.0])
    assert cost_of(problem, flows).total_eur == pytest.approx(0.3 * 3.95 - 0.05 * 3.0)


def test_rule_based_plans_are_physical():
    problem = full_site()
    flows = rule_based_flows(problem)
    b = problem.batteries[0]
    soc = flows.batteries["bess"].soc_kwh
    np.testing.assert_allclose(soc, simulated_soc(problem, flows, "bess"), atol=1e-9)
    assert np.all(soc >= b.soc_min_kwh - 1e-9) and np.all(soc <= b.soc_max_kwh + 1e-9)
    assert np.abs(flows.balance_residual_kw(problem)).max() < RESIDUAL_KW


def test_optimised_plan_costs_no_more_than_either_reference():
    problem = FlexProblem(STEP_H, load_kw(), pv_kw(60.0), tou_price(), 0.05, batteries=[battery()])
    plan = optimise(problem)
    result = savings(problem, plan)
    # it ends where it started: nothing to add for stored energy
    assert result.optimised_eur == pytest.approx(plan.cost.total_eur)
    assert result.vs_no_battery_eur > 0.5  # the battery shifts PV and night energy to 17-20 h
    assert result.vs_rule_based_eur > 0.0
    report = result.report()
    assert all(isinstance(v, Decimal) and v.as_tuple().exponent == -2 for v in report.values())
    assert report["no_battery_eur"] == money(result.no_battery_eur)


def test_energy_taken_from_the_battery_is_charged_at_the_cheapest_refill():
    # Rule-based: starts at 50 kWh, covers 2 h of 10 kW (21.05 kWh taken from the battery at
    # 0.95), PV-free: ends at 50 - 21.05 = 28.95 kWh. Refill at 0.10 / 0.95 + 0.01 per kWh.
    bess = battery(soc_start_frac=0.5, wear_cost_eur_per_kwh=0.01)
    problem = FlexProblem(1.0, [10.0, 10.0], 0.0, [0.10, 0.30], 0.0, batteries=[bess])
    result = savings(problem, optimise(problem))
    taken_kwh = 20 / 0.95
    rule_based = 0.01 * 20 + taken_kwh * (0.10 / 0.95 + 0.01)
    assert result.rule_based_eur == pytest.approx(rule_based)
    assert result.no_battery_eur == pytest.approx(4.0)


def test_money_rounds_half_even_to_the_cent():
    assert money(2.675) == Decimal("2.68")  # repr 2.675, not the binary 2.67499...
    assert money(0.125) == Decimal("0.12")
    assert money(-1.005) == Decimal("-1.00")
