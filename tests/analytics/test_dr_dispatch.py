"""DR dispatch plan (MILP on HiGHS) and stepped restore, against hand-computed cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridpilot.analytics.dr_dispatch import (
    Held,
    battery,
    curtailable,
    deferral,
    dimming,
    ev_charger,
    hvac,
    plan_reduction,
    restore_plan,
)
from gridpilot.core.errors import ValidationFailed


def test_least_cost_is_not_greedy() -> None:
    """100 kW for 1 h. Greedy by cost would take the battery (50 kW, 0.05), the HVAC (40 kW,
    4 EUR/degC.h at 20 kW/degC: 0.20 EUR/kWh) and then a whole load. Cheaper: load B (60 kW
    on/off, 0.30) + 40 kW of battery: 60 x 0.30 + 40 x 0.05 = 20.00 EUR, against e.g.
    battery 50 + load B = 20.50, battery 50 + HVAC 20 + load A 30 = 21.50, HVAC 40 + B = 26."""
    resources = [
        battery("bat", discharge_max_kw=50, capacity_kwh=200, soc_pct=90, soc_min_pct=10,
                cost_eur_per_kwh=0.05),
        hvac("ahu", kw_per_degc=20, max_offset_degc=2, discomfort_eur_per_degc_h=4),
        curtailable("load A", shed_kw=30, cost_eur_per_kwh=0.5),
        curtailable("load B", shed_kw=60, cost_eur_per_kwh=0.3),
    ]  # fmt: skip
    plan = plan_reduction(resources, [100.0] * 4, step_min=15)
    assert plan.status == "optimal"
    assert plan.reduction_kw["bat"] == [40.0] * 4
    assert plan.reduction_kw["load B"] == [60.0] * 4
    assert plan.reduction_kw["ahu"] == [0.0] * 4
    assert plan.reduction_kw["load A"] == [0.0] * 4
    assert plan.shortfall_kw == [0.0] * 4
    assert plan.cost_eur == Decimal("20.00")


def test_max_duration_hands_over_to_the_next_resource() -> None:
    """40 kW for 1 h; the cheap load (0.10 EUR/kWh) may be off 30 min only: 2 intervals from
    it, 2 from the HVAC (0.20): 40 x 0.5 x 0.10 + 40 x 0.5 x 0.20 = 6.00 EUR."""
    resources = [
        curtailable("chiller", shed_kw=40, cost_eur_per_kwh=0.1, max_duration_min=30),
        hvac("ahu", kw_per_degc=20, max_offset_degc=2, discomfort_eur_per_degc_h=4),
    ]
    plan = plan_reduction(resources, [40.0] * 4)
    assert sorted(plan.reduction_kw["chiller"]) == [0.0, 0.0, 40.0, 40.0]
    assert [a + b for a, b in zip(*plan.reduction_kw.values(), strict=True)] == [40.0] * 4
    assert plan.cost_eur == Decimal("6.00")


def test_battery_stays_above_its_soc_floor() -> None:
    """50 kW for 1 h; the battery (50 kW, 50 kWh at 60 %, floor 10 %) holds 25 kWh: the other
    25 kWh come from the HVAC at 0.20 EUR/kWh = 5.00 EUR."""
    resources = [
        battery("bat", discharge_max_kw=50, capacity_kwh=50, soc_pct=60, soc_min_pct=10),
        hvac("ahu", kw_per_degc=25, max_offset_degc=2, discomfort_eur_per_degc_h=5),
    ]
    plan = plan_reduction(resources, [50.0] * 4)
    assert sum(plan.reduction_kw["bat"]) * 0.25 == pytest.approx(25.0)
    assert plan.total_kw() == pytest.approx([50.0] * 4)
    assert plan.cost_eur == Decimal("5.00")


def test_shortfall_and_ev_availability() -> None:
    """EV charger 22 -> 6 kW (16 kW) only in the first two intervals; target 30 kW: shortfall
    14 kW while the car is there, 30 kW after."""
    ev = ev_charger("ev", power_max_kw=22, power_min_kw=6, cost_eur_per_kwh=0.1,
                    available=[True, True, False, False])  # fmt: skip
    plan = plan_reduction([ev], [30.0] * 4)
    assert plan.reduction_kw["ev"] == [16.0, 16.0, 0.0, 0.0]
    assert plan.shortfall_kw == [14.0, 14.0, 30.0, 30.0]
    assert plan.cost_eur == Decimal("0.80")  # 32 kW x 0.25 h x 0.10


def test_rebound_makes_a_load_dearer() -> None:
    """Two 50 kW loads at 0.20 EUR/kWh; one rebounds 100 % (+0.25 EUR/kWh): the other is shed."""
    plan = plan_reduction(
        [curtailable("a", shed_kw=50, cost_eur_per_kwh=0.2, rebound_pct=100),
         curtailable("b", shed_kw=50, cost_eur_per_kwh=0.2)],
        [50.0],
    )  # fmt: skip
    assert plan.reduction_kw == {"a": [0.0], "b": [50.0]}


def test_dimming_gives_part_where_a_switched_load_gives_all() -> None:
    """Lighting dimmed up to 20 kW at 0.40 EUR/kWh, a chiller switched off whole (30 kW, 0.35),
    an HVAC offset (5 kW/degC up to 2 degC, 3 EUR/(degC h): 0.60 EUR/kWh), for 1 h.
    Target 15 kW: the lighting dims by exactly 15 kW (6.00 EUR; switched off it would give all
    20: 8.00, the chiller 30 x 0.35 = 10.50). Target 25 kW: the chiller whole (10.50) beats
    lighting 20 + HVAC 5 (8.00 + 3.00 = 11.00)."""
    resources = [
        dimming("lights", dim_kw=20, cost_eur_per_kwh=0.4),
        curtailable("chiller", shed_kw=30, cost_eur_per_kwh=0.35),
        hvac("ahu", kw_per_degc=5, max_offset_degc=2, discomfort_eur_per_degc_h=3),
    ]
    plan = plan_reduction(resources, [15.0] * 4)
    assert plan.reduction_kw == {"lights": [15.0] * 4, "chiller": [0.0] * 4, "ahu": [0.0] * 4}
    assert plan.cost_eur == Decimal("6.00")
    plan = plan_reduction(resources, [25.0] * 4)
    assert plan.reduction_kw == {"lights": [0.0] * 4, "chiller": [30.0] * 4, "ahu": [0.0] * 4}
    assert plan.cost_eur == Decimal("10.50")
    capped = dimming("lights", dim_kw=20, cost_eur_per_kwh=0.4, max_duration_min=30)
    plan = plan_reduction([capped], [10.0] * 4)  # dimmed for 30 min at most: 2 of 4 intervals
    assert sorted(plan.reduction_kw["lights"]) == [0.0, 0.0, 10.0, 10.0]


def test_deferral_holds_back_only_what_can_be_made_up() -> None:
    """A press drawing 40 kW may be capped to a pause, but only 5 kWh can be made up before its
    window closes: 5 kWh from it (0.10 EUR/kWh), the other 35 kWh of the hour from the HVAC
    (20 kW/degC, 4 EUR/(degC h): 0.20): 5 x 0.10 + 35 x 0.20 = 7.50 EUR. Its energy comes
    back after the release (rebound 100 %)."""
    press = deferral("press", defer_kw=40, deferrable_kwh=5, cost_eur_per_kwh=0.1)
    assert press.rebound_frac == 1.0 and not press.on_off
    ahu = hvac("ahu", kw_per_degc=20, max_offset_degc=2, discomfort_eur_per_degc_h=4)
    plan = plan_reduction([press, ahu], [40.0] * 4)
    assert sum(plan.reduction_kw["press"]) * 0.25 == pytest.approx(5.0)
    assert plan.total_kw() == pytest.approx([40.0] * 4)
    assert plan.cost_eur == Decimal("7.50")


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        plan_reduction([], [float("nan")])
    with pytest.raises(ValidationFailed):
        plan_reduction([curtailable("a", shed_kw=1, cost_eur_per_kwh=1)] * 2, [1.0])


def test_restore_in_steps_never_above_the_pre_event_level() -> None:
    """Held at the end: HVAC 40 kW (no rebound), load 60 kW with 50 % rebound, held 4 steps.
    Pre-event level 500 kW; expected demand after the end 500, 480, 450, 420 kW.
    k0: headroom 500 - (500 - 100) = 100: HVAC all 40 (60 left); the load needs 90: held.
    k1: headroom 500 - (480 - 60) = 80 < 90: held.  k2: 500 - (450 - 60) = 110: released,
    rebound 30 kW from k2. Loads: 440, 420, 450 + 30 = 480, 420 + 30 = 450."""
    held = [Held("load", 60, rebound_frac=0.5, held_steps=4, on_off=True), Held("ahu", 40)]
    plan = restore_plan(held, baseline_kw=[500, 480, 450, 420], pre_event_kw=500)
    assert plan.held_kw == {"load": [60, 60, 0, 0], "ahu": [0, 0, 0, 0]}
    assert plan.load_kw == [440, 420, 480, 450]
    assert plan.forced == []
    assert max(plan.load_kw) <= 500


def test_restore_partial_release_of_a_continuous_resource() -> None:
    """HVAC 40 kW with 25 % rebound held 2 steps; demand after 480 kW, pre-event 500:
    k0 headroom 500 - 440 = 60 -> releases 60 / 1.25 = 48 > 40: all 40, load 480 + 10 = 490."""
    plan = restore_plan([Held("ahu", 40, 0.25, 2)], baseline_kw=[480, 480], pre_event_kw=500)
    assert plan.held_kw == {"ahu": [0, 0]}
    assert plan.load_kw == [490, 490]
    # At 500 kW: k0 headroom 40 releases 32 (+8 rebound), 8 kW held; k1 has no headroom left
    # (500 - 0 + 8 = 500 + 8 - 8): the last step releases it anyway, 500 + 8 + 2 = 510 (forced).
    plan = restore_plan([Held("ahu", 40, 0.25, 2)], baseline_kw=[500, 500], pre_event_kw=500)
    assert plan.held_kw == {"ahu": [8, 0]}
    assert plan.load_kw == [500, 510]
    assert plan.forced == ["ahu"]


def test_restore_ramps_a_setpoint_and_restarts_loads_one_at_a_time() -> None:
    """Pre-event 500 kW, demand after 400 kW: headroom for everything at once, but the HVAC
    (30 kW, 10 kW per step: a degree at 10 kW/degC) ramps back over 3 steps and the two loads
    (20 kW each) restart one per step."""
    held = [Held("ahu", 30, max_step_kw=10), Held("a", 20, on_off=True), Held("b", 20, on_off=True)]
    plan = restore_plan(held, baseline_kw=[400] * 4, pre_event_kw=500)
    assert plan.held_kw == {"ahu": [20, 10, 0, 0], "a": [0, 0, 0, 0], "b": [20, 0, 0, 0]}
    assert plan.load_kw == [360, 390, 400, 400]
