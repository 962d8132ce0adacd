"""The day-ahead optimiser: hand-computed optima and the physics every plan must respect."""

from __future__ import annotations

import numpy as np
import pytest
from tests.analytics.flex.cases import (
    RESIDUAL_KW,
    STEP_H,
    STEPS,
    battery,
    full_site,
    load_kw,
    pv_kw,
    simulated_soc,
    tou_price,
)

from gridpilot.analytics.flex import (
    Battery,
    CurtailableLoad,
    DeferrableLoad,
    EVSession,
    FlexProblem,
    SiteLimits,
    optimise,
)


def two_step_problem(prices: list[float], bess: Battery) -> FlexProblem:
    return FlexProblem(1.0, [10.0, 10.0], [0.0, 0.0], prices, 0.0, batteries=[bess])


def small_battery(eta: float, wear: float = 0.0) -> Battery:
    return Battery(
        "b", 10.0, 5.0, 5.0, soc_start_frac=0.0, soc_min_frac=0.0, soc_max_frac=1.0,
        charge_efficiency=eta, discharge_efficiency=eta, wear_cost_eur_per_kwh=wear,
    )  # fmt: skip


def test_two_step_arbitrage_lossless():
    # Buy 5 kWh at 0.10, use them at 0.30: imports 15 then 5 kW: 1.50 + 1.50 EUR.
    plan = optimise(two_step_problem([0.10, 0.30], small_battery(1.0)))
    assert plan.status == "optimal"
    np.testing.assert_allclose(plan.flows.import_kw, [15.0, 5.0], atol=1e-6)
    assert plan.cost.total_eur == pytest.approx(3.0, abs=1e-6)


def test_two_step_arbitrage_with_losses_and_wear():
    # 5 kWh charged store 4.5 kWh, which give 4.05 kWh back (0.9 x 0.9). Energy 15 x 0.10 +
    # 5.95 x 0.30 = 3.285 EUR; wear 0.01 x (5 + 4.05) = 0.0905 EUR. Still worth it: each kWh
    # bought at 0.10 returns 0.81 kWh worth 0.243 and wears 0.0181.
    plan = optimise(two_step_problem([0.10, 0.30], small_battery(0.9, wear=0.01)))
    np.testing.assert_allclose(plan.flows.import_kw, [15.0, 5.95], atol=1e-6)
    assert plan.cost.energy_eur == pytest.approx(3.285, abs=1e-6)
    assert plan.cost.wear_eur == pytest.approx(0.0905, abs=1e-6)


def test_arbitrage_that_does_not_cover_the_losses_is_not_done():
    # 0.81 kWh back per kWh bought: 0.81 x 0.12 = 0.0972 < 0.10.
    plan = optimise(two_step_problem([0.10, 0.12], small_battery(0.9)))
    np.testing.assert_allclose(plan.flows.import_kw, [10.0, 10.0], atol=1e-6)
    assert plan.cost.total_eur == pytest.approx(2.2, abs=1e-6)


def test_full_site_respects_soc_band_terminal_soc_and_dynamics():
    problem = full_site()
    plan = optimise(problem)
    assert plan.status == "optimal"
    b, flows = problem.batteries[0], plan.flows
    soc = flows.batteries["bess"].soc_kwh
    assert np.all(soc >= b.soc_min_kwh - 1e-6) and np.all(soc <= b.soc_max_kwh + 1e-6)
    assert soc[-1] >= b.soc_start_kwh - 1e-6  # terminal: at least where it started
    np.testing.assert_allclose(soc, simulated_soc(problem, flows, "bess"), atol=1e-6)
    assert np.all(flows.batteries["bess"].charge_kw <= b.charge_max_kw + 1e-6)
    assert np.abs(flows.balance_residual_kw(problem)).max() < RESIDUAL_KW
    assert flows.import_kw.max() <= 90.0 + 1e-6 and flows.export_kw.max() <= 30.0 + 1e-6


