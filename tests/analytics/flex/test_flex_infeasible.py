"""Infeasible problems answer which constraints conflict and a safe fallback; a start SOC
outside the band stays feasible; bad inputs are refused with a clear message."""

from __future__ import annotations

import numpy as np
import pytest
from tests.analytics.flex.cases import RESIDUAL_KW, battery, full_site

from gridpilot.analytics.flex import (
    Battery,
    DeferrableLoad,
    EVSession,
    FlexProblem,
    SiteLimits,
    optimise,
)
from gridpilot.core.errors import ValidationFailed


def test_ev_that_cannot_be_charged_by_departure_names_the_deadline_and_the_shortfall():
    # 4 steps of 15 min at 11 kW deliver 11 kWh; it needs 40: 29 kWh short.
    ev = EVSession("car", arrival_step=0, departure_step=4, energy_kwh=40.0, power_max_kw=11.0)
    problem = FlexProblem(0.25, np.full(8, 5.0), 0.0, 0.2, 0.0, ev_sessions=[ev])
    plan = optimise(problem)
    assert plan.status == "infeasible" and plan.is_fallback
    assert [c.group for c in plan.conflicts] == ["ev_deadline:car"]
    assert plan.conflicts[0].shortfall == pytest.approx(29.0, abs=1e-6)
    assert plan.conflicts[0].unit == "kWh" and "29.000 kWh short" in plan.message
    # fallback: the car at full power from arrival until it leaves
    np.testing.assert_allclose(plan.flows.ev_kw["car"], [11, 11, 11, 11, 0, 0, 0, 0])
    assert np.abs(plan.flows.balance_residual_kw(problem)).max() < RESIDUAL_KW


def test_load_above_the_contract_without_a_battery_names_the_import_limit():
    load = np.array([40.0, 60.0, 55.0, 30.0])
    problem = FlexProblem(1.0, load, 0.0, 0.2, 0.0, limits=SiteLimits(import_max_kw=50.0))
    plan = optimise(problem)
    assert plan.status == "infeasible"
    assert [c.group for c in plan.conflicts] == ["import_limit"]
    assert plan.conflicts[0].shortfall == pytest.approx(10.0, abs=1e-6)
    assert plan.conflicts[0].unit == "kW"
    assert "2 step(s), first at step 1" in plan.conflicts[0].message
    np.testing.assert_allclose(plan.flows.import_kw, load)  # the fallback still serves the load
    assert plan.cost.total_eur == pytest.approx(0.2 * load.sum())


def test_a_battery_can_lift_the_same_load_under_the_contract():
    load = np.array([40.0, 60.0, 55.0, 30.0])
    bess = battery(capacity_kwh=50.0, soc_start_frac=0.8, soc_end_frac=0.1)
    problem = FlexProblem(
        1.0, load, 0.0, 0.2, 0.0, batteries=[bess], limits=SiteLimits(import_max_kw=50.0)
    )
    plan = optimise(problem)
    assert plan.status == "optimal" and plan.flows.import_kw.max() <= 50.0 + 1e-6


def test_unreachable_terminal_soc_and_deferrable_window_are_both_reported():
    # 2 steps of 1 h at 5 kW charge at most 10 kWh: from 10 % to 90 % of 100 kWh needs 80.
    bess = battery(charge_max_kw=5.0, soc_start_frac=0.1, soc_end_frac=0.9)
    washer = DeferrableLoad("washer", 6.0, 2.0, window_start_step=0, window_end_step=2)  # 4 kWh max
    problem = FlexProblem(
        1.0, [1.0, 1.0], 0.0, 0.2, 0.0, batteries=[bess], deferrable_loads=[washer]
    )
    plan = optimise(problem)
    found = {c.group: c.shortfall for c in plan.conflicts}
    assert found.keys() == {"battery_terminal_soc:bess", "deferrable_energy:washer"}
    assert found["deferrable_energy:washer"] == pytest.approx(2.0, abs=1e-6)
    assert found["battery_terminal_soc:bess"] == pytest.approx(90 - 10 - 0.95 * 10, abs=1e-6)
    # fallback: battery idle, washer as early as allowed at full power
    np.testing.assert_allclose(plan.flows.batteries["bess"].soc_kwh, [10.0, 10.0])
    np.testing.assert_allclose(plan.flows.deferrable_kw["washer"], [2.0, 2.0])


