"""A battery that no flexibility schedule runs goes back to its own operation when a DR event
ends (both back ends): the event's timed discharges put the simulated battery under remote
control (idle between set points); the restore hands it back with ``discharge`` ``power_kw:
null`` through the control service (``control.kinds`` accepts it), the device obeys
(``sim.model.apply_command``) and at 18:00 it discharges on its own pattern again instead of
idling. An auto-dispatched battery whose schedule does not reach the release is handed back
the same way."""

from __future__ import annotations

import numpy as np
import pytest
from tests.dr.dispatch_data import (
    BESS,
    END,
    START,
    add_resources,
    create_event,
    detail,
    dr_site,
)
from tests.dr.dr_data import local_ms, profile, quarters, store_power
from tests.dr.sim_loop import STEP_MS, SimSite

from gridpilot.dr.tasks import DrRuntime
from gridpilot.sim.generate import generate
from gridpilot.sim.storage_devices import Battery

MIN = 60_000
#: The simulated battery: 100 kWh, 40 kW; its own pattern discharges 18-22 h local at
#: min(40, 80 / 4 x sqrt(0.92)) = 19.2 kW.
DEVICE = Battery(rated_kw=40.0, capacity_kwh=100.0)
OWN_DISCHARGE_KW = 80 / 4 * np.sqrt(0.92)


async def run_event(app, client, admin, bess: dict) -> tuple[dict, SimSite, np.ndarray]:
    """A 10 kW event 14:00-16:00 met by the battery alone (the meter sees it), the DR loop
    every 5 min until 19:00 with the simulated battery obeying; its power [kW] 18:00-19:00."""
    site, meter = await dr_site(app, client, admin, f"Hand back {bess['auto_dispatch']}")
    ids = await add_resources(client, admin, site, meter, bess)
    during = quarters(START, END)
    await store_power(app, meter, during, profile(during) - 10.0)
    event = await create_event(client, admin, site, 10.0)
    sim = SimSite(app, 41.9, 12.5, "Europe/Rome")
    sim.add("BESS", ids["BESS"]["asset_id"], DEVICE)
    battery = sim.assets["BESS"]
    battery.ctx.state["soc_pct"] = 90.0
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    until = local_ms("2026-11-25 19:00")
    power: list[float] = []
    for t in range(START - 15 * MIN, until, STEP_MS):
        await runtime.step(t + 10_000)
        await sim.deliver(t + 10_000)
        _, out = generate(DEVICE, battery.ctx, t, t + STEP_MS, step_ms=STEP_MS,
                          accumulator=battery.accumulator)  # fmt: skip
        if t >= local_ms("2026-11-25 18:00"):
            power.extend(out["power_kw"].tolist())
    return await detail(client, admin, event), sim, np.asarray(power)


@pytest.mark.slow  # a few seconds: the DR loop every 5 min over 5 hours
@pytest.mark.parametrize("auto_dispatch", [False, True], ids=["own", "no-schedule"])
async def test_a_battery_goes_back_to_its_own_operation(app, client, admin, auto_dispatch):
    bess = {**BESS, "auto_dispatch": auto_dispatch}
    found, sim, after = await run_event(app, client, admin, bess)
    got = [(kind, params) for _, name, kind, params in sim.commands if name == "BESS"]
    sheds = [p for k, p in got if k == "discharge" and p.get("power_kw") is not None]
    assert len(sheds) == 8 and all(10.0 <= p["power_kw"] < 11 for p in sheds)  # one a quarter
    assert got[-1] == ("discharge", {"power_kw": None})  # the hand-back, last
    (handed,) = [s for s in found["dispatch"]["steps"] if s["phase"] == "restore"
                 and s["resource"] == "BESS"]  # fmt: skip
    assert handed["start"][11:16] == "15:00"  # 16:00 in Rome
    assert handed["command_params"] == {"power_kw": None} and handed["state"] == "succeeded"
    overrides = sim.assets["BESS"].ctx.overrides
    assert not overrides.remote and overrides.forced_kw is None
    # its own 18-22 h discharge again (idle at 0 kW under remote control without the hand-back)
    assert after == pytest.approx(-OWN_DISCHARGE_KW, rel=1e-6)
