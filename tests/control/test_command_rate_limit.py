"""The per-device command rate limit: 429 with a clear message and Retry-After."""

from __future__ import annotations

import pytest
from tests.control.conftest import make_asset


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"command_rate_limit_per_min": 3}


async def test_a_device_accepts_a_limited_number_of_commands_per_minute(client, operator, battery):
    url = f"/api/v1/assets/{battery['id']}/commands"
    for i in range(3):
        body = {"kind": "stop", "idempotency_key": f"k{i}"}
        assert (await client.post(url, json=body, headers=operator)).status_code == 201
    refused = await client.post(url, json={"kind": "stop"}, headers=operator)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "rate_limited"
    assert "at most 3 commands per minute" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # a retried request (known key) is answered, not limited; other devices are unaffected
    replay = await client.post(
        url, json={"kind": "stop", "idempotency_key": "k0"}, headers=operator
    )
    assert replay.status_code == 200
    other = await make_asset(client, operator, battery["site_id"])
    other_url = f"/api/v1/assets/{other['id']}/commands"
    assert (
        await client.post(other_url, json={"kind": "stop"}, headers=operator)
    ).status_code == 201

    bulk = {"kind": "stop", "asset_ids": [battery["id"]]}
    limited = await client.post("/api/v1/commands", json=bulk, headers=operator)
    assert limited.status_code == 429 and limited.json()["rejected"][0]["error"] == "rate_limited"
    mixed = {"kind": "stop", "asset_ids": [battery["id"], other["id"]]}
    partial = await client.post("/api/v1/commands", json=mixed, headers=operator)
    assert partial.status_code == 207 and partial.json()["created"] == 1
