"""Sub-meter links stay valid (assets/metering.py): a prosumer is never a sub-meter nor a
parent (it would be counted twice), and a change of role or site that would break a link of the
asset's sub-meters is refused (409) until they are re-linked."""

from __future__ import annotations

import pytest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def patch(client, headers, asset: int, **changes):
    return await client.patch(f"/api/v1/assets/{asset}", json=changes, headers=headers)


async def test_a_prosumer_is_never_linked(client, admin):
    site = await make_site(client, admin, "Community")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    member = await make_asset(client, admin, site, "Member", "household", role="prosumer")
    body = {"site_id": site, "name": "Member 2", "kind": "household", "role": "prosumer"}
    under_main = await client.post(
        "/api/v1/assets", json={**body, "parent_asset_id": main}, headers=admin
    )
    assert under_main.status_code == 422 and "prosumer" in under_main.json()["message"]
    body = {"site_id": site, "name": "Sub", "kind": "household", "role": "prosumer"}
    under_member = await client.post(
        "/api/v1/assets", json={**body, "parent_asset_id": member}, headers=admin
    )
    assert under_member.status_code == 422 and "connection point" in under_member.json()["message"]


async def test_a_parent_keeps_the_role_and_site_its_sub_meters_need(client, admin):
    site = await make_site(client, admin, "Campus")
    other = await make_site(client, admin, "Elsewhere")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    pv = await make_asset(client, admin, site, "PV", "solar_pv", parent_asset_id=main)
    building = await make_asset(client, admin, site, "Building", "meter")
    floor = await make_asset(client, admin, site, "Floor", "meter", parent_asset_id=building)
    for role in ("producer", "prosumer"):
        refused = await patch(client, admin, building, role=role)
        assert refused.status_code == 409, refused.text
        assert refused.json()["details"] == {"sub_meters": [floor]}
    moved = await patch(client, admin, building, site_id=other)
    assert moved.status_code == 409 and "same site" in moved.json()["message"]
    demoted = await patch(client, admin, main, role="consumer")  # PV cannot hang under a load
    assert demoted.status_code == 409 and demoted.json()["details"] == {"sub_meters": [pv]}
    child_moved = await patch(client, admin, floor, site_id=other)  # its parent stays behind
    assert child_moved.status_code == 422
    assert (await patch(client, admin, floor, parent_asset_id=None)).status_code == 200
    assert (await patch(client, admin, building, role="producer")).status_code == 200
    listed = await client.get(f"/api/v1/assets/{building}", headers=admin)
    assert listed.json()["role"] == "producer"
