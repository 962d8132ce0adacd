"""Helpers of the community tests: communities, members and plants over HTTP."""

from __future__ import annotations

from tests.insights.kpis.kpi_test_data import make_site


async def make_community(client, headers, code: str, **fields) -> int:
    body = {
        "name": f"CER {code}", "code": code, "primary_substations": ["AC001", "AC002"],
        "market_zone": "NORD", "region": "Lombardia", **fields,
    }  # fmt: skip
    response = await client.post("/api/cer", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["id"])


async def add_member(client, headers, community: int, name: str, **fields) -> int:
    body = {"name": name, **fields}
    response = await client.post(f"/api/cer/{community}/members", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["member_id"])


def plant_body(community: int, member: int, site: int, pod: str, **fields) -> dict:
    return {
        "community_id": community, "member_id": member, "name": f"POD {pod}", "pod_code": pod,
        "plant_type": "PROSUMER", "nominal_power_kw": "6.5", "primary_substation": "AC001",
        "site_id": site, "technology": "pv", "commissioning_date": "2024-03-01", **fields,
    }  # fmt: skip


async def make_plant(client, headers, community, member, pod, *, site=None, **fields) -> int:
    site = site or await make_site(client, headers, f"site {pod}")
    body = plant_body(community, member, site, pod, **fields)
    response = await client.post("/api/plants", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["data"]["id"])
