"""The simulator's devices in a roll-out, on both back ends: they download and install the
image's version (verified), and a seeded share fails, which pauses a strict roll-out."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role
from gridpilot.sim.firmware import FirmwareParticipant, fails

IMAGE = {"version": "3.0.0", "kinds": ["solar_pv"], "sha256": "cd" * 32}


@pytest.fixture
async def devices(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await client.post(
        "/api/v1/sites", json={"name": "Sim roofs", "timezone": "UTC"}, headers=admin
    )
    ids = []
    for n in range(8):
        body = {"site_id": site.json()["id"], "name": f"Roof {n}", "kind": "solar_pv"}
        ids.append((await client.post("/api/v1/assets", json=body, headers=admin)).json()["id"])
    image = await client.post("/api/v1/firmware/images", json=IMAGE, headers=admin)
    return admin, ids, image.json()["id"]


async def start(client, admin, image_id, ids, max_failure_pct):
    body = {
        "name": "roofs",
        "image_id": image_id,
        "asset_ids": ids,
        "canary_pct": 100,
        "max_failure_pct": max_failure_pct,
    }
    started = await client.post("/api/v1/firmware/rollouts", json=body, headers=admin)
    assert started.status_code == 201, started.text
    return started.json()["id"]


async def test_simulated_devices_install_and_verify(app, client, devices):
    admin, ids, image_id = devices
    rid = await start(client, admin, image_id, ids, max_failure_pct=50)
    participant = FirmwareParticipant(app.state.sessions, lambda: ids, seed=7, share=0.0)
    assert await participant.step() == 8  # offered -> downloading
    assert await participant.step() == 8  # downloading -> installed 3.0.0: verified
    assert await participant.step() == 0
    done = await client.get(f"/api/v1/firmware/rollouts/{rid}", headers=admin)
    assert done.json()["state"] == "completed"
    listed = await client.get(f"/api/v1/firmware/rollouts/{rid}/devices", headers=admin)
    assert {(d["state"], d["reported_version"]) for d in listed.json()} == {("verified", "3.0.0")}


async def test_simulated_steps_are_published_and_update_the_assets(app, client, devices):
    admin, ids, image_id = devices
    rid = await start(client, admin, image_id, ids[:2], max_failure_pct=50)
    seen: list[tuple[str, dict]] = []

    async def record(topic: str, payload: dict) -> None:
        seen.append((topic, payload))

    app.state.bus.subscribe("firmware_*", record)
    participant = FirmwareParticipant(
        app.state.sessions, lambda: ids[:2], seed=7, share=0.0, bus=app.state.bus
    )
    await participant.step()
    await participant.step()
    devices_seen = [(p["asset_id"], p["state"]) for t, p in seen if t == "firmware_device.updated"]
    assert devices_seen == [(a, s) for s in ("downloading", "verified") for a in ids[:2]]
    rollout = [(p["rollout_id"], p["state"]) for t, p in seen if t == "firmware_rollout.updated"]
    assert rollout == [(rid, "completed")]
    for asset_id in ids[:2]:
        asset = await client.get(f"/api/v1/assets/{asset_id}", headers=admin)
        assert asset.json()["attributes"]["firmware_version"] == "3.0.0"


async def test_a_seeded_share_fails_and_pauses_a_strict_rollout(app, client, devices):
    admin, ids, image_id = devices
    rid = await start(client, admin, image_id, ids, max_failure_pct=0)
    # a seed that fails some devices, not all (the ids depend on the tests run before)
    seed = next(s for s in range(100) if 0 < sum(fails(s, rid, a, 0.3) for a in ids) < len(ids))
    expected = {a for a in ids if fails(seed, rid, a, 0.3)}
    participant = FirmwareParticipant(app.state.sessions, lambda: ids, seed=seed, share=0.3)
    await participant.step()
    await participant.step()
    listed = await client.get(f"/api/v1/firmware/rollouts/{rid}/devices", headers=admin)
    failed = {d["asset_id"] for d in listed.json() if d["state"] == "failed"}
    assert failed == expected
    assert all(
        d["error"] == "checksum mismatch (simulated)"
        for d in listed.json()
        if d["state"] == "failed"
    )
    paused = await client.get(f"/api/v1/firmware/rollouts/{rid}", headers=admin)
    assert paused.json()["state"] == "paused"


def test_the_failing_devices_depend_on_the_seed_only():
    picked = [a for a in range(1, 201) if fails(42, 1, a)]
    assert picked == [a for a in range(1, 201) if fails(42, 1, a)]
    assert 0 < len(picked) < 30  # about 5 % of 200
    assert picked != [a for a in range(1, 201) if fails(43, 1, a)]
