"""The real-time peak-shaving controller, cycle by cycle, against hand-computed set points."""

from __future__ import annotations

import pytest

from gridpilot.analytics.flex import (
    PeakShavingSettings,
    PeakShavingState,
    peak_shaving_setpoint,
)
from gridpilot.core.errors import ValidationFailed

SETTINGS = PeakShavingSettings(
    threshold_kw=100.0, discharge_max_kw=50.0, charge_max_kw=30.0, soc_min_pct=10.0
)


def setpoint(grid_kw: float, battery_kw: float = 0.0, soc: float = 50.0, **kw: object):
    return peak_shaving_setpoint(
        SETTINGS, grid_import_kw=grid_kw, battery_power_kw=battery_kw, soc_pct=soc, **kw
    )


def test_a_120_kw_load_under_a_100_kw_threshold_gives_a_20_kw_discharge():
    point = setpoint(120.0)
    assert point.battery_power_kw == pytest.approx(20.0)
    assert point.reason == "shave"


def test_the_current_battery_power_is_added_back_before_deciding():
    # The meter reads 95 kW while the battery gives 25 kW: the site draws 120, keep 20.
    assert setpoint(95.0, battery_kw=25.0).battery_power_kw == pytest.approx(20.0)
    # The meter reads 100 kW while the battery charges at 10 kW: the site draws 90, recharge 10.
    assert setpoint(100.0, battery_kw=-10.0).battery_power_kw == pytest.approx(-10.0)


def test_discharge_is_capped_at_the_battery_limit():
    assert setpoint(180.0).battery_power_kw == pytest.approx(50.0)


def test_recharge_fills_the_headroom_without_crossing_the_threshold():
    assert setpoint(85.0).battery_power_kw == pytest.approx(-15.0)  # grid ends at 100
    assert setpoint(20.0).battery_power_kw == pytest.approx(-30.0)  # capped at 30 kW
    assert setpoint(85.0, soc=100.0).reason == "soc_full"
    assert setpoint(85.0, soc=100.0).battery_power_kw == 0.0


def test_a_lower_recharge_level_leaves_a_dead_band():
    settings = PeakShavingSettings(100.0, 50.0, 30.0, recharge_below_kw=80.0)
    between = peak_shaving_setpoint(settings, grid_import_kw=90, battery_power_kw=0, soc_pct=50)
    below = peak_shaving_setpoint(settings, grid_import_kw=70, battery_power_kw=0, soc_pct=50)
    assert (between.battery_power_kw, between.reason) == (0.0, "idle")
    assert below.battery_power_kw == pytest.approx(-10.0)


def test_soc_hysteresis_stops_at_min_and_resumes_only_above_min_plus_hysteresis():
    at_min = setpoint(120.0, soc=10.0)
    assert at_min.battery_power_kw == 0.0 and at_min.state.discharge_blocked
    # recharged to 13 %: still blocked (needs > 15 %), but a low load may still recharge it
    still = setpoint(120.0, soc=13.0, state=at_min.state)
    assert still.battery_power_kw == 0.0 and still.reason == "soc_low"
    assert setpoint(60.0, soc=13.0, state=at_min.state).battery_power_kw == pytest.approx(-30.0)
    resumed = setpoint(120.0, soc=15.5, state=still.state)
    assert resumed.battery_power_kw == pytest.approx(20.0) and not resumed.state.discharge_blocked
    # without the latch, 13 % is above the minimum and discharging is allowed
    assert setpoint(120.0, soc=13.0, state=PeakShavingState()).battery_power_kw == 20.0


def test_settings_that_cannot_work_are_refused():
    with pytest.raises(ValidationFailed, match="recharge_below_kw"):
        PeakShavingSettings(100.0, 50.0, 30.0, recharge_below_kw=120.0)
    with pytest.raises(ValidationFailed, match="soc_min_pct < soc_max_pct"):
        PeakShavingSettings(100.0, 50.0, 30.0, soc_min_pct=90, soc_max_pct=80)


def test_beside_a_schedule_the_plan_is_followed_while_it_keeps_the_import_under():
    # the plan discharges 30 kW; the site draws 120 - 0 (battery idle now): import 90 with the
    # plan, under 100: follow it
    point = setpoint(120.0, battery_kw=0.0, base_kw=30.0)
    assert (point.battery_power_kw, point.reason) == (30.0, "schedule")
    # the plan charges 10 kW at a 85 kW demand: 95 kW import, fine
    assert setpoint(85.0, base_kw=-10.0).battery_power_kw == -10.0
    # no recharge beyond the plan: an idle plan under the threshold stays idle
    assert setpoint(60.0, base_kw=0.0).reason == "schedule"


def test_beside_a_schedule_shaving_adds_only_what_the_threshold_needs():
    # demand 130 (meter 110 + battery giving 20 as planned): the plan's 20 leaves 110: 30 needed
    point = setpoint(110.0, battery_kw=20.0, base_kw=20.0)
    assert (point.battery_power_kw, point.reason) == (pytest.approx(30.0), "shave")
    # the plan charges 30 kW at a 90 kW demand: only 10 kW of charge fits under 100
    point = setpoint(120.0, battery_kw=-30.0, base_kw=-30.0)
    assert (point.battery_power_kw, point.reason) == (pytest.approx(-10.0), "limit_charge")
    # capped at the battery's 50 kW
    assert setpoint(200.0, base_kw=10.0).battery_power_kw == pytest.approx(50.0)
    # SOC latched low: no shaving discharge, a planned charge is stopped, not reversed
    low = PeakShavingState(discharge_blocked=True)
    point = setpoint(120.0, soc=12.0, state=low, base_kw=-5.0)
    assert (point.battery_power_kw, point.reason) == (0.0, "soc_low")
