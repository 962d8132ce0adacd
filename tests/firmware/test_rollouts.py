"""Firmware roll-outs on both back ends: a canary and waves, an automatic pause on a burst of
failures (before the wave ends), resume, completion; a device group as the target; refusals."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role
from gridpilot.auth.service import create_api_key

SHA = "ab" * 32
IMAGE = {"version": "2.1.0", "kinds": ["battery"], "models": ["BX-10"], "sha256": SHA}


@pytest.fixture
async def fleet(client, auth_headers):
    """An administrator, a site with ten BX-10 batteries and a meter: (headers, site, ids)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = (
        await client.post("/api/v1/sites", json={"name": "Depot", "timezone": "UTC"}, headers=admin)
    ).json()
    ids = []
    for n in range(10):
        body = {
            "site_id": site["id"],
            "name": f"Battery {n}",
            "kind": "battery",
            "metadata": {"model": "BX-10"},
        }
        made = await client.post("/api/v1/assets", json=body, headers=admin)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    meter = await client.post(
        "/api/v1/assets",
        json={"site_id": site["id"], "name": "Meter", "kind": "meter"},
        headers=admin,
    )
    return admin, site["id"], ids, meter.json()["id"]


async def report(client, headers, rollout_id, asset_id, state, version=None):
    body = {"state": state} | ({"version": version} if version else {})
    answer = await client.post(
        f"/api/v1/firmware/rollouts/{rollout_id}/devices/{asset_id}/report",
        json=body,
        headers=headers,
    )
    return answer


async def install(client, headers, rollout_id, asset_id, version="2.1.0"):
    assert (await report(client, headers, rollout_id, asset_id, "downloading")).status_code == 200
    answer = await report(client, headers, rollout_id, asset_id, "installed", version)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def rollout(client, headers, rollout_id):
    return (await client.get(f"/api/v1/firmware/rollouts/{rollout_id}", headers=headers)).json()


async def test_a_rollout_pauses_on_a_failure_burst_and_resumes(client, fleet):
    admin, _, ids, _ = fleet
    image = await client.post("/api/v1/firmware/images", json=IMAGE, headers=admin)
    assert image.status_code == 201, image.text
    body = {
        "name": "BX-10 to 2.1.0",
        "image_id": image.json()["id"],
        "asset_ids": ids,
        "canary_pct": 20,
        "wave_size": 4,
        "max_failure_pct": 25,
    }
    started = await client.post("/api/v1/firmware/rollouts", json=body, headers=admin)
    assert started.status_code == 201, started.text
    out = started.json()
    rid = out["id"]
    # 10 devices: canary 2 (20 %), then waves of 4
    assert [w["devices"] for w in out["waves"]] == [2, 4, 4]
    assert out["waves"][0]["states"] == {"offered": 2} and out["waves"][1]["states"] == {
        "pending": 4
    }
    refused = await report(client, admin, rid, ids[5], "downloading")  # wave 1: not offered yet
    assert refused.status_code == 409 and refused.json()["error"] == "firmware_transition_refused"

    assert (await install(client, admin, rid, ids[0]))["state"] == "verified"
    failed = await install(client, admin, rid, ids[1], version="2.0.9")  # came back on the old one
    assert failed["state"] == "failed" and failed["reported_version"] == "2.0.9"
    paused = await rollout(client, admin, rid)
    assert paused["state"] == "paused"  # 1 of 2 = 50 % > 25 %
    assert paused["paused_reason"] == "wave 0: 50 % failed (threshold 25 %)"
    assert paused["waves"][1]["states"] == {"pending": 4}  # nothing more was offered

    resumed = await client.post(f"/api/v1/firmware/rollouts/{rid}/resume", headers=admin)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["state"] == "running" and resumed.json()["current_wave"] == 1
    assert resumed.json()["waves"][1]["states"] == {"offered": 4}

    # wave 1: one failure is 25 % (not above); a second, before the wave ends, pauses it
    assert (await report(client, admin, rid, ids[2], "failed")).json()["state"] == "failed"
    assert (await rollout(client, admin, rid))["state"] == "running"
    await report(client, admin, rid, ids[3], "failed")
    burst = await rollout(client, admin, rid)
    assert burst["state"] == "paused" and burst["current_wave"] == 1
    assert burst["waves"][2]["states"] == {"pending": 4}
    again = await client.post(f"/api/v1/firmware/rollouts/{rid}/resume", headers=admin)
    assert again.json()["current_wave"] == 1  # the wave's last two devices still run
    for asset_id in ids[4:6]:
        await install(client, admin, rid, asset_id)
    moved = await rollout(client, admin, rid)
    assert moved["current_wave"] == 2 and moved["waves"][2]["states"] == {"offered": 4}
    for asset_id in ids[6:]:
        await install(client, admin, rid, asset_id)
    done = await rollout(client, admin, rid)
    assert done["state"] == "completed"
    assert [w["failure_pct"] for w in done["waves"]] == [50.0, 50.0, 0.0]
    twice = await client.post(f"/api/v1/firmware/rollouts/{rid}/resume", headers=admin)
    assert twice.status_code == 409