@pytest.mark.parametrize(("start", "band_edge"), [(0.02, 0.2), (0.98, 0.8)])
def test_start_soc_outside_the_band_stays_feasible_and_only_moves_toward_it(start, band_edge):
    low, high = (0.2, 0.9) if start < 0.5 else (0.1, 0.8)
    bess = battery(
        soc_start_frac=start, soc_min_frac=low, soc_max_frac=high, wear_cost_eur_per_kwh=0
    )
    price = np.tile([0.30, 0.10], 12)  # the tempting arbitrage would move it out of the band
    problem = FlexProblem(0.25, 20.0, 0.0, price, 0.0, batteries=[bess])
    plan = optimise(problem)
    assert plan.status == "optimal"
    soc = plan.flows.batteries["bess"].soc_kwh
    distance = np.maximum(bess.soc_min_kwh - soc, 0) + np.maximum(soc - bess.soc_max_kwh, 0)
    start_distance = abs(start - band_edge) * bess.capacity_kwh
    assert np.all(np.diff(np.concatenate(([start_distance], distance))) <= 1e-6)
    assert distance[-1] == pytest.approx(0.0, abs=1e-6)  # back in the band by the end
    assert distance[0] < start_distance  # and moving at once


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Battery("b", 0.0, 1, 1, 0.5), "capacity_kwh must be > 0"),
        (lambda: Battery("b", 10, 1, 1, 0.5, soc_min_frac=0.95), "soc_min_frac <= soc_max_frac"),
        (lambda: Battery("b", 10, 1, 1, 0.5, charge_efficiency=1.2), "charge_efficiency"),
        (lambda: EVSession("car", 5, 5, 10, 7), "arrival_step < departure_step"),
        (lambda: DeferrableLoad("d", 5, 1, 2), "power_min_kw <= power_max_kw"),
        (lambda: SiteLimits(import_max_kw=-1), "must be >= 0"),
        (lambda: FlexProblem(0.25, [1, 2, 3], [0, 0], 0.2, 0.1), "pv_kw has 2 values"),
        (lambda: FlexProblem(0.25, [1, float("nan")], 0, 0.2, 0.1), "missing or infinite"),
        (lambda: FlexProblem(0.25, [1, -2], 0, 0.2, 0.1), "load_kw must not be negative"),
        (
            lambda: FlexProblem(
                0.25, [1, 2], 0, 0.2, 0.1, ev_sessions=[EVSession("car", 3, 5, 1, 1)]
            ),
            "arrives after the horizon",
        ),
        (
            lambda: FlexProblem(
                0.25,
                [1],
                0,
                0.2,
                0.1,
                batteries=[Battery("x", 1, 1, 1, 0.5)],
                deferrable_loads=[DeferrableLoad("x", 1, 1)],
            ),
            "names must be unique",
        ),
    ],
)
def test_bad_inputs_are_refused_with_the_field_at_fault(build, fragment):
    with pytest.raises(ValidationFailed, match=fragment):
        build()


def test_a_solver_that_stops_without_a_plan_still_answers_the_fallback():
    problem = full_site()
    plan = optimise(problem, time_limit_s=0.0)
    assert plan.status == "failed" and plan.is_fallback and "time_limit" in plan.message
    assert plan.flows.ev_kw["car"][36:39].tolist() == [11.0, 11.0, 11.0]  # from arrival
    assert np.all(plan.flows.batteries["bess"].charge_kw == 0)
    assert np.abs(plan.flows.balance_residual_kw(problem)).max() < RESIDUAL_KW
