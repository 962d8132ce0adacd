"""/api/v1/sites/{id}/flex-resources on both back ends: CRUD, validation, scope and roles."""

from __future__ import annotations

from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.flex import service
from gridpilot.flex.schemas import BatteryParams

BATTERY = {
    "kind": "battery",
    "name": "BESS",
    "params": {"capacity_kwh": 100, "charge_max_kw": 50, "discharge_max_kw": 40},
}


def url(site_id: int, resource_id: int | None = None) -> str:
    base = f"/api/v1/sites/{site_id}/flex-resources"
    return base if resource_id is None else f"{base}/{resource_id}"


async def test_battery_crud_with_defaults_and_merge(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Flex site")
    battery_asset = await make_asset(client, admin, site_id, "Battery 1", "battery")
    body = {**BATTERY, "asset_id": battery_asset}
    created = await client.post(url(site_id), json=body, headers=admin)
    assert created.status_code == 201, created.text
    resource = created.json()
    assert resource["kind"] == "battery" and resource["asset_id"] == battery_asset
    assert resource["enabled"] is True and resource["auto_dispatch"] is False
    params = resource["params"]
    assert params["soc_min_pct"] == 10 and params["soc_max_pct"] == 90
    assert params["charge_efficiency"] == 0.95 and params["cycle_cost_eur_per_kwh"] == 0
    rid = resource["id"]

    changed = await client.patch(
        url(site_id, rid),
        json={"params": {"soc_min_pct": 20, "cycle_cost_eur_per_kwh": 0.1}, "enabled": False},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    params = changed.json()["params"]
    assert params["soc_min_pct"] == 20 and params["capacity_kwh"] == 100  # merged, not replaced
    assert params["cycle_cost_eur_per_kwh"] == 0.1 and changed.json()["enabled"] is False

    unlinked = await client.patch(url(site_id, rid), json={"asset_id": None}, headers=admin)
    assert unlinked.json()["asset_id"] is None

    listed = await client.get(url(site_id), headers=admin)
    assert [r["id"] for r in listed.json()] == [rid]
    async with sessions() as session:  # the service the dr domain calls
        resources = await service.list_resources(session=session, site_id=site_id)
    assert isinstance(resources[0].params, BatteryParams)
    assert resources[0].params.soc_min_pct == 20

    assert (await client.delete(url(site_id, rid), headers=admin)).status_code == 204
    assert (await client.get(url(site_id, rid), headers=admin)).status_code == 404
    assert (await client.get(url(site_id), headers=admin)).json() == []


async def test_every_kind_is_accepted(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "All kinds", timezone="Europe/Rome")
    bodies = [
        {
            "kind": "ev_charger",
            "name": "Wallbox",
            "params": {
                "power_min_kw": 1.4,
                "power_max_kw": 11,
                "sessions": [
                    {
                        "arrival": "2026-12-05T08:00:00+01:00",
                        "departure": "2026-12-05T17:00:00+01:00",
                        "energy_kwh": 30,
                    }
                ],
            },
        },
        {
            "kind": "deferrable_load",
            "name": "Pump",
            "params": {
                "energy_kwh": 12,
                "power_min_kw": 4,
                "power_max_kw": 4,
                "window_start": "22:00",
                "window_end": "06:00",
                "interruptible": False,
                "min_run_min": 60,
            },
        },
        {
            "kind": "curtailable_load",
            "name": "Chiller",
            "params": {"shed_kw": 30, "max_duration_min": 120, "rebound_pct": 40},
        },
        {"kind": "hvac", "name": "AHU", "params": {"kw_per_degc": 5, "max_offset_degc": 2}},
        {"kind": "pv_curtailment", "name": "PV", "params": {"export_limit_kw": 30}},
    ]
    for body in bodies:
        response = await client.post(url(site_id), json=body, headers=admin)
        assert response.status_code == 201, response.text
    kinds = [r["kind"] for r in (await client.get(url(site_id), headers=admin)).json()]
    assert kinds == ["ev_charger", "deferrable_load", "curtailable_load", "hvac", "pv_curtailment"]


async def test_validation_errors_say_why(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Strict site")
    other_site = await make_site(client, admin, "Elsewhere")
    meter = await make_asset(client, admin, site_id, "Main meter", "meter")
    far_battery = await make_asset(client, admin, other_site, "Far battery", "battery")

    async def rejected(body, status=422):
        response = await client.post(url(site_id), json=body, headers=admin)
        assert response.status_code == status, response.text
        return response.json()["message"] + str(response.json().get("details"))

    band = {**BATTERY, "params": {**BATTERY["params"], "soc_min_pct": 80, "soc_max_pct": 20}}
    assert "soc_min_pct must not exceed soc_max_pct" in await rejected(band)
    typo = {**BATTERY, "params": {**BATTERY["params"], "capacity_kw": 5}}
    assert "capacity_kw" in await rejected(typo)
    efficiency = {**BATTERY, "params": {**BATTERY["params"], "charge_efficiency": 1.5}}
    assert "charge_efficiency" in await rejected(efficiency)
    assert "kind" in await rejected({"kind": "flywheel", "name": "F", "params": {}})
    # no coercion: the OpenAPI types hold as written
    assert "auto_dispatch" in await rejected({**BATTERY, "auto_dispatch": 0})
    as_text = {**BATTERY, "params": {**BATTERY["params"], "capacity_kwh": "100"}}
    assert "capacity_kwh" in await rejected(as_text)
    too_much = {
        "kind": "deferrable_load",
        "name": "Oven",
        "params": {
            "energy_kwh": 50,
            "power_max_kw": 10,
            "window_start": "08:00",
            "window_end": "12:00",
        },
    }
    assert "50 kWh cannot fit its 4 h window at 10 kW" in await rejected(too_much)
    backwards = {
        "kind": "ev_charger",
        "name": "Car",
        "params": {
            "power_max_kw": 11,
            "sessions": [
                {
                    "arrival": "2026-12-05T17:00:00Z",
                    "departure": "2026-12-05T08:00:00Z",
                    "energy_kwh": 10,
                }
            ],
        },
    }
    assert "departure must be after arrival" in await rejected(backwards)
    on_meter = {**BATTERY, "asset_id": meter}
    assert "not 'meter'" in await rejected(on_meter)
    assert "is not on site" in await rejected({**BATTERY, "asset_id": far_battery})

    assert (await client.post(url(site_id), json=BATTERY, headers=admin)).status_code == 201
    assert "already has" in await rejected(BATTERY, status=409)
    rid = (await client.get(url(site_id), headers=admin)).json()[0]["id"]
    bad_patch = await client.patch(
        url(site_id, rid), json={"params": {"soc_end_pct": 95}}, headers=admin
    )
    assert bad_patch.status_code == 422
    assert "soc_end_pct must lie between" in bad_patch.json()["message"]
    missing = await client.post(url(999_999), json=BATTERY, headers=admin)
    assert missing.status_code == 404


async def test_viewer_reads_and_other_sites_user_gets_404(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Scoped")
    other_site = await make_site(client, admin, "Other")
    created = await client.post(url(site_id), json=BATTERY, headers=admin)
    rid = created.json()["id"]

    viewer = await auth_headers(Role.VIEWER, sites=[site_id])
    assert (await client.get(url(site_id), headers=viewer)).status_code == 200
    assert (await client.get(url(site_id, rid), headers=viewer)).status_code == 200
    assert (await client.post(url(site_id), json=BATTERY, headers=viewer)).status_code == 403
    patch = await client.patch(url(site_id, rid), json={"enabled": False}, headers=viewer)
    assert patch.status_code == 403
    assert (await client.delete(url(site_id, rid), headers=viewer)).status_code == 403

    outsider = await auth_headers(Role.OPERATOR, sites=[other_site])
    assert (await client.get(url(site_id), headers=outsider)).status_code == 404
    assert (await client.get(url(site_id, rid), headers=outsider)).status_code == 404
    patch = await client.patch(url(site_id, rid), json={"enabled": False}, headers=outsider)
    assert patch.status_code == 404
    assert (await client.delete(url(site_id, rid), headers=outsider)).status_code == 404
    # the resource is not reachable through the outsider's own site either
    assert (await client.get(url(other_site, rid), headers=outsider)).status_code == 404

    operator = await auth_headers(Role.OPERATOR, sites=[site_id])
    patch = await client.patch(url(site_id, rid), json={"name": "Renamed"}, headers=operator)
    assert patch.status_code == 200 and patch.json()["name"] == "Renamed"


async def test_overlapping_ev_sessions_are_refused(client, auth_headers):
    """A charger charges one car at a time: the schedule gives each session up to the
    charger's power, so two at once could draw twice that."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Car park")

    def charger(*spans: tuple[str, str]) -> dict:
        sessions = [{"arrival": a, "departure": d, "energy_kwh": 10} for a, d in spans]
        return {"kind": "ev_charger", "name": "Wallbox",
                "params": {"power_max_kw": 11, "sessions": sessions}}  # fmt: skip

    late = ("2026-12-05T16:00:00Z", "2026-12-06T08:00:00Z")
    early = ("2026-12-05T06:00:00Z", "2026-12-05T16:30:00Z")
    clash = await client.post(url(site_id), json=charger(late, early), headers=admin)
    assert clash.status_code == 422, clash.text
    assert clash.json()["message"] == (
        "EV charger 'Wallbox': sessions 1 and 2 overlap: a charger charges one car at a time"
    )
    back_to_back = ("2026-12-05T06:00:00Z", "2026-12-05T16:00:00Z")
    made = await client.post(url(site_id), json=charger(late, back_to_back), headers=admin)
    assert made.status_code == 201, made.text
