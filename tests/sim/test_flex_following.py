"""Simulated batteries and EV chargers follow the set points the flex MPC dispatches (one timed
``charge``/``discharge`` per 15-minute step, nothing for an idle step) and hold 0 kW between
them instead of their own pattern, until ``power_kw: null`` hands them back."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.sim.model import apply_command
from gridpilot.sim.provision import SimAsset
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.sim.scenarios import building, portfolio
from gridpilot.sim.storage_devices import Battery, EvCharger

TEN_LOCAL = JUNE_MONDAY + 8 * 3_600_000  # 10:00 in Rome (CEST): the battery's pattern charges
HOUR = 3_600_000
ETA = math.sqrt(0.92)  # the simulated battery's one-way efficiency


def test_without_a_set_point_the_battery_runs_its_pattern():
    context = ctx("battery")
    context.state["soc_pct"] = 50.0
    _, out = run(Battery(), TEN_LOCAL, 1 / 24, context)
    assert out["power_kw"][0] == pytest.approx(800 / 5 / ETA)  # charging from 10:00


def test_battery_follows_dispatched_set_points_and_idles_between_them():
    context = ctx("battery")
    context.state["soc_pct"] = 50.0
    mpc = {"power_kw": 100.0, "min_soc_pct": 10.0, "duration_s": 900}
    apply_command(context.overrides, "discharge", mpc, TEN_LOCAL)
    _, out = run(Battery(), TEN_LOCAL, 1 / 24, context)  # one hour, one sample a minute
    power, soc = out["power_kw"], out["soc_pct"]
    assert np.all(power[:15] == pytest.approx(-100.0))
    assert np.all(power[15:] == 0.0)  # an idle step: no command, no pattern either
    # 15 min at 100 kW out of 1000 kWh through sqrt(0.92): 2.606 % of the capacity
    assert soc[-1] == pytest.approx(50.0 - 100 / ETA * 0.25 / 10, abs=1e-9)

    charge = {"power_kw": 200.0, "target_soc_pct": 90.0, "duration_s": 900}
    apply_command(context.overrides, "charge", charge, TEN_LOCAL + HOUR)
    _, out = run(Battery(), TEN_LOCAL + HOUR, 0.5 / 24, context)
    assert np.all(out["power_kw"][:15] == pytest.approx(200.0))
    assert np.all(out["power_kw"][15:] == 0.0)
    assert out["soc_pct"][-1] == pytest.approx(soc[-1] + 200 * ETA * 0.25 / 10, abs=1e-9)

    assert apply_command(context.overrides, "charge", {"power_kw": None}) == (
        "back to its own operation"
    )
    _, out = run(Battery(), TEN_LOCAL + 2 * HOUR, 1 / 24, context)
    assert out["power_kw"][0] == pytest.approx(800 / 5 / ETA)  # its own pattern again


def test_ev_charger_charges_at_the_set_point_only():
    charger = EvCharger(22.0)
    context = ctx("ev")
    _, free = run(charger, JUNE_MONDAY, 1.0, context)
    assert free["power_kw"].max() > 0  # it has sessions of its own that day
    context = ctx("ev")
    apply_command(context.overrides, "charge", {"power_kw": 7.5, "duration_s": 1800},
                  JUNE_MONDAY)  # fmt: skip
    _, out = run(charger, JUNE_MONDAY, 1.0, context)
    assert np.all(out["power_kw"][:30] == 7.5)
    assert np.all(out["power_kw"][30:] == 0.0)  # its own sessions wait for the EMS


async def test_the_live_simulator_acknowledges_an_ev_charge_and_refuses_a_discharge():
    office = building()[0]
    charger = next(a for a in office.assets if isinstance(a.model, EvCharger))
    solar = portfolio()[0]
    assets = [SimAsset(1, 1, "building", office, charger, "ev"),
              SimAsset(2, 2, "portfolio", solar, solar.assets[1], "b")]  # fmt: skip

    class Nowhere:
        async def send(self, *args: object) -> None:
            raise AssertionError("not sending in this test")

    simulator = LiveSimulator(assets, sink=Nowhere())
    await simulator.prime(None)

    def message(command_id: int, kind: str, params: dict) -> bytes:
        return json.dumps({"command_id": command_id, "kind": kind, "params": params}).encode()

    done = simulator.acknowledge(1, message(1, "charge", {"power_kw": 11.0, "duration_s": 900}))
    assert done[-1]["state"] == "succeeded" and done[-1]["detail"] == "charge at 11 kW"
    assert simulator.live[1].ctx.overrides.remote is True
    refused = simulator.acknowledge(1, message(2, "discharge", {"power_kw": 5.0}))
    assert refused[-1]["state"] == "failed" and "not a battery" in refused[-1]["detail"]
    done = simulator.acknowledge(2, message(3, "discharge", {"power_kw": 250.0,
                                                             "min_soc_pct": 10.0,
                                                             "duration_s": 900}))  # fmt: skip
    assert done[-1]["state"] == "succeeded" and simulator.live[2].ctx.overrides.remote


def test_a_power_set_point_of_0_kw_holds_the_battery_idle():
    """Peak shaving's ``setpoint`` ``power_kw: 0`` (idle) is a set point, not "none": it ends
    a running discharge at once and keeps the battery at 0 kW, pattern included, until the
    next command."""
    context = ctx("battery")
    context.state["soc_pct"] = 50.0
    shave = {"power_kw": 100.0, "min_soc_pct": 10.0, "duration_s": 3600}
    apply_command(context.overrides, "discharge", shave, TEN_LOCAL)
    _, out = run(Battery(), TEN_LOCAL, 0.25 / 24, context)
    assert np.all(out["power_kw"] == pytest.approx(-100.0))
    soc = float(out["soc_pct"][-1])
    detail = apply_command(context.overrides, "setpoint", {"power_kw": 0.0}, TEN_LOCAL)
    assert detail == "power set point 0 kW"
    _, out = run(Battery(), TEN_LOCAL + HOUR // 4, 2 / 24, context)  # 10:15-12:15: pattern hours
    assert np.all(out["power_kw"] == 0.0)
    assert np.all(out["soc_pct"] == soc)
    apply_command(context.overrides, "charge", {"power_kw": 50.0, "duration_s": 900},
                  TEN_LOCAL + 3 * HOUR)  # fmt: skip
    _, out = run(Battery(), TEN_LOCAL + 3 * HOUR, 0.5 / 24, context)
    assert np.all(out["power_kw"][:15] == pytest.approx(50.0))  # the next command wins
    assert np.all(out["power_kw"][15:] == 0.0)


def test_a_power_set_point_holds_the_battery_at_that_power_in_its_own_sign():
    context = ctx("battery")
    context.state["soc_pct"] = 50.0
    assert apply_command(context.overrides, "setpoint", {"power_kw": -40}) == (
        "power set point -40 kW"
    )
    _, out = run(Battery(), TEN_LOCAL, 1 / 24, context)  # < 0: discharging, as its power_kw
    assert np.all(out["power_kw"] == pytest.approx(-40.0))
    assert out["soc_pct"][-1] == pytest.approx(50.0 - 40 / ETA / 10, abs=1e-9)


def test_a_discharge_to_0_percent_stops_at_the_battery_floor_not_beyond():
    """``min_soc_pct: 0`` is a minimum like any other (the battery's own 10 % floor holds)."""
    context = ctx("battery")
    context.state["soc_pct"] = 10.5
    cmd = {"power_kw": 100.0, "min_soc_pct": 0.0, "duration_s": 3600}
    apply_command(context.overrides, "discharge", cmd, TEN_LOCAL)
    _, out = run(Battery(), TEN_LOCAL, 1 / 24, context)
    assert out["soc_pct"].min() == pytest.approx(10.0)
    context.state["soc_pct"] = 80.0
    cmd = {"power_kw": 100.0, "target_soc_pct": 0.0, "duration_s": 3600}
    apply_command(context.overrides, "charge", cmd, TEN_LOCAL)  # a target of 0 %: no charging
    _, out = run(Battery(), TEN_LOCAL, 1 / 24, context)
    assert np.all(out["power_kw"] == 0.0)


def test_an_ev_charger_follows_a_power_set_point_of_0_kw():
    charger = EvCharger(22.0)
    context = ctx("ev")
    _, free = run(charger, JUNE_MONDAY, 1.0, context)
    assert free["power_kw"].max() > 0
    apply_command(context.overrides, "setpoint", {"power_kw": 0}, JUNE_MONDAY)
    _, out = run(charger, JUNE_MONDAY, 1.0, context)
    assert np.all(out["power_kw"] == 0.0)  # its own sessions wait too
    context = ctx("ev")
    apply_command(context.overrides, "charge", {"power_kw": 7.5}, JUNE_MONDAY)  # no duration
    _, out = run(charger, JUNE_MONDAY, 1.0, context)
    assert np.all(out["power_kw"] == 7.5)


async def test_the_live_simulator_applies_a_0_kw_set_point_to_a_battery():
    solar = portfolio()[0]
    simulator = LiveSimulator([SimAsset(2, 2, "portfolio", solar, solar.assets[1], "b")],
                              sink=None)  # type: ignore[arg-type]  # fmt: skip
    await simulator.prime(None)
    message = json.dumps({"command_id": 7, "kind": "setpoint", "params": {"power_kw": 0.0}})
    done = simulator.acknowledge(2, message.encode())
    assert done[-1]["state"] == "succeeded" and done[-1]["detail"] == "power set point 0 kW"
    held = simulator.live[2].ctx.overrides
    assert (held.forced_kw, held.forced_until_ms, held.remote) == (0.0, None, True)
