"""Odd input on existing objects answers 4xx, never 5xx (PostgreSQL refuses NUL and big ints)."""

from __future__ import annotations

from gridpilot.auth.permissions import Role


async def test_hostile_bodies_and_paths_are_4xx(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = (await client.post("/api/v1/sites", json={"name": "S", "timezone": "UTC"},
                              headers=admin)).json()  # fmt: skip
    asset_body = {"site_id": site["id"], "name": "M", "kind": "meter"}
    asset = (await client.post("/api/v1/assets", json=asset_body, headers=admin)).json()
    source = {"sourceId": "HYDRO-NOR-00001", "sourceType": "HYDRO", "name": "Fall",
              "ratedCapacity": {"value": 1, "unit": "GW"}}  # fmt: skip
    assert (await client.post("/api/v1/sources", json=source, headers=admin)).status_code == 201
    calls = [
        ("PATCH", f"/api/v1/sites/{site['id']}", {"name": "bad\x00name"}),
        ("PATCH", f"/api/v1/sites/{site['id']}", {"tariff": {"k\x00": 1}}),
        ("PATCH", f"/api/v1/sites/{site['id']}", {"parent_id": 2**40}),
        ("PATCH", f"/api/v1/sites/{site['id']}", {"contract_demand_kw": 1e308}),
        ("PATCH", f"/api/v1/assets/{asset['id']}", {"site_id": 2**63}),
        ("PATCH", f"/api/v1/assets/{asset['id']}", {"rated_capacity": {"value": 1e300,
                                                                     "unit": "GW"}}),
        ("PATCH", f"/api/v1/assets/{asset['id']}", {"metadata": {"model": "\x00"}}),
        ("PATCH", f"/api/v1/assets/{asset['id']}", {"source_id": "HYDRO-NOR-00001"}),
        ("GET", "/api/v1/assets/99999999999", None),
        ("GET", "/api/v1/sites/-1", None),
        ("GET", "/api/v1/assets?site_id=99999999999", None),
        ("GET", "/api/v1/sources/HYDRO-NOR-0000%00", None),
        ("GET", "/api/v1/sources/HYDRO-NOR-00001/production?start=%C2%B3", None),
        ("GET", "/api/v1/sources/HYDRO-NOR-00001/production?start=99999999999999999999", None),
        ("GET", "/api/v1/sources/HYDRO-NOR-00001/production?end=1970-01-01T00:00:00Z", None),
        ("PUT", "/api/v1/sources/HYDRO-NOR-00001", {**source, "name": "x\x00"}),
        ("POST", "/api/v1/sources/HYDRO-NOR-00001/production",
         {"timestamp": "2026-13-45", "sourceId": "HYDRO-NOR-00001"}),
    ]  # fmt: skip
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=admin)
        assert 400 <= response.status_code < 500, (method, path, body, response.status_code)
        assert response.json()["error"], response.text
    # nothing changed
    assert (await client.get(f"/api/v1/sites/{site['id']}", headers=admin)).json()["name"] == "S"
