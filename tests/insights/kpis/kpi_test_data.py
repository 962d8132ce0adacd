"""Helpers of the KPI route tests: sites, assets, tariff versions and KPI queries over HTTP."""

from __future__ import annotations


async def make_site(client, headers, name, **fields) -> int:
    body = {"name": name, "timezone": "UTC", **fields}
    response = await client.post("/api/v1/sites", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def make_asset(client, headers, site_id, name, kind, **fields) -> int:
    body = {"site_id": site_id, "name": name, "kind": kind, **fields}
    response = await client.post("/api/v1/assets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def add_tariff(client, headers, site_id, valid_from, definition, backdate=True):
    body = {"valid_from": valid_from, "definition": definition, "backdate": backdate}
    return await client.post(f"/api/v1/sites/{site_id}/tariffs", json=body, headers=headers)


async def kpis(client, headers, **params):
    response = await client.get("/api/v1/kpis", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["kpis"]
