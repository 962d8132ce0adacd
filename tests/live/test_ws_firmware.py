"""Firmware roll-out progress on ``WS /api/v1/live`` (a real server and WebSocket client, both
back ends): ``firmware_rollout`` and ``firmware_device`` messages as devices report through the
API, a wave offered, an automatic pause, a completion; a roll-out over several sites reaches
only principals of all of them, a device's step its site's users; the ``sites`` filter."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from tests.live.wsclient import authenticated, bearer, recv_until, subscribe

from gridpilot.auth.permissions import Role

FIRMWARE = ["firmware_rollouts", "firmware_devices"]


async def _site_with_batteries(http: httpx.AsyncClient, headers, count: int) -> tuple[int, list]:
    site = await http.post(
        "/api/v1/sites", json={"name": f"Depot {uuid.uuid4().hex[:6]}", "timezone": "UTC"},
        headers=headers,
    )  # fmt: skip
    assert site.status_code == 201, site.text
    ids = []
    for n in range(count):
        body = {"site_id": site.json()["id"], "name": f"Battery {n}", "kind": "battery"}
        made = await http.post("/api/v1/assets", json=body, headers=headers)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return site.json()["id"], ids


async def _post(http: httpx.AsyncClient, headers, path: str, body: dict[str, Any]) -> dict:
    answer = await http.post(f"/api/v1/firmware/{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def _rollout(rid: int, **fields: Any):
    def done(message: dict[str, Any]) -> bool:
        return (
            message["type"] == "firmware_rollout"
            and message["rollout_id"] == rid
            and all(message.get(k) == v for k, v in fields.items())
        )

    return done


async def test_rollout_progress_is_streamed_to_who_may_see_it(server, http, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_a, (a1, a2) = await _site_with_batteries(http, admin, 2)
    site_b, (b1,) = await _site_with_batteries(http, admin, 1)
    everyone = await authenticated(server, bearer(admin))
    only_a = await authenticated(server, bearer(await auth_headers(Role.VIEWER, sites=[site_a])))
    b_only = await authenticated(server, bearer(admin))
    for ws in (everyone, only_a):
        assert (await subscribe(ws, events=FIRMWARE))["type"] == "subscribed"
    assert (await subscribe(b_only, sites=[site_b], events=FIRMWARE))["type"] == "subscribed"

    fits = {"version": "3.0.0", "kinds": ["battery"], "sha256": "ef" * 32}
    image = await _post(http, admin, "images", fits)
    local = await _post(http, admin, "rollouts", {
        "name": "site A", "image_id": image["id"], "asset_ids": [a1, a2], "canary_pct": 50,
        "wave_size": 1, "max_failure_pct": 20})  # fmt: skip
    wide = await _post(http, admin, "rollouts", {
        "name": "A and B", "image_id": image["id"], "asset_ids": [a1, b1],
        "canary_pct": 100})  # fmt: skip
    started = (await recv_until(everyone, _rollout(local["id"], previous=None)))[-1]
    assert started == {
        "type": "firmware_rollout", "topic": "firmware_rollout.updated",
        "rollout_id": local["id"], "site_ids": [site_a], "image_id": image["id"],
        "version": "3.0.0", "state": "running", "previous": None, "current_wave": 0,
        "paused_reason": None, "changed_ms": started["changed_ms"],
    }  # fmt: skip
    wide_start = (await recv_until(everyone, _rollout(wide["id"], previous=None)))[-1]
    assert wide_start["site_ids"] == [site_a, site_b]

    # the canary of the local roll-out installs: its device steps, then wave 1 is offered
    base = f"rollouts/{local['id']}/devices/{a1}/report"
    await _post(http, admin, base, {"state": "downloading"})
    await _post(http, admin, base, {"state": "installed", "version": "3.0.0"})
    seen = await recv_until(everyone, _rollout(local["id"], current_wave=1))
    steps = [(m["asset_id"], m["previous"], m["state"])
             for m in seen if m["type"] == "firmware_device"]  # fmt: skip
    assert steps == [(a1, "offered", "downloading"), (a1, "downloading", "verified")]
    device = next(m for m in seen if m["type"] == "firmware_device")
    assert device["topic"] == "firmware_device.updated" and device["site_id"] == site_a
    assert seen[-1]["previous"] == "running" and seen[-1]["state"] == "running"
    # wave 1's only device fails: 100 % > 20 %, the roll-out pauses by itself
    await _post(http, admin, f"rollouts/{local['id']}/devices/{a2}/report",
                {"state": "failed", "error": "flash write error"})  # fmt: skip
    paused = (await recv_until(everyone, _rollout(local["id"], state="paused")))[-1]
    assert paused["paused_reason"] == "wave 1: 100 % failed (threshold 20 %)"
    # a B device of the wide roll-out; then the operator resumes the local one: it completes
    await _post(http, admin, f"rollouts/{wide['id']}/devices/{b1}/report", {"state": "failed"})
    await _post(http, admin, f"rollouts/{local['id']}/resume", {})
    done = await recv_until(everyone, _rollout(local["id"], state="completed"))
    assert done[-1]["previous"] == "paused"

    # the site-A viewer: the local roll-out and its devices, never the wide roll-out nor B's step
    for_a = await recv_until(only_a, _rollout(local["id"], state="completed"))
    rollouts = {(m["rollout_id"], m["state"]) for m in for_a if m["type"] == "firmware_rollout"}
    assert rollouts == {(local["id"], "running"), (local["id"], "paused"),
                        (local["id"], "completed")}  # fmt: skip
    devices = {m["asset_id"] for m in for_a if m["type"] == "firmware_device"}
    assert devices == {a1, a2}
    # subscribed to site B: the wide roll-out (one of its sites) and B's step only
    for_b = await recv_until(b_only, lambda m: m["type"] == "firmware_device")
    assert [m["rollout_id"] for m in for_b if m["type"] == "firmware_rollout"] == [wide["id"]]
    assert for_b[-1]["asset_id"] == b1 and for_b[-1]["state"] == "failed"
    for ws in (everyone, only_a, b_only):
        await ws.close()
