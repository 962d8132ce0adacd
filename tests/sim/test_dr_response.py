"""Simulated devices obey demand-response commands physically: thermal lag and rebound of the
office HVAC, lighting dimmed at once, a deferrable machine's held-back energy made up later,
a battery discharging to its minimum SOC for a duration (hand-computed values)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.sim.buildings import BuildingHvac, Lighting
from gridpilot.sim.clock import grid
from gridpilot.sim.dr_response import (
    DEFERRED_KEY,
    HVAC_TAU_S,
    THETA_KEY,
    THETA_MS_KEY,
    defer,
    first_order,
    hvac_factor,
    lagged_offset,
)
from gridpilot.sim.factory import InjectionMolding
from gridpilot.sim.model import Overrides, apply_command
from gridpilot.sim.storage_devices import Battery

NOON_MS = JUNE_MONDAY + 10 * 3_600_000  # 12:00 in Rome (CEST): the office is full


def test_first_order_lag_reaches_63_2_percent_at_tau():
    values = first_order(0.0, 2.0, np.array([0.0, HVAC_TAU_S, 3 * HVAC_TAU_S]), HVAC_TAU_S)
    assert values[0] == 0.0
    assert values[1] == pytest.approx(2.0 * 0.6321205588, rel=1e-9)  # 1 - e^-1
    assert values[2] == pytest.approx(2.0 * (1 - math.exp(-3)), rel=1e-9)  # 95.0 %


def test_lag_continues_across_chunks_as_in_one_run():
    t = grid(NOON_MS, NOON_MS + 3_600_000, 60_000)
    whole: dict[str, float] = {THETA_KEY: 0.0, THETA_MS_KEY: float(NOON_MS)}
    parts: dict[str, float] = dict(whole)
    one = lagged_offset(t, 2.0, whole)
    two = np.concatenate([lagged_offset(t[:17], 2.0, parts), lagged_offset(t[17:], 2.0, parts)])
    assert np.allclose(one, two)
    assert whole[THETA_MS_KEY] == float(t[-1])


def test_hvac_factor_saves_while_warming_and_rebounds_after():
    assert hvac_factor(np.array([1.0]), 2.0, 0.06)[0] == pytest.approx(0.94)  # warming
    assert hvac_factor(np.array([2.0]), 2.0, 0.06)[0] == pytest.approx(0.88)  # settled
    assert hvac_factor(np.array([1.0]), 0.0, 0.06)[0] == pytest.approx(1.06)  # rebound


def _hvac(t0: int, setpoint: float | None, state: dict[str, float]) -> np.ndarray:
    context = ctx("hvac")
    context.overrides = Overrides(setpoint=setpoint)
    context.state.update(state)
    _, out = run(BuildingHvac(), t0, 1 / 24, context)  # one hour at 1 min
    return out["power_kw"]


def test_office_hvac_setpoint_moves_power_with_the_lag_and_rebounds():
    base = _hvac(NOON_MS, None, {})
    settled = _hvac(NOON_MS, 24.0, {})  # held at +2 K long enough: 12 % of the thermal part
    step = _hvac(NOON_MS, 24.0, {THETA_KEY: 0.0, THETA_MS_KEY: float(NOON_MS)})
    after = _hvac(NOON_MS, None, {THETA_KEY: 2.0, THETA_MS_KEY: float(NOON_MS)})
    full = base - settled  # the settled saving, noise and all
    assert full.min() > 4.0  # kW: a real saving in a full office at noon
    assert (base[0] - step[0]) == pytest.approx(0.0, abs=1e-9)  # no saving at once
    at_tau = int(HVAC_TAU_S // 60)
    assert (base[at_tau] - step[at_tau]) / full[at_tau] == pytest.approx(1 - math.exp(-1))
    # after the offset is removed: above the baseline by as much as it saved, decaying
    assert (after[0] - base[0]) / full[0] == pytest.approx(1.0)
    assert (after[at_tau] - base[at_tau]) / full[at_tau] == pytest.approx(math.exp(-1))


def test_lighting_dims_at_once():
    context = ctx("light")
    _, free = run(Lighting(45.464, 9.190), NOON_MS, 1 / 24, context)
    context.overrides = Overrides(power_limit_kw=20.0)
    _, dimmed = run(Lighting(45.464, 9.190), NOON_MS, 1 / 24, context)
    assert free["power_kw"][0] > 20.0
    assert np.allclose(dimmed["power_kw"], np.minimum(free["power_kw"], 20.0))


def test_defer_caps_then_pays_back_within_the_rating():
    power = np.full(4, 10.0)
    capped, owed = defer(power, limit_kw=6.0, rated_kw=14.0, deferred_kwh=0.0, dt_h=0.5)
    assert capped.tolist() == [6.0] * 4 and owed == pytest.approx(8.0)  # 4 kW x 2 h
    back, owed = defer(power, limit_kw=None, rated_kw=14.0, deferred_kwh=5.0, dt_h=0.5)
    assert back.tolist() == pytest.approx([14.0, 14.0, 12.0, 10.0]) and owed == 0.0


def test_defer_makes_up_under_a_raised_cap_and_a_cap_above_the_rating_lifts_it():
    """Owed 1.5 kWh, cap 12 kW, 30-min samples: 10 + 2 (owed 0.5), 10 + 1 (owed 0), 16 capped
    to 12 (owed 2), 10 + 2 (owed 1). DR's restore raises a deferred load's cap to its draw + the
    reduction it held, so the make-up runs at about that rate, not at the whole rating."""
    power = np.array([10.0, 10.0, 16.0, 10.0])
    out, owed = defer(power, limit_kw=12.0, rated_kw=20.0, deferred_kwh=1.5, dt_h=0.5)
    assert out.tolist() == pytest.approx([12.0, 11.0, 12.0, 12.0]) and owed == pytest.approx(1.0)
    out, owed = defer(np.full(2, 10.0), limit_kw=25.0, rated_kw=20.0, deferred_kwh=4.0, dt_h=0.5)
    assert out.tolist() == pytest.approx([18.0, 10.0]) and owed == 0.0  # the rating bounds it


def test_molding_machine_under_a_limit_makes_up_the_energy_later():
    model = InjectionMolding()
    context = ctx("molding")
    _, free = run(model, NOON_MS, 2 / 24, context)
    context = ctx("molding")
    context.overrides = Overrides(power_limit_kw=60.0)
    _, limited = run(model, NOON_MS, 1 / 24, context)
    owed = context.state[DEFERRED_KEY]
    assert limited["power_kw"].max() <= 60.0 and owed > 10.0  # kWh held back in the hour
    context.overrides = Overrides()
    _, later = run(model, NOON_MS + 3_600_000, 1 / 24, context)
    dt_h = model.interval_s / 3600
    per_hour = len(limited["power_kw"])
    assert context.state[DEFERRED_KEY] == pytest.approx(0.0)
    energy = (limited["power_kw"].sum() + later["power_kw"].sum()) * dt_h
    assert energy == pytest.approx(free["power_kw"].sum() * dt_h)  # shifted, not lost
    assert later["power_kw"][:5].sum() > free["power_kw"][per_hour : per_hour + 5].sum()


def test_battery_discharges_to_the_commands_min_soc_for_its_duration():
    context = ctx("battery")
    context.state["soc_pct"] = 50.0
    night = JUNE_MONDAY  # 02:00 in Rome: the schedule says idle
    apply_command(context.overrides, "discharge",
                  {"power_kw": 100.0, "min_soc_pct": 45.0, "duration_s": 3600}, night)  # fmt: skip
    _, out = run(Battery(), night, 2 / 24, context)
    power, soc = out["power_kw"], out["soc_pct"]
    assert power[0] == pytest.approx(-100.0)
    assert soc.min() == pytest.approx(45.0)  # stopped at the command's minimum, not at 10 %
    # 5 % of 1000 kWh at 100 kW x sqrt(0.92) delivered: 28.77 min of discharge
    assert int((power < 0).sum()) == math.ceil(50.0 / (100.0 / math.sqrt(0.92)) * 60)
    assert np.all(power[60:] == 0.0)  # the hour is over: back to the (idle) schedule
