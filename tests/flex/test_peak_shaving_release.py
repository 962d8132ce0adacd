"""A battery peak shaving lets go of is handed back to its own operation (both back ends).

Peak shaving's timed set points put a storage device under the EMS's remote control, where it
holds 0 kW once they run out (the simulator's battery does, ``sim/model.py``). When the
settings are disabled or deleted, the runtime's next lease round sends ``discharge`` with
``power_kw: null`` (the hand-back) and logs ``released``; not over a manual command, and not
when another process now runs peak shaving with the battery."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from tests.flex.shaving_data import enable, publish, shaving_site, stored
from tests.flex.test_peak_shaving_runtime import Clock, actions, commands, cycle, runtime_of

from gridpilot.auth.permissions import Role
from gridpilot.flex.models import PeakShavingConfig
from gridpilot.sim.model import Overrides, apply_command

HAND_BACK = ("discharge", {"power_kw": None}, "system:peak-shaving")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"peak_shaving_enabled": False, "command_rate_limit_per_min": 0}


def simulated_battery(sent: list[dict]) -> Overrides:
    """The simulator's battery after the commands ``sent`` (newest first), each as it arrived."""
    device = Overrides()
    for command in reversed(sent):
        apply_command(device, command["kind"], command["params"], command["created_ms"])
    return device


@pytest.mark.parametrize("how", ["disabled", "deleted"])
async def test_a_battery_let_go_of_goes_back_to_its_own_operation(app, client, auth_headers, how):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    clock = Clock()
    runtime = runtime_of(app, clock)
    assert await runtime.refresh() == [site.site_id]
    assert (await cycle(runtime, clock, site, grid_kw=120.0, battery_kw=0.0)).status == "sent"
    assert simulated_battery(await commands(client, admin, site.battery)).remote

    if how == "disabled":
        await enable(client, admin, site, enabled=False)
    else:
        gone = await client.delete(f"/api/v1/sites/{site.site_id}/peak-shaving", headers=admin)
        assert gone.status_code == 204, gone.text
    clock.advance(5)
    assert await runtime.refresh() == []
    sent = await commands(client, admin, site.battery)
    assert len(sent) == 2
    assert (sent[0]["kind"], sent[0]["params"], sent[0]["created_by"]) == HAND_BACK
    device = simulated_battery(sent)
    assert not device.remote and device.forced_kw is None  # its own pattern again
    if how == "disabled":  # the log of deleted settings is not served
        reasons = [a["reason"] for a in await actions(client, admin, site.site_id)]
        assert reasons == ["released", "shave"]
    # nothing more on the next rounds
    clock.advance(5)
    await runtime.refresh()
    assert len(await commands(client, admin, site.battery)) == 2
    await runtime.stop()


async def test_a_manual_command_after_shaving_stands(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    clock = Clock()
    runtime = runtime_of(app, clock)
    await runtime.refresh()
    assert (await cycle(runtime, clock, site, grid_kw=120.0, battery_kw=0.0)).status == "sent"
    manual = await client.post(
        f"/api/v1/assets/{site.battery}/commands",
        json={"kind": "charge", "params": {"power_kw": 5}, "ttl_s": 60}, headers=admin,
    )  # fmt: skip
    assert manual.status_code == 201, manual.text
    await enable(client, admin, site, enabled=False)
    clock.advance(5)
    assert await runtime.refresh() == []
    sent = await commands(client, admin, site.battery)
    assert len(sent) == 2 and sent[0]["id"] == manual.json()["id"]  # no hand-back over it
    await runtime.stop()


async def test_a_battery_another_process_took_over_is_not_handed_back(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    clock = Clock()
    one, two = runtime_of(app, clock, "one"), runtime_of(app, clock, "two")
    assert await one.refresh() == [site.site_id]
    clock.advance(1)
    await publish(app.state.bus, stored(site, clock.ms - 100, grid_kw=120.0, battery_kw=0.0))
    assert [o.status for _, o in await one.run_pending()] == ["sent"]
    async with app.state.sessions() as session, session.begin():  # one's lease lapses
        await session.execute(update(PeakShavingConfig).values(lease_until_ms=0))
    assert await two.refresh() == [site.site_id]
    clock.advance(1)
    assert await one.refresh() == []  # one lets go of the site; two runs it
    sent = await commands(client, admin, site.battery)
    assert [c["created_by"] for c in sent] == ["system:peak-shaving"]
    assert simulated_battery(sent).remote
    await one.stop()
    await two.stop()
