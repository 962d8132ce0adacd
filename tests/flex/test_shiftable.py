"""The shiftable loads are not counted twice: an EV charger's own consumption forecast is taken
out of the site's consumption forecast before planning (both back ends)."""

from __future__ import annotations

import pytest
from tests.flex.schedule_data import QUARTER_MS, plan_site
from tests.insights.kpis.kpi_test_data import make_asset

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, now_ms

CHARGER = {"kind": "ev_charger", "name": "Wallbox", "params": {"power_max_kw": 22}}


async def _charger(client, admin, site_id: int, history_kw: float | None) -> None:
    asset = await make_asset(client, admin, site_id, "Wallbox", "ev_charger")
    if history_kw is not None:  # 15 days of 10 kW, every quarter hour up to now
        end = now_ms() // QUARTER_MS * QUARTER_MS
        readings = [{"asset": asset, "metric": "power_kw", "ts": t, "value": history_kw}
                    for t in range(end - 15 * MS_PER_DAY, end, QUARTER_MS)]  # fmt: skip
        for i in range(0, len(readings), 500):
            body = {"readings": readings[i : i + 500]}
            sent = await client.post("/api/v1/telemetry", json=body, headers=admin)
            assert sent.status_code == 200, sent.text
    made = await client.post(f"/api/v1/sites/{site_id}/flex-resources",
                             json={**CHARGER, "asset_id": asset}, headers=admin)  # fmt: skip
    assert made.status_code == 201, made.text


async def test_the_chargers_own_forecast_leaves_the_site_load(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Shifty")  # stored forecast: 30 kW flat
    await _charger(client, admin, site_id, 10.0)
    plan = (await client.post(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    # the charger drew 10 kW at every hour: 30 - 10 kW is what the site needs without it
    assert plan["inputs"]["shiftable_removed_kw_mean"]["Wallbox"] == pytest.approx(10.0, abs=0.5)
    assert all(s["load_kw"] == pytest.approx(20.0, abs=0.5) for s in plan["steps"])
    assert "shiftable_notes" not in plan["inputs"]


async def test_a_charger_without_history_stays_in_with_a_note(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "New charger")
    await _charger(client, admin, site_id, None)
    plan = (await client.post(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    assert plan["inputs"]["shiftable_removed_kw_mean"] == {}
    assert all(s["load_kw"] == 30.0 for s in plan["steps"])
    assert any(n.startswith("Wallbox: its own consumption could not be forecast")
               for n in plan["notes"])  # fmt: skip
