"""Deleting an asset (or its site) deletes its readings and rollups; other assets keep theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_HOUR, now_ms

HOUR_AGO = now_ms() // 60_000 * 60_000 - MS_PER_HOUR


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


async def make_asset(client, headers, site_id: int, name: str) -> int:
    body = {"site_id": site_id, "name": name, "kind": "meter"}
    response = await client.post("/api/v1/assets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def telemetry_rows(sessions, asset_id: int) -> tuple[int, int]:
    async with sessions() as session:
        readings = await session.scalar(
            text("SELECT COUNT(*) FROM readings WHERE asset_id = :a"), {"a": asset_id}
        )
        rollups = await session.scalar(
            text("SELECT COUNT(*) FROM rollups WHERE asset_id = :a"), {"a": asset_id}
        )
    return int(readings or 0), int(rollups or 0)


async def ingest(client, headers, asset_id: int) -> None:
    readings = [
        {"asset": asset_id, "metric": "power_kw", "ts": HOUR_AGO + i * 60_000, "value": 10.0 + i}
        for i in range(30)
    ]
    response = await client.post("/api/v1/telemetry", json={"readings": readings}, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("delete", ["asset", "site"])
async def test_deleting_removes_the_telemetry_of_exactly_that_asset(
    app, client, sessions, operator, delete
):
    site_a = (await client.post("/api/v1/sites", json={"name": "A", "timezone": "UTC"},
                                headers=operator)).json()["id"]  # fmt: skip
    site_b = (await client.post("/api/v1/sites", json={"name": "B", "timezone": "UTC"},
                                headers=operator)).json()["id"]  # fmt: skip
    gone = await make_asset(client, operator, site_a, "old meter")
    kept = await make_asset(client, operator, site_b, "other meter")
    for asset_id in (gone, kept):
        await ingest(client, operator, asset_id)
    await app.state.telemetry.flush()
    assert (await telemetry_rows(sessions, gone))[0] == 30
    assert (await telemetry_rows(sessions, gone))[1] > 0

    url = f"/api/v1/assets/{gone}" if delete == "asset" else f"/api/v1/sites/{site_a}"
    assert (await client.delete(url, headers=operator)).status_code == 204
    await app.state.telemetry.flush()

    assert await telemetry_rows(sessions, gone) == (0, 0)
    assert (await telemetry_rows(sessions, kept))[0] == 30
    late = await client.post(
        "/api/v1/telemetry",
        json={"readings": [{"asset": gone, "metric": "power_kw", "ts": HOUR_AGO, "value": 1}]},
        headers=operator,
    )
    assert late.status_code == 422  # the deleted asset is unknown now
