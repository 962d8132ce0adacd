"""A small fleet for the groups and schedules tests: two sites (Rome and Lisbon) with batteries
and inverters carrying models, tags and firmware versions in their attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gridpilot.auth.permissions import Role


@dataclass
class Fleet:
    admin: dict[str, str]
    rome: int
    lisbon: int
    assets: dict[str, int]


async def site(client, headers, name: str, zone: str) -> int:
    made = await client.post(
        "/api/v1/sites", json={"name": name, "timezone": zone}, headers=headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def asset(client, headers, site_id: int, name: str, kind: str, **fields: Any) -> int:
    body = {"site_id": site_id, "name": name, "kind": kind, **fields}
    if kind == "battery":
        body.setdefault("rated_capacity_kw", 100)
    made = await client.post("/api/v1/assets", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def make_fleet(client, auth_headers) -> Fleet:
    """Rome: batteries b1 (model X1, tags east, fw 1.0), b2 (X2, fw 1.1), inverter i1 (X1).
    Lisbon: battery b3 (X1, tags east, fw 1.0)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    rome = await site(client, admin, "Roma", "Europe/Rome")
    lisbon = await site(client, admin, "Lisboa", "Europe/Lisbon")
    assets = {
        "b1": await asset(
            client, admin, rome, "b1", "battery", metadata={"model": "X1"},
            attributes={"tags": ["east"], "firmware_version": "1.0"},
        ),
        "b2": await asset(
            client, admin, rome, "b2", "battery", metadata={"model": "X2"},
            attributes={"firmware_version": "1.1"},
        ),
        "i1": await asset(client, admin, rome, "i1", "inverter", metadata={"model": "X1"}),
        "b3": await asset(
            client, admin, lisbon, "b3", "battery", metadata={"model": "X1"},
            attributes={"tags": ["east"], "firmware_version": "1.0"},
        ),
    }  # fmt: skip
    return Fleet(admin, rome, lisbon, assets)


async def make_group(client, headers, **body: Any) -> dict[str, Any]:
    made = await client.post("/api/v1/groups", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def member_ids(client, headers, group_id: int) -> list[int]:
    got = await client.get(f"/api/v1/groups/{group_id}/members", headers=headers)
    assert got.status_code == 200, got.text
    return [m["asset_id"] for m in got.json()["members"]]