def test_full_site_loads_get_their_energy_inside_their_windows():
    problem = full_site()
    flows = optimise(problem).flows
    pump, oven, car = flows.deferrable_kw["pump"], flows.deferrable_kw["oven"], flows.ev_kw["car"]
    assert pump.sum() * STEP_H == pytest.approx(12.0, abs=1e-6)
    assert np.all(pump[:20] == 0) and np.all(pump[80:] == 0)
    assert set(np.round(pump, 6)) <= {0.0, 4.0}  # on/off at 4 kW
    running = np.flatnonzero(oven > 1e-6)
    assert oven.sum() * STEP_H == pytest.approx(9.0, abs=1e-6)
    assert running.size >= 4 and np.all(np.diff(running) == 1)  # one block of >= 4 steps
    assert np.all(oven[running] >= 3.0 - 1e-6) and np.all(oven <= 6.0 + 1e-6)
    assert car.sum() * STEP_H == pytest.approx(30.0, abs=1e-6)
    assert np.all(car[:36] == 0) and np.all(car[70:] == 0)
    assert np.all((car < 1e-6) | (car >= 1.4 - 1e-6))


def test_a_plain_time_of_use_day_is_solved_as_an_lp():
    problem = FlexProblem(STEP_H, load_kw(), pv_kw(30.0), tou_price(), 0.05, batteries=[battery()])
    plan = optimise(problem)
    assert plan.status == "optimal" and not plan.used_binaries
    both = np.minimum(
        plan.flows.batteries["bess"].charge_kw, plan.flows.batteries["bess"].discharge_kw
    )
    assert both.max() < 1e-6
    assert np.minimum(plan.flows.import_kw, plan.flows.export_kw).max() < 1e-6


def test_negative_prices_never_charge_and_discharge_or_import_and_export_at_once():
    # Being paid to import (and to export at 0.2 > import price in some steps) would make an LP
    # burn energy in the battery's losses and loop power through the meter.
    price = tou_price()
    price[40:48] = -0.10
    export_price = np.full(STEPS, 0.05)
    export_price[60:64] = 0.50
    problem = FlexProblem(
        STEP_H,
        load_kw(),
        pv_kw(30.0),
        price,
        export_price,
        batteries=[battery(wear_cost_eur_per_kwh=0.0)],
    )
    plan = optimise(problem)
    flows = plan.flows
    assert plan.status == "optimal" and plan.used_binaries
    assert (
        np.minimum(flows.batteries["bess"].charge_kw, flows.batteries["bess"].discharge_kw).max()
        < 1e-6
    )
    assert np.minimum(flows.import_kw, flows.export_kw).max() < 1e-6
    assert np.abs(flows.balance_residual_kw(problem)).max() < RESIDUAL_KW


def _peak_problem(incumbent_kw: float) -> FlexProblem:
    load = np.full(8, 50.0)
    load[4] = 90.0  # one 90 kW step in a flat-priced day
    return FlexProblem(
        1.0, load, 0.0, 0.20, 0.0,
        batteries=[battery(wear_cost_eur_per_kwh=0.02)],
        demand_charge_eur_per_kw=10.0, incumbent_peak_kw=incumbent_kw,
    )  # fmt: skip


def test_battery_is_not_spent_to_beat_a_peak_already_paid():
    plan = optimise(_peak_problem(incumbent_kw=100.0))
    assert plan.flows.batteries["bess"].discharge_kw.max() == pytest.approx(0.0, abs=1e-6)
    assert plan.flows.import_kw.max() == pytest.approx(90.0, abs=1e-6)
    assert plan.cost.demand_charge_eur == pytest.approx(0.0, abs=1e-9)


def test_battery_shaves_a_new_peak_down_to_the_incumbent_only():
    # Above 80 kW each kW costs 10 EUR; below it nothing, so the plan stops at 80 kW.
    plan = optimise(_peak_problem(incumbent_kw=80.0))
    assert plan.flows.import_kw.max() == pytest.approx(80.0, abs=1e-6)
    assert plan.flows.batteries["bess"].discharge_kw[4] == pytest.approx(10.0, abs=1e-6)


