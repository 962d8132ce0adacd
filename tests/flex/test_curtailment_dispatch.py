"""The MPC dispatches PV curtailment (both back ends): while the plan curtails, the linked
inverter gets ``set_power_limit`` with the PV power the plan keeps; the same limit is not sent
again; in the first step without curtailment the limit is lifted (``limit_kw: null``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.flex.schedule_data import QUARTER_MS, flat_forecast, plan_site
from tests.insights.kpis.kpi_test_data import make_asset

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms
from gridpilot.flex.tasks import FlexRuntime
from gridpilot.insights.forecasts.forecast_store import store_forecast


async def commands_of(client, headers, asset: int) -> list[dict]:
    response = await client.get(f"/api/v1/assets/{asset}/commands", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def forecasts_issued_at(sessions, site_id: int, at_ms: int) -> None:
    """5 kW of load and 40 kW of PV, as the forecast job would have stored them at ``at_ms``."""
    start = at_ms - at_ms % QUARTER_MS
    async with sessions() as session, session.begin():
        for quantity, kw in (("consumption", 5.0), ("generation", 40.0)):
            await store_forecast(
                session=session, site_id=site_id, asset_id=None, issued_ms=at_ms,
                forecast=flat_forecast(start, 26 * 4, kw), quantity=quantity,
            )  # fmt: skip


async def dispatched(runtime: FlexRuntime, sessions, site_id: int, at_ms: int) -> list:
    """The dispatch of an MPC round at ``at_ms``, with the forecasts of that time."""
    await forecasts_issued_at(sessions, site_id, at_ms)
    (done,) = await runtime.run_once(at_ms=at_ms)
    assert done.status == "optimal", done
    return list(done.dispatched)


async def test_the_plan_limits_the_inverter_then_lifts_the_limit(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Export-limited park", load_kw=5.0)
    now = now_ms() + 1  # after the forecasts plan_site stored: ours are the newest
    # exports earn 0.05 EUR/kWh, so the plan keeps all the PV the 10 kW export limit allows
    hour = datetime.fromtimestamp((now - now % QUARTER_MS) / 1000, UTC).replace(minute=0)
    prices = [{"start": (hour + timedelta(hours=i)).isoformat(), "import_eur_per_kwh": 0.2,
               "export_eur_per_kwh": 0.05} for i in range(27)]  # fmt: skip
    put = await client.put(f"/api/v1/sites/{site_id}/prices", json={"prices": prices},
                           headers=admin)  # fmt: skip
    assert put.status_code == 200, put.text
    inverter = await make_asset(client, admin, site_id, "Inverter", "solar_pv")
    body = {"kind": "pv_curtailment", "name": "Curtail", "asset_id": inverter,
            "auto_dispatch": True, "params": {"export_limit_kw": 10.0}}  # fmt: skip
    made = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)
    assert made.status_code == 201, made.text
    runtime = FlexRuntime(app.state.settings, sessions, app.state.bus)

    (sent,) = await dispatched(runtime, sessions, site_id, now)
    # 40 kW of PV, 5 kW of load, 10 kW of export: 15 kW kept, 25 kW curtailed
    assert (sent.kind, sent.power_kw) == ("set_power_limit", 15.0), sent
    (command,) = await commands_of(client, admin, inverter)
    assert command["params"] == {"limit_kw": 15.0} and command["created_by"] == "system:flex"

    (same,) = await dispatched(runtime, sessions, site_id, now + QUARTER_MS)
    assert same.skipped == f"command {command['id']} in force", same
    assert len(await commands_of(client, admin, inverter)) == 1

    # the grid operator raises the export limit to 50 kW: nothing to curtail any more
    raised = {"params": {"export_limit_kw": 50.0}}
    resource = made.json()["id"]
    patched = await client.patch(f"/api/v1/sites/{site_id}/flex-resources/{resource}",
                                 json=raised, headers=admin)  # fmt: skip
    assert patched.status_code == 200, patched.text
    (lifted,) = await dispatched(runtime, sessions, site_id, now + 2 * QUARTER_MS)
    assert lifted.kind == "set_power_limit" and lifted.command_id is not None, lifted
    newest = (await commands_of(client, admin, inverter))[0]
    assert newest["id"] == lifted.command_id and newest["params"] == {"limit_kw": None}

    (idle,) = await dispatched(runtime, sessions, site_id, now + 3 * QUARTER_MS)
    assert idle.skipped == "idle"  # lifted once: nothing more to send
