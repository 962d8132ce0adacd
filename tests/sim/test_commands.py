"""Device commands change what the simulated devices do (the MQTT devices apply these)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.sim.helpers import JUNE_MONDAY, ctx, run

from gridpilot.core.errors import ValidationFailed
from gridpilot.sim.model import Overrides
from gridpilot.sim.provision import SimAsset
from gridpilot.sim.realtime import LiveSimulator, apply_command
from gridpilot.sim.scenarios import building, portfolio
from gridpilot.sim.storage_devices import Battery


def test_apply_command_kinds_and_bad_parameters():
    overrides = Overrides()
    assert (
        apply_command(overrides, "set_power_limit", {"limit_kw": 12.5})
        == "power limited to 12.5 kW"
    )
    assert overrides.power_limit_kw == 12.5
    apply_command(overrides, "set_power_limit", {"limit_kw": None})
    assert overrides.power_limit_kw is None
    apply_command(overrides, "setpoint", {"temperature_c": 24})
    assert overrides.setpoint == 24
    apply_command(overrides, "stop", {})
    assert overrides.running is False
    apply_command(overrides, "start", {})
    assert overrides.running is True
    apply_command(overrides, "discharge", {"power_kw": 100})
    assert overrides.forced_kw == -100
    for kind, params in [("set_power_limit", {"limit_kw": -1}), ("setpoint", {"value": "warm"}),
                         ("charge", {"power_kw": 0}), ("self_destruct", {})]:  # fmt: skip
        with pytest.raises(ValidationFailed):
            apply_command(overrides, kind, params)


def test_battery_follows_charge_and_discharge_commands():
    context = ctx("battery")
    context.state["soc_pct"] = 50.0
    context.overrides = Overrides(forced_kw=200.0)
    _, out = run(Battery(), JUNE_MONDAY, 0.25, context)  # 00:00-06:00 UTC: schedule says idle
    assert out["power_kw"][0] == pytest.approx(200.0)
    assert np.all(np.diff(out["soc_pct"]) >= 0) and out["soc_pct"][-1] <= 90 + 1e-9


async def test_simulator_refuses_charge_for_a_machine_that_is_not_a_battery():
    site = building()[0]
    solar = portfolio()[0]
    assets = [SimAsset(1, 1, "building", site, site.assets[0], "b"),
              SimAsset(2, 2, "portfolio", solar, solar.assets[1], "s")]  # fmt: skip

    class Nowhere:
        async def send(self, *args: object) -> None:
            raise AssertionError("not sending in this test")

    simulator = LiveSimulator(assets, sink=Nowhere())
    await simulator.prime(None)
    with pytest.raises(ValidationFailed, match="not a battery"):
        simulator.command(1, "charge", {"power_kw": 5})
    assert simulator.command(2, "charge", {"power_kw": 50}) == "charge at 50 kW"

    # the device's answers to command messages, as MQTT devices and the in-process link send them
    def message(command_id: int, kind: str, params: dict, expires_ms: int | None = None) -> bytes:
        return json.dumps({"command_id": command_id, "kind": kind, "params": params,
                           "expires_ms": expires_ms}).encode()  # fmt: skip

    done = simulator.acknowledge(2, message(7, "discharge", {"power_kw": 20}))
    assert [(a["command_id"], a["state"]) for a in done] == [(7, "acknowledged"), (7, "succeeded")]
    assert done[1]["detail"] == "discharge at 20 kW"
    refused = simulator.acknowledge(1, message(8, "charge", {"power_kw": 5}))
    assert refused[-1]["state"] == "failed" and "not a battery" in refused[-1]["detail"]
    late = simulator.acknowledge(2, message(9, "stop", {}, expires_ms=1))
    assert late[-1] == {"command_id": 9, "state": "failed", "ts": late[-1]["ts"],
                        "detail": "the command expired before it arrived"}  # fmt: skip
    assert simulator.live[2].ctx.overrides.running is True  # the expired stop was not followed
    assert simulator.acknowledge(2, b"not json") == []