def test_pv_is_curtailed_at_a_negative_export_price_and_above_the_export_limit():
    export_price = np.where(np.arange(STEPS) < 50, 0.05, -0.05)
    problem = FlexProblem(
        STEP_H, 10.0, pv_kw(60.0), 0.25, export_price, limits=SiteLimits(export_max_kw=25.0)
    )
    flows = optimise(problem).flows
    assert flows.export_kw.max() == pytest.approx(25.0, abs=1e-6)
    assert np.all(flows.export_kw[50:] < 1e-6)
    surplus = np.maximum(problem.pv_kw - 10.0, 0)
    np.testing.assert_allclose(
        flows.pv_curtailed_kw[:50], np.maximum(surplus[:50] - 25, 0), atol=1e-6
    )
    np.testing.assert_allclose(flows.pv_curtailed_kw[50:], surplus[50:], atol=1e-6)


def test_ev_charges_at_the_cheapest_steps_before_departure():
    price = np.full(16, 0.30)
    price[[3, 5]] = 0.10  # the two cheapest steps inside the plug window
    price[12:] = 0.01  # cheaper still, but after departure
    ev = EVSession("car", arrival_step=2, departure_step=10, energy_kwh=5.5, power_max_kw=11.0)
    problem = FlexProblem(0.25, 1.0, 0.0, price, 0.0, ev_sessions=[ev])
    car = optimise(problem).flows.ev_kw["car"]
    np.testing.assert_allclose(car[[3, 5]], [11.0, 11.0], atol=1e-6)
    assert car.sum() * 0.25 == pytest.approx(5.5, abs=1e-6)


def test_deferrable_load_with_minimum_run_runs_in_blocks():
    price = np.tile([0.1, 0.4], 12)  # alternating prices tempt a 1-step-on, 1-off pattern
    load = DeferrableLoad("hp", 3.0, 2.0, 2.0, min_run_steps=3)
    problem = FlexProblem(0.25, 0.0, 0.0, price, 0.0, deferrable_loads=[load])
    hp = optimise(problem).flows.deferrable_kw["hp"]
    on = (hp > 1e-6).astype(int)
    starts = np.flatnonzero(np.diff(np.concatenate(([0], on))) == 1)
    stops = np.flatnonzero(np.diff(np.concatenate((on, [0]))) == -1)
    assert hp.sum() * 0.25 == pytest.approx(3.0, abs=1e-6)
    assert np.all(stops - starts + 1 >= 3)


def test_curtailable_load_is_shed_only_as_far_as_the_contract_requires():
    # 60 kW in step 1 under a 50 kW contract: shed 10 kW there at 0.50 EUR/kWh (dearer than the
    # 0.20 EUR/kWh energy, so nothing else is shed). Cost: 0.2 x (40 + 50 + 30) + 0.5 x 10.
    chiller = CurtailableLoad("chiller", max_shed_kw=15.0, cost_eur_per_kwh=0.5)
    problem = FlexProblem(
        1.0, [40.0, 60.0, 30.0], 0.0, 0.2, 0.0, curtailable_loads=[chiller],
        limits=SiteLimits(import_max_kw=50.0),
    )  # fmt: skip
    plan = optimise(problem)
    np.testing.assert_allclose(plan.flows.shed_kw["chiller"], [0.0, 10.0, 0.0], atol=1e-6)
    assert plan.cost.shed_eur == pytest.approx(5.0)
    assert plan.cost.total_eur == pytest.approx(0.2 * 120 + 5.0)


def test_an_ev_leaving_after_the_horizon_needs_only_what_cannot_come_later():
    # 8 steps of 1 h; it leaves at step 10: 2 steps x 5 kW can still come after the horizon.
    ev = EVSession("car", arrival_step=0, departure_step=10, energy_kwh=20.0, power_max_kw=5.0)
    problem = FlexProblem(1.0, np.zeros(8), 0.0, 0.3, 0.0, ev_sessions=[ev])
    assert problem.ev_energy_due_kwh(ev) == pytest.approx(10.0)
    assert optimise(problem).flows.ev_kw["car"].sum() == pytest.approx(10.0)
