"""Sites: CRUD, validation and site scoping, on both back ends."""

from __future__ import annotations

from gridpilot.auth.permissions import Role

SITES = "/api/v1/sites"


async def create_site(client, headers, name="Plant A", **fields):
    response = await client.post(
        SITES, json={"name": name, "timezone": "Europe/Rome", **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_site_crud_round_trip(client, auth_headers):
    headers = await auth_headers(Role.OPERATOR)
    created = await create_site(
        client, headers, latitude=45.46, longitude=9.19, contract_demand_kw=1500,
        tariff={"currency": "EUR", "energy_eur_per_kwh": 0.21},
    )  # fmt: skip
    assert created["id"] > 0
    assert created["emission_factor_kg_per_kwh"] == 0.45
    assert created["tariff"]["currency"] == "EUR"

    got = await client.get(f"{SITES}/{created['id']}", headers=headers)
    assert got.status_code == 200
    assert got.json()["name"] == "Plant A"
    assert got.json()["timezone"] == "Europe/Rome"

    patched = await client.patch(
        f"{SITES}/{created['id']}",
        json={"timezone": "America/New_York", "contract_demand_kw": None},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["timezone"] == "America/New_York"
    assert patched.json()["contract_demand_kw"] is None
    assert patched.json()["latitude"] == 45.46  # untouched by the PATCH

    listed = await client.get(SITES, headers=headers)
    assert [s["name"] for s in listed.json()] == ["Plant A"]

    deleted = await client.delete(f"{SITES}/{created['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{SITES}/{created['id']}", headers=headers)).status_code == 404


async def test_site_validation_errors(client, auth_headers):
    headers = await auth_headers(Role.OPERATOR)
    bad = [
        {"name": "x", "timezone": "Mars/Olympus"},
        {"name": "x", "timezone": "../etc/passwd"},
        {"name": "x"},
        {"timezone": "UTC"},
        {"name": "   ", "timezone": "UTC"},
        {"name": "x", "timezone": "UTC", "latitude": 91},
        {"name": "x", "timezone": "UTC", "longitude": -181},
        {"name": "x", "timezone": "UTC", "contract_demand_kw": -1},
        {"name": "x", "timezone": "UTC", "id": 5},
    ]
    for body in bad:
        response = await client.post(SITES, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
    assert (await client.get(SITES, headers=headers)).json() == []


async def test_duplicate_site_name_is_409(client, auth_headers):
    headers = await auth_headers(Role.OPERATOR)
    await create_site(client, headers, "Same")
    response = await client.post(SITES, json={"name": "Same", "timezone": "UTC"}, headers=headers)
    assert response.status_code == 409
    assert "Same" in response.json()["message"]


async def test_parent_site_cannot_form_a_cycle(client, auth_headers):
    headers = await auth_headers(Role.OPERATOR)
    parent = await create_site(client, headers, "Campus")
    child = await create_site(client, headers, "Building 1", parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]
    response = await client.patch(
        f"{SITES}/{parent['id']}", json={"parent_id": child["id"]}, headers=headers
    )
    assert response.status_code == 422
    missing = await client.post(
        SITES, json={"name": "Orphan", "timezone": "UTC", "parent_id": 99999}, headers=headers
    )
    assert missing.status_code == 404


async def test_name_and_timezone_cannot_be_cleared(client, auth_headers):
    headers = await auth_headers(Role.OPERATOR)
    site = await create_site(client, headers)
    for body in ({"name": None}, {"timezone": None}, {"timezone": "Nowhere/Town"}):
        response = await client.patch(f"{SITES}/{site['id']}", json=body, headers=headers)
        assert response.status_code == 422, body


async def test_viewer_cannot_write_sites(client, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    viewer = await auth_headers(Role.VIEWER)
    site = await create_site(client, operator)
    assert (await client.get(f"{SITES}/{site['id']}", headers=viewer)).status_code == 200
    create = await client.post(SITES, json={"name": "V", "timezone": "UTC"}, headers=viewer)
    assert create.status_code == 403
    patch = await client.patch(f"{SITES}/{site['id']}", json={"name": "V"}, headers=viewer)
    assert patch.status_code == 403
    assert (await client.delete(f"{SITES}/{site['id']}", headers=viewer)).status_code == 403
    assert (await client.get(f"{SITES}/{site['id']}", headers=viewer)).json()["name"] == "Plant A"


async def test_site_limited_user_sees_only_its_sites(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_a = await create_site(client, admin, "Site A")
    site_b = await create_site(client, admin, "Site B")
    limited = await auth_headers(Role.OPERATOR, sites=[site_a["id"]])

    listed = await client.get(SITES, headers=limited)
    assert [s["name"] for s in listed.json()] == ["Site A"]
    assert (await client.get(f"{SITES}/{site_a['id']}", headers=limited)).status_code == 200
    for method in ("GET", "DELETE"):
        response = await client.request(method, f"{SITES}/{site_b['id']}", headers=limited)
        assert response.status_code == 404, method
    patch = await client.patch(f"{SITES}/{site_b['id']}", json={"name": "X"}, headers=limited)
    assert patch.status_code == 404
    # creating sites needs an unrestricted principal: the new site would be outside the scope
    create = await client.post(SITES, json={"name": "C", "timezone": "UTC"}, headers=limited)
    assert create.status_code == 403
    # site B is untouched
    assert (await client.get(f"{SITES}/{site_b['id']}", headers=admin)).json()["name"] == "Site B"


async def test_unauthenticated_is_401(client):
    assert (await client.get(SITES)).status_code == 401
    response = await client.post(SITES, json={"name": "n", "timezone": "UTC"})
    assert response.status_code == 401
