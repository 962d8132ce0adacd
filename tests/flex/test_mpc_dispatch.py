"""The MPC round on both back ends: re-plan an auto-dispatched site and send the step holding
now as a command through the control service; a manual command wins until it expires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.flex.schedule_data import BATTERY, store_forecasts
from tests.insights.kpis.kpi_test_data import add_tariff, make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.flex.tasks import FLEX_RUNTIME, FlexRuntime

QUARTER_MS = 15 * 60_000


def peak_this_hour(at_ms: int) -> dict:
    """0.50 EUR/kWh in the UTC hour holding ``at_ms``, 0.10 otherwise."""
    hour = datetime.fromtimestamp(at_ms / 1000, UTC).hour
    return {
        "currency": "EUR",
        "country": None,
        "default_rate_per_kwh": 0.10,
        "periods": [{"rate_per_kwh": 0.50, "start": f"{hour:02d}:00", "end": f"{hour + 1:02d}:00"}],
    }


async def auto_site(client, sessions, admin, now: int) -> tuple[int, int]:
    site_id = await make_site(client, admin, "MPC site")
    added = await add_tariff(client, admin, site_id, now - MS_PER_DAY, peak_this_hour(now))
    assert added.status_code == 201, added.text
    await store_forecasts(sessions, site_id, 30.0, hours=26)
    asset = await make_asset(client, admin, site_id, "Battery", "battery")
    body = {**BATTERY, "asset_id": asset, "auto_dispatch": True}
    created = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return site_id, asset


async def commands_of(client, headers, asset: int) -> list[dict]:
    response = await client.get(f"/api/v1/assets/{asset}/commands", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_round_plans_and_dispatches_the_current_step(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    site_id, asset = await auto_site(client, sessions, admin, now)
    # the app runs the loop; the test runs a round itself
    assert runtime_of(app).require(FLEX_RUNTIME).job.running
    runtime = FlexRuntime(app.state.settings, sessions, app.state.bus)
    (done,) = await runtime.run_once(at_ms=now)
    assert done.site_id == site_id and done.status == "optimal", done
    (sent,) = done.dispatched
    # the quarter holding now costs 0.50: the battery covers the 30 kW load (40 kWh above its
    # floor; the hour's remaining quarters need at most 31.6)
    assert sent.kind == "discharge" and sent.power_kw == pytest.approx(30.0)
    (command,) = await commands_of(client, admin, asset)
    assert command["id"] == sent.command_id and command["created_by"] == "system:flex"
    assert command["kind"] == "discharge"
    step_end = now - now % QUARTER_MS + QUARTER_MS
    assert command["params"] == {
        "power_kw": 30.0,
        "min_soc_pct": 10.0,
        "duration_s": (step_end - now) // 1000,
    }
    schedule = (await client.get(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    assert schedule["id"] == done.schedule_id and schedule["created_by"] == "system:flex"
    assert schedule["steps"][0]["batteries"]["BESS"]["discharge_kw"] == pytest.approx(30.0)

    (again,) = await runtime.run_once(at_ms=now)  # re-planned within the same quarter hour
    assert again.schedule_id != done.schedule_id
    assert [c["id"] for c in await commands_of(client, admin, asset)] == [command["id"]]


async def test_a_manual_command_wins(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    _site_id, asset = await auto_site(client, sessions, admin, now)
    operator = await auth_headers(Role.OPERATOR)
    manual = await client.post(
        f"/api/v1/assets/{asset}/commands",
        json={"kind": "charge", "params": {"power_kw": 5}, "ttl_s": 60},
        headers=operator,
    )
    assert manual.status_code == 201, manual.text
    runtime = FlexRuntime(app.state.settings, sessions, app.state.bus)
    (done,) = await runtime.run_once(at_ms=now)
    assert done.status == "optimal"  # planned and stored all the same
    (skipped,) = done.dispatched
    assert skipped.command_id is None
    assert skipped.skipped == f"manual command {manual.json()['id']}"
    assert [c["id"] for c in await commands_of(client, admin, asset)] == [manual.json()["id"]]
    # once it has expired (ttl 60 s), the plan is dispatched again
    (later,) = await runtime.run_once(at_ms=manual.json()["expires_ms"] + 1)
    assert not (later.dispatched[0].skipped or "").startswith("manual command")


async def test_a_site_without_inputs_is_skipped(app, client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "No inputs")
    body = {**BATTERY, "auto_dispatch": True}
    created = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)
    assert created.status_code == 201
    runtime = FlexRuntime(app.state.settings, app.state.sessions, app.state.bus)
    (done,) = await runtime.run_once()
    assert done.schedule_id is None and "cannot be planned" in (done.error or "")
