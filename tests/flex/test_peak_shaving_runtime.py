"""The peak-shaving runtime on both back ends: readings on the bus -> the set point as a
battery command -> the device's acknowledgement; SOC hysteresis across cycles; deadband, rate
limit and keep-alive; a manual command wins; two runtimes never both command a site; the MPC
leaves a shaved battery to peak shaving and takes it back when shaving is turned off."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from tests.flex.shaving_data import (
    BatteryDevice,
    ShavingSite,
    enable,
    publish,
    shaving_site,
    stored,
)
from tests.flex.test_mpc_dispatch import auto_site
from tests.insights.kpis.kpi_test_data import make_asset

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms
from gridpilot.flex.models import PeakShavingConfig
from gridpilot.flex.shaving_runtime import PeakShavingRuntime
from gridpilot.flex.tasks import FlexRuntime


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # the app's own runtime is off: each test runs its own, on its own clock
    return {"peak_shaving_enabled": False, "command_rate_limit_per_min": 0}


class Clock:
    def __init__(self) -> None:
        self.ms = now_ms()

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> int:
        self.ms += int(seconds * 1000)
        return self.ms


def runtime_of(app, clock=None, owner=None) -> PeakShavingRuntime:
    runtime = PeakShavingRuntime(
        app.state.settings, app.state.sessions, app.state.bus, owner=owner, clock=clock or now_ms
    )
    runtime.subscribe()
    return runtime


async def commands(client, headers, asset: int) -> list[dict]:
    answer = await client.get(f"/api/v1/assets/{asset}/commands", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def actions(client, headers, site_id: int) -> list[dict]:
    answer = await client.get(f"/api/v1/sites/{site_id}/peak-shaving/actions", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_reading_over_the_threshold_becomes_an_acknowledged_discharge(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    runtime = PeakShavingRuntime(app.state.settings, sessions, app.state.bus)
    runtime.start()  # the real loops: lease round, bus subscription, worker
    try:
        for _ in range(200):
            if site.site_id in runtime.sites:
                break
            await asyncio.sleep(0.02)
        held = await client.get(f"/api/v1/sites/{site.site_id}/peak-shaving", headers=admin)
        assert held.json()["running_in"] == runtime.owner
        ts = now_ms()
        readings = [
            {"asset": site.meter, "metric": "power_kw", "ts": ts, "value": 120.0},
            {"asset": site.battery, "metric": "power_kw", "ts": ts, "value": 0.0},
            {"asset": site.battery, "metric": "soc_pct", "ts": ts, "value": 50.0},
        ]
        posted = await client.post("/api/v1/telemetry", json={"readings": readings}, headers=admin)
        assert posted.status_code == 200, posted.text
        found: list[dict] = []
        for _ in range(500):
            found = await commands(client, admin, site.battery)
            if found:
                break
            await asyncio.sleep(0.02)
    finally:
        await runtime.stop()
    (command,) = found
    # 120 kW under a 100 kW threshold: discharge 20 kW, down to the battery's 10 % floor
    assert command["kind"] == "discharge" and command["created_by"] == "system:peak-shaving"
    assert command["params"] == {"power_kw": 20.0, "min_soc_pct": 10.0, "duration_s": 120}
    device = BatteryDevice(sessions, app.state.bus, site.battery, site.site_id)
    assert await device.serve() == 1 and device.power_kw == 20.0
    detail = await client.get(f"/api/v1/commands/{command['id']}", headers=admin)
    states = [t["state"] for t in detail.json()["transitions"]]
    assert states == ["queued", "sent", "acknowledged", "succeeded"]
    (action,) = await actions(client, admin, site.site_id)
    assert (action["reason"], action["setpoint_kw"], action["grid_import_kw"]) == ("shave", 20, 120)
    assert action["command_id"] == command["id"] and action["soc_pct"] == 50.0
    assert action["detail"] == "discharge power_kw=20.0, min_soc_pct=10.0, duration_s=120"
    # stopping released the lease: another process may take the site at once
    released = await client.get(f"/api/v1/sites/{site.site_id}/peak-shaving", headers=admin)
    assert released.json()["running_in"] is None


async def cycle(runtime, clock, site, seconds=11.0, **readings):
    """Advance the clock (a lease round runs, as every 5 s in the loop), publish one reading
    of each given series stamped just before now, and run the decisions: the outcome, or None
    when nothing was attempted."""
    clock.advance(seconds)
    await runtime.refresh()
    runtime._dirty.clear()  # only the reading decides here
    await publish(runtime.bus, stored(site, clock.ms - 200, **readings))
    done = await runtime.run_pending()
    return done[0][1] if done else None


async def test_soc_hysteresis_across_cycles(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site, soc_min_pct=10, soc_hysteresis_pct=5)
    clock = Clock()
    runtime = runtime_of(app, clock)
    assert await runtime.refresh() == [site.site_id]
    first = await cycle(runtime, clock, site, grid_kw=120.0, battery_kw=0.0, soc=12.0)
    assert first.status == "sent"
    # the battery gives 20 kW and reaches its floor: discharging stops, the battery idles
    floor = await cycle(runtime, clock, site, grid_kw=100.0, battery_kw=20.0, soc=10.0)
    assert floor.status == "sent"
    got = await client.get(f"/api/v1/sites/{site.site_id}/peak-shaving", headers=admin)
    assert got.json()["discharge_blocked"]  # the latch is stored for a process taking over
    # 13 %: still under 10 + 5: no discharge, nothing new to send
    assert await cycle(runtime, clock, site, grid_kw=120.0, battery_kw=0.0, soc=13.0) is None
    # 15.5 %: discharging resumes
    resumed = await cycle(runtime, clock, site, grid_kw=120.0, battery_kw=0.0, soc=15.5)
    assert resumed.status == "sent"
    sent = [(c["kind"], c["params"]) for c in reversed(await commands(client, admin, site.battery))]
    assert [kind for kind, _ in sent] == ["discharge", "setpoint", "discharge"]
    assert sent[1][1] == {"power_kw": 0.0} and sent[2][1]["power_kw"] == 20.0
    reasons = [a["reason"] for a in reversed(await actions(client, admin, site.site_id))]
    assert reasons == ["shave", "soc_low", "shave"]


async def test_recharge_below_the_threshold_never_crosses_it(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    clock = Clock()
    runtime = runtime_of(app, clock)
    await runtime.refresh()
    assert (
        await cycle(runtime, clock, site, grid_kw=85.0, battery_kw=0.0, soc=50.0)
    ).status == "sent"
    (command,) = await commands(client, admin, site.battery)
    assert command["kind"] == "charge"
    assert command["params"] == {"power_kw": 15.0, "target_soc_pct": 90.0, "duration_s": 120}


async def test_deadband_rate_limit_and_keep_alive(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site, deadband_kw=1.0)
    clock = Clock()
    runtime = runtime_of(app, clock)
    await runtime.refresh()
    assert (await cycle(runtime, clock, site, grid_kw=120.0, battery_kw=0.0)).status == "sent"
    # demand 120.5: 0.5 kW more is inside the deadband
    assert await cycle(runtime, clock, site, 2, grid_kw=100.5, battery_kw=20.0) is None
    # demand 145 two seconds later: over the threshold, more discharge goes out at once
    urgent = await cycle(runtime, clock, site, 2, grid_kw=125.0, battery_kw=20.0)
    assert urgent.status == "sent"
    # demand 105 soon after: less discharge waits for the 10 s interval...
    assert await cycle(runtime, clock, site, 2, grid_kw=60.0, battery_kw=45.0) is None
    clock.advance(9)
    runtime._mark(site.site_id)  # the timer the runtime set, fired on the test's clock
    (later,) = await runtime.run_pending()
    assert later[1].status == "sent"
    # ... and the same set point is sent again when half its 120 s duration is gone
    assert await cycle(runtime, clock, site, 30, grid_kw=100.0, battery_kw=5.0) is None
    assert (await cycle(runtime, clock, site, 31, grid_kw=100.0, battery_kw=5.0)).status == "sent"
    powers = [
        c["params"]["power_kw"] for c in reversed(await commands(client, admin, site.battery))
    ]
    assert powers == [20.0, 45.0, 5.0, 5.0]
    # a reading stamped before the last command (sent at sent_ms on a reading of sent_ms - 200)
    # is not acted on: the battery had not moved yet
    sent_ms = clock.ms
    await publish(runtime.bus, stored(site, sent_ms - 100, grid_kw=150.0))
    assert await runtime.run_pending() == []
    # ... unless the interval has passed and it is newer than the reading last acted on: a
    # meter whose clock is behind ours is still followed (demand 150 + 5: 55, capped at 50)
    clock.advance(11)
    await runtime.refresh()
    (skewed,) = await runtime.run_pending()
    assert skewed[1].status == "sent"
    last = (await commands(client, admin, site.battery))[0]
    assert last["params"]["power_kw"] == 50.0


async def test_a_manual_command_wins_until_it_expires(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    operator = await auth_headers(Role.OPERATOR)
    manual = await client.post(
        f"/api/v1/assets/{site.battery}/commands",
        json={"kind": "charge", "params": {"power_kw": 5}, "ttl_s": 60}, headers=operator,
    )  # fmt: skip
    assert manual.status_code == 201, manual.text
    clock = Clock()
    runtime = runtime_of(app, clock)
    await runtime.refresh()
    held = await cycle(runtime, clock, site, 1, grid_kw=120.0, battery_kw=-5.0)
    assert (held.status, held.command_id) == ("manual", manual.json()["id"])
    # the next readings do not ask the database again before the interval
    assert await cycle(runtime, clock, site, 1, grid_kw=121.0, battery_kw=-5.0) is None
    clock.ms = manual.json()["expires_ms"] + 1
    after = await cycle(runtime, clock, site, 0.5, grid_kw=120.0, battery_kw=0.0)
    assert after.status == "sent"
    kinds = [c["created_by"] for c in await commands(client, admin, site.battery)]
    assert kinds == ["system:peak-shaving", operator_subject(kinds)]
    reasons = [a["reason"] for a in await actions(client, admin, site.site_id)]
    assert reasons == ["shave", "manual"]


def operator_subject(kinds: list[str]) -> str:
    (other,) = [k for k in kinds if k != "system:peak-shaving"]
    assert other.startswith("user:")
    return other


async def test_two_runtimes_never_both_command_a_site(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    clock = Clock()
    one, two = runtime_of(app, clock, "one"), runtime_of(app, clock, "two")
    assert await one.refresh() == [site.site_id]
    assert await two.refresh() == []  # the lease is taken
    # both receive every reading (a Redis bus delivers to every process)
    clock.advance(1)
    await publish(app.state.bus, stored(site, clock.ms - 100, grid_kw=120.0, battery_kw=0.0))
    assert [o.status for _, o in await one.run_pending()] == ["sent"]
    assert await two.run_pending() == []
    # the lease lapses (process one hangs); two takes the site over, one still believes it
    # holds it: its next command is refused by the lease check in the command's transaction
    async with app.state.sessions() as session, session.begin():
        await session.execute(update(PeakShavingConfig).values(lease_until_ms=0))
    assert await two.refresh() == [site.site_id]
    clock.advance(11)
    await publish(app.state.bus, stored(site, clock.ms - 100, grid_kw=140.0, battery_kw=0.0))
    assert [o.status for _, o in await one.run_pending()] == ["lease"]
    assert [o.status for _, o in await two.run_pending()] == ["sent"]
    assert one.sites[site.site_id].lease_until_ms == 0  # one stops acting on the site
    powers = [
        c["params"]["power_kw"] for c in reversed(await commands(client, admin, site.battery))
    ]
    assert powers == [20.0, 40.0]
    await one.stop()
    await two.stop()


async def test_the_mpc_leaves_a_shaved_battery_alone_and_takes_it_back(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    site_id, battery = await auto_site(client, sessions, admin, now)
    meter = await make_asset(client, admin, site_id, "Main meter", "grid_connection")
    resources = await client.get(f"/api/v1/sites/{site_id}/flex-resources", headers=admin)
    site = ShavingSite(site_id, meter, battery, resources.json()[0]["id"])
    await enable(client, admin, site)
    clock = Clock()
    runtime = runtime_of(app, clock)
    await runtime.refresh()
    assert (await cycle(runtime, clock, site, 1, grid_kw=120.0, battery_kw=0.0)).status == "sent"
    mpc = FlexRuntime(app.state.settings, sessions, app.state.bus)
    (planned,) = await mpc.run_once(at_ms=now)
    assert [d.skipped for d in planned.dispatched] == ["dispatched by peak shaving"]
    # shaving off: the MPC dispatches again at once; shaving's running command is not "manual"
    await enable(client, admin, site, enabled=False)
    clock.advance(5)
    assert await runtime.refresh() == []  # auto-dispatched: no hand-back, the MPC has it
    (back,) = await mpc.run_once(at_ms=now)
    (sent,) = back.dispatched
    assert sent.skipped is None and sent.command_id is not None
    creators = [c["created_by"] for c in await commands(client, admin, battery)]
    assert creators == ["system:flex", "system:peak-shaving"]