async def test_a_group_target_fit_and_scope(client, fleet, auth_headers):
    admin, site_id, ids, meter_id = fleet
    image = (await client.post("/api/v1/firmware/images", json=IMAGE, headers=admin)).json()
    duplicate = await client.post("/api/v1/firmware/images", json=IMAGE, headers=admin)
    assert duplicate.status_code == 409
    group = await client.post(
        "/api/v1/groups",
        json={"name": "First batteries", "kind": "static", "asset_ids": ids[:3]},
        headers=admin,
    )
    assert group.status_code == 201, group.text
    body = {"name": "group", "image_id": image["id"], "group_id": group.json()["id"]}
    started = await client.post("/api/v1/firmware/rollouts", json=body, headers=admin)
    assert started.status_code == 201, started.text
    rid = started.json()["id"]
    devices = await client.get(f"/api/v1/firmware/rollouts/{rid}/devices", headers=admin)
    assert [d["asset_id"] for d in devices.json()] == ids[:3]
    # default canary 10 % of 3 rounds up to 1 device, then one wave of the other two
    assert [w["devices"] for w in started.json()["waves"]] == [1, 2]

    misfit = {"name": "meter", "image_id": image["id"], "asset_ids": [ids[0], meter_id]}
    refused = await client.post("/api/v1/firmware/rollouts", json=misfit, headers=admin)
    assert refused.status_code == 422 and refused.json()["error"] == "firmware_not_compatible"
    both = {"name": "x", "image_id": image["id"], "asset_ids": ids, "group_id": 1}
    assert (
        await client.post("/api/v1/firmware/rollouts", json=both, headers=admin)
    ).status_code == 422
    bad_sha = await client.post(
        "/api/v1/firmware/images", json={**IMAGE, "sha256": "xyz"}, headers=admin
    )
    assert bad_sha.status_code == 422

    other = (
        await client.post("/api/v1/sites", json={"name": "Other", "timezone": "UTC"}, headers=admin)
    ).json()
    outsider = await auth_headers(Role.OPERATOR, sites=[other["id"]])
    assert (
        await client.get(f"/api/v1/firmware/rollouts/{rid}", headers=outsider)
    ).status_code == 404
    assert (await client.get("/api/v1/firmware/rollouts", headers=outsider)).json() == []
    viewer = await auth_headers(Role.VIEWER, sites=[site_id])
    seen = await client.get(f"/api/v1/firmware/rollouts/{rid}", headers=viewer)
    assert seen.status_code == 200
    assert (
        await client.post(f"/api/v1/firmware/rollouts/{rid}/pause", headers=viewer)
    ).status_code == 403


async def test_a_device_key_reports_for_its_own_asset_only(client, fleet, sessions):
    admin, site_id, ids, _ = fleet
    image = (await client.post("/api/v1/firmware/images", json=IMAGE, headers=admin)).json()
    body = {"name": "all", "image_id": image["id"], "asset_ids": ids[:2], "canary_pct": 100}
    rid = (await client.post("/api/v1/firmware/rollouts", json=body, headers=admin)).json()["id"]
    async with sessions() as session, session.begin():
        _, raw = await create_api_key(
            session=session, name="battery 0", role="service", asset_id=ids[0], site_id=site_id
        )
    device = {"X-API-Key": raw}
    mine = await report(client, device, rid, ids[0], "downloading")
    assert mine.status_code == 200 and mine.json()["state"] == "downloading"
    other = await report(client, device, rid, ids[1], "downloading")
    assert other.status_code == 403
