"""``/api/v1/simulator``: start, status, config, inject-anomaly, stop (administrators)."""

from __future__ import annotations

import asyncio

from gridpilot.auth.permissions import Role

BASE = "/api/v1/simulator"


async def wait_for(client, headers, predicate, timeout_s: float = 30.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        status = (await client.get(f"{BASE}/status", headers=headers)).json()
        if predicate(status) or asyncio.get_running_loop().time() > deadline:
            return status
        await asyncio.sleep(0.2)


async def test_simulator_lifecycle_and_anomaly_injection(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    idle = (await client.get(f"{BASE}/status", headers=admin)).json()
    assert idle["running"] is False and idle["assets"] == []
    assert (
        await client.post(
            f"{BASE}/inject-anomaly", headers=admin, json={"asset_id": 1, "kind": "leak"}
        )
    ).status_code == 409

    started = await client.post(f"{BASE}/start", headers=admin, json={"scenarios": ["factory"]})
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["running"] and {a["kind"] for a in body["assets"]} == {
        "compressor",
        "hvac",
        "motor",
        "pump",
        "injection_molding",
    }
    assert (await client.post(f"{BASE}/start", headers=admin, json={})).status_code == 409
    status = await wait_for(client, admin, lambda s: s["stored"] > 0)
    assert status["stored"] > 0 and status["rejected"] == 0, status

    compressor = next(a for a in body["assets"] if a["kind"] == "compressor")
    injected = await client.post(
        f"{BASE}/inject-anomaly",
        headers=admin,
        json={"asset_id": compressor["asset_id"], "kind": "leak", "duration_s": 600},
    )
    assert injected.status_code == 200, injected.text
    assert injected.json()["kind"] == "leak" and injected.json()["duration_ms"] == 600_000
    wrong = await client.post(
        f"{BASE}/inject-anomaly",
        headers=admin,
        json={"asset_id": compressor["asset_id"], "kind": "fouling"},
    )
    assert wrong.status_code == 422 and "leak" in wrong.text
    missing = await client.post(
        f"{BASE}/inject-anomaly", headers=admin, json={"asset_id": 999_999, "kind": "leak"}
    )
    assert missing.status_code == 404

    configured = await client.put(f"{BASE}/config", headers=admin, json={"speed": 10})
    assert configured.status_code == 200 and configured.json()["speed"] == 10
    assert (
        await client.put(f"{BASE}/config", headers=admin, json={"speed": -1})
    ).status_code == 422
    status = (await client.get(f"{BASE}/status", headers=admin)).json()
    leak = next(a for a in status["assets"] if a["asset_id"] == compressor["asset_id"])
    assert leak["injected"][0]["kind"] == "leak"

    latest = await client.get(f"/api/v1/assets/{compressor['asset_id']}/latest", headers=admin)
    assert latest.status_code == 200

    stopped = await client.post(f"{BASE}/stop", headers=admin)
    assert stopped.status_code == 200 and stopped.json()["running"] is False


async def test_operators_may_not_drive_the_simulator(client, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    assert (await client.post(f"{BASE}/start", headers=operator, json={})).status_code == 403
    assert (await client.get(f"{BASE}/status", headers=operator)).status_code == 403
