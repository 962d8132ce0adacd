"""GET /sites/{id}/current and the tariff version routes, on both back ends."""

from __future__ import annotations

import pytest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, now_ms

TARIFF = {"currency": "EUR", "default_rate_per_kwh": 0.2, "country": "IT"}


async def test_current_demand_against_contract(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Live site", contract_demand_kw=20.0)
    press = await make_asset(client, admin, site_id, "Press", "machine")
    chiller = await make_asset(client, admin, site_id, "Chiller", "chiller")
    stale = await make_asset(client, admin, site_id, "Old pump", "pump")
    pv = await make_asset(client, admin, site_id, "PV", "solar_pv", rated_capacity_kw=10.0)
    now = now_ms()
    readings = [
        {"asset": press, "metric": "power_kw", "ts": now - 60_000, "value": 5.0},
        {"asset": press, "metric": "power_kw", "ts": now - 15_000, "value": 8.0},
        {"asset": chiller, "metric": "power_kw", "ts": now - 10_000, "value": 4000.0, "unit": "W"},
        {"asset": stale, "metric": "power_kw", "ts": now - 3_600_000, "value": 50.0},
        {"asset": pv, "metric": "power_kw", "ts": now - 5_000, "value": 3.0},
    ]
    stored = await client.post("/api/v1/telemetry", json={"readings": readings}, headers=admin)
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 5
    response = await client.get(f"/api/v1/sites/{site_id}/current", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["current_demand_kw"] == pytest.approx(12.0)  # 8 + 4; the pump is stale
    assert body["current_generation_kw"] == pytest.approx(3.0)
    assert body["net_demand_kw"] == pytest.approx(9.0)
    # no grid meter: the import is derived from the balance, 12 - 3 kW; the contract limits
    # what the site draws from the grid, so utilisation and headroom compare the import
    assert body["grid_import_kw"] == pytest.approx(9.0)
    assert body["sources"]["import"] == "derived"
    assert body["fresh_share"]["consumption"] == pytest.approx(2 / 3)
    assert body["contract_demand_kw"] == 20.0
    assert body["contract_utilization_pct"] == pytest.approx(45.0)
    assert body["headroom_kw"] == pytest.approx(11.0)
    assert body["over_contract"] is False
    assert body["timestamp"] == iso(now - 5_000)
    assert {a["asset_id"]: a["stale"] for a in body["assets"]} == {
        press: False,
        chiller: False,
        stale: True,
        pv: False,
    }
    wide = await client.get(
        f"/api/v1/sites/{site_id}/current", params={"max_age_s": 7200}, headers=admin
    )
    assert wide.json()["current_demand_kw"] == pytest.approx(62.0)
    assert wide.json()["over_contract"] is True
    bad = await client.get(
        f"/api/v1/sites/{site_id}/current", params={"max_age_s": 0}, headers=admin
    )
    assert bad.status_code == 422


async def test_current_without_data_or_contract(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Quiet site")
    await make_asset(client, admin, site_id, "Meter", "meter")
    body = (await client.get(f"/api/v1/sites/{site_id}/current", headers=admin)).json()
    assert body["current_demand_kw"] is None
    assert body["contract_utilization_pct"] is None
    assert (await client.get("/api/v1/sites/999999/current", headers=admin)).status_code == 404


async def test_a_site_without_tariffs_lists_none(client, auth_headers):
    viewer = await auth_headers(Role.VIEWER)
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Untariffed site")
    listed = await client.get(f"/api/v1/sites/{site_id}/tariffs", headers=viewer)
    assert listed.status_code == 200, listed.text
    assert listed.json() == []


async def test_tariff_versions_are_append_only_and_not_backdated(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    operator = await auth_headers(Role.OPERATOR)
    viewer = await auth_headers(Role.VIEWER)
    site_id = await make_site(client, admin, "Tariff site")
    url = f"/api/v1/sites/{site_id}/tariffs"
    past = {"valid_from": "2026-01-01T00:00:00Z", "definition": TARIFF}
    refused = await client.post(url, json=past, headers=operator)
    assert refused.status_code == 422
    assert "backdate" in refused.json()["message"]
    first = await client.post(url, json={**past, "backdate": True}, headers=operator)
    assert first.status_code == 201, first.text
    assert first.json()["valid_from"] == "2026-01-01T00:00:00Z"
    assert first.json()["valid_to"] is None
    soon = now_ms() + 86_400_000
    second = await client.post(
        url, json={"valid_from": soon, "definition": TARIFF}, headers=operator
    )
    assert second.status_code == 201, second.text
    earlier = {"valid_from": "2026-06-01T00:00:00Z", "definition": TARIFF, "backdate": True}
    conflict = await client.post(url, json=earlier, headers=operator)
    assert conflict.status_code == 409
    listed = await client.get(url, headers=viewer)
    assert listed.status_code == 200
    assert [v["valid_from"] for v in listed.json()] == ["2026-01-01T00:00:00Z", iso(soon)]
    assert listed.json()[0]["valid_to"] == iso(soon)
    assert (await client.post(url, json=past, headers=viewer)).status_code == 403
    absurd = {"valid_from": "99999999999999999999", "definition": TARIFF}
    assert (await client.post(url, json=absurd, headers=operator)).status_code == 422


@pytest.mark.parametrize(
    "definition",
    [
        {"periods": [{"rate_per_kwh": 0.1, "start": "7am"}]},
        {"default_rate_per_kwh": 0.1, "country": "ZZ"},
        {"default_rate_per_kwh": 0.1, "demand_charge": 3},
        {},
    ],
)
async def test_bad_tariffs_are_422(client, auth_headers, definition):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Bad tariff site")
    response = await client.post(
        f"/api/v1/sites/{site_id}/tariffs",
        json={"valid_from": now_ms() + 60_000, "definition": definition},
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert response.json()["message"]
