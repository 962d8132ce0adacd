"""The peak-shaving settings API on both back ends: create, read, replace, delete; the answers
to settings that cannot work; who may read and write; the action log."""

from __future__ import annotations

import pytest
from tests.flex.schedule_data import BATTERY
from tests.flex.shaving_data import enable, shaving_site
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"peak_shaving_enabled": False}


def url(site_id: int, tail: str = "") -> str:
    return f"/api/v1/sites/{site_id}/peak-shaving{tail}"


async def test_put_get_replace_delete(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    assert (await client.get(url(site.site_id), headers=admin)).status_code == 404
    created = await client.put(url(site.site_id), json={"threshold_kw": 100}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    # defaults: the site's only grid_connection meter and battery, the battery's floor
    assert body["meter_asset_id"] == site.meter and body["meter_metric"] == "power_kw"
    assert body["resource_id"] == site.resource and body["battery_asset_id"] == site.battery
    assert (body["soc_min_pct"], body["soc_max_pct"], body["soc_hysteresis_pct"]) == (10, 90, 5)
    assert (body["discharge_max_kw"], body["charge_max_kw"]) == (50, 50)
    assert body["enabled"] and body["recharge_below_kw"] is None and body["deadband_kw"] == 1.0
    assert body["running_in"] is None and not body["discharge_blocked"]
    assert (await client.get(url(site.site_id), headers=admin)).json() == body

    change = {"threshold_kw": 80, "recharge_below_kw": 60, "soc_min_pct": 20,
              "soc_hysteresis_pct": 3, "deadband_kw": 2.5, "enabled": False}  # fmt: skip
    replaced = await client.put(url(site.site_id), json=change, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert {k: replaced.json()[k] for k in change} == change

    assert (await client.delete(url(site.site_id), headers=admin)).status_code == 204
    assert (await client.get(url(site.site_id), headers=admin)).status_code == 404
    assert (await client.delete(url(site.site_id), headers=admin)).status_code == 404


BAD_BODIES = [
    {"threshold_kw": 0},
    {"threshold_kw": -10},
    {"threshold_kw": "100"},  # strict: a string is not a number
    {"threshold_kw": 1e9},
    {"threshold_kw": 100, "recharge_below_kw": 120},
    {"threshold_kw": 100, "soc_hysteresis_pct": -1},
    {"threshold_kw": 100, "meter_metric": "Power KW"},
    {"threshold_kw": 100, "colour": "red"},
    {},
]


async def test_bad_figures_are_refused(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    for body in BAD_BODIES:
        answer = await client.put(url(site.site_id), json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"] == "validation_failed"
    assert (await client.get(url(site.site_id), headers=admin)).status_code == 404


async def reason_of(client, headers, site_id: int, body: dict) -> str:
    answer = await client.put(url(site_id), json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    return answer.json()["details"]["reason"]


async def test_batteries_and_meters_that_cannot_serve(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    bare = await make_site(client, admin, "No battery")
    await make_asset(client, admin, bare, "Main", "grid_connection")
    assert await reason_of(client, admin, bare, {"threshold_kw": 100}) == "no_battery_resource"
    site = await shaving_site(client, admin)
    unlinked = await client.post(
        f"/api/v1/sites/{site.site_id}/flex-resources",
        json={**BATTERY, "name": "Spare"}, headers=admin,
    )  # fmt: skip
    assert unlinked.status_code == 201
    assert await reason_of(client, admin, site.site_id, {"threshold_kw": 100}) == (
        "several_batteries"
    )
    spare = {"threshold_kw": 100, "resource_id": unlinked.json()["id"]}
    assert await reason_of(client, admin, site.site_id, spare) == "battery_without_asset"
    ours = {"threshold_kw": 100, "resource_id": site.resource}
    other = await shaving_site(client, admin, "Elsewhere")
    elsewhere = {**ours, "meter_asset_id": other.meter}
    assert await reason_of(client, admin, site.site_id, elsewhere) == "meter_not_on_site"
    pv = await make_asset(client, admin, site.site_id, "PV", "solar_pv")
    assert await reason_of(client, admin, site.site_id, {**ours, "meter_asset_id": pv}) == (
        "not_a_meter"
    )
    battery_as_meter = {**ours, "meter_asset_id": site.battery}
    assert await reason_of(client, admin, site.site_id, battery_as_meter) == "not_a_meter"
    assert await reason_of(
        client, admin, site.site_id, {**ours, "resource_id": other.resource}
    ) == ("not_a_battery")
    assert await reason_of(client, admin, site.site_id, {**ours, "soc_min_pct": 95}) == "soc_band"
    await make_asset(client, admin, site.site_id, "Second main", "grid_connection")
    assert await reason_of(client, admin, site.site_id, ours) == "several_grid_meters"
    ok = await client.put(
        url(site.site_id), json={**ours, "meter_asset_id": site.meter}, headers=admin
    )
    assert ok.status_code == 201, ok.text


async def test_roles_and_scope(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    other = await shaving_site(client, admin, "Other")
    viewer = await auth_headers(Role.VIEWER, sites=[site.site_id])
    assert (
        await client.put(url(site.site_id), json={"threshold_kw": 90}, headers=viewer)
    ).status_code == 403
    operator = await auth_headers(Role.OPERATOR, sites=[site.site_id])
    await enable(client, operator, site, threshold_kw=90)
    assert (await client.get(url(site.site_id), headers=viewer)).json()["threshold_kw"] == 90
    actions = await client.get(url(site.site_id, "/actions"), headers=viewer)
    assert actions.status_code == 200 and actions.json() == []
    assert (await client.delete(url(site.site_id), headers=viewer)).status_code == 403
    # another site is 404 for reading, writing and the log alike
    await enable(client, admin, other)
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/actions")):
        body = {"threshold_kw": 90} if method == "PUT" else None
        answer = await client.request(method, url(other.site_id, path), json=body, headers=operator)
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await client.get(url(999_999), headers=admin)).status_code == 404


async def test_deleting_the_battery_resource_deletes_the_settings(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await shaving_site(client, admin)
    await enable(client, admin, site)
    gone = await client.delete(
        f"/api/v1/sites/{site.site_id}/flex-resources/{site.resource}", headers=admin
    )
    assert gone.status_code == 204
    assert (await client.get(url(site.site_id), headers=admin)).status_code == 404
