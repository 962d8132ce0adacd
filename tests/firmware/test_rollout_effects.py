"""What a roll-out changes beyond itself, on both back ends: a verified device's asset runs the
new version (so dynamic groups on the old one drop it), and every state change is published on
the app's bus as a catalogued event."""

from __future__ import annotations

from typing import Any

import pytest

from gridpilot.auth.permissions import Role
from gridpilot.core import events as catalogue

OLD, NEW = "1.0", "2.1.0"
IMAGE = {"version": NEW, "kinds": ["battery"], "sha256": "cd" * 32}


@pytest.fixture
def published(app) -> list[tuple[str, dict[str, Any]]]:
    """Every firmware and asset event published on the app's bus, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []

    async def record(topic: str, payload: dict[str, Any]) -> None:
        seen.append((topic, payload))

    for pattern in ("firmware_*", catalogue.ASSET_CHANGED.name):
        app.state.bus.subscribe(pattern, record)
    return seen


async def _post(client, headers, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(f"/api/v1{path}", json=body, headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


async def _batteries(client, headers, count: int) -> list[int]:
    site = await _post(client, headers, "/sites", {"name": "Yard", "timezone": "UTC"})
    return [
        (
            await _post(
                client,
                headers,
                "/assets",
                {
                    "site_id": site["id"],
                    "name": f"Battery {n}",
                    "kind": "battery",
                    "attributes": {"firmware_version": OLD, "tags": ["yard"]},
                },
            )
        )["id"]
        for n in range(count)
    ]


async def _members(client, headers, group_id: int) -> list[int]:
    got = await client.get(f"/api/v1/groups/{group_id}/members", headers=headers)
    assert got.status_code == 200, got.text
    return [m["asset_id"] for m in got.json()["members"]]


async def test_verified_device_runs_the_new_version_and_leaves_the_old_group(
    client, auth_headers, published
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    first, second, third = await _batteries(client, admin, 3)
    on_old = await _post(
        client,
        admin,
        "/groups",
        {"name": "On 1.0", "kind": "dynamic", "filter": {"firmware_versions": [OLD]}},
    )
    image = await _post(client, admin, "/firmware/images", IMAGE)
    rollout = await _post(
        client,
        admin,
        "/firmware/rollouts",
        {"name": "to 2.1", "image_id": image["id"], "group_id": on_old["id"], "canary_pct": 100},
    )
    steps = f"/firmware/rollouts/{rollout['id']}/devices"
    await _post(client, admin, f"{steps}/{first}/report", {"state": "downloading"})
    verified = await _post(
        client, admin, f"{steps}/{first}/report", {"state": "installed", "version": NEW}
    )
    assert verified["state"] == "verified"
    wrong = await _post(
        client, admin, f"{steps}/{second}/report", {"state": "installed", "version": "2.0.9"}
    )
    assert wrong["state"] == "failed"

    asset = (await client.get(f"/api/v1/assets/{first}", headers=admin)).json()
    assert asset["attributes"] == {"firmware_version": NEW, "tags": ["yard"]}
    failed = (await client.get(f"/api/v1/assets/{second}", headers=admin)).json()
    assert failed["attributes"]["firmware_version"] == OLD
    assert await _members(client, admin, on_old["id"]) == [second, third]

    firmware = [(t, p) for t, p in published if t.startswith("firmware_")]
    assert [(t, p["state"], p["previous"]) for t, p in firmware] == [
        (catalogue.FIRMWARE_ROLLOUT_UPDATED.name, "running", None),
        (catalogue.FIRMWARE_DEVICE_UPDATED.name, "downloading", "offered"),
        (catalogue.FIRMWARE_DEVICE_UPDATED.name, "verified", "downloading"),
        (catalogue.FIRMWARE_DEVICE_UPDATED.name, "failed", "offered"),
        (catalogue.FIRMWARE_ROLLOUT_UPDATED.name, "paused", "running"),  # 1 of 3 > 20 %
    ]
    assert firmware[2][1]["asset_id"] == first and firmware[2][1]["reported_version"] == NEW
    assert firmware[4][1]["paused_reason"].startswith("wave 0: 33 % failed")
    updated = [
        p for t, p in published if t == catalogue.ASSET_CHANGED.name and p["action"] == "updated"
    ]
    assert updated == [{"asset_id": first, "action": "updated"}]  # not the failed device


async def test_pause_resume_and_completion_are_published(client, auth_headers, published):
    admin = await auth_headers(Role.ADMINISTRATOR)
    first, second = await _batteries(client, admin, 2)
    image = await _post(client, admin, "/firmware/images", IMAGE)
    rollout = await _post(
        client,
        admin,
        "/firmware/rollouts",
        {"name": "two", "image_id": image["id"], "asset_ids": [first, second], "wave_size": 1},
    )
    url = f"/firmware/rollouts/{rollout['id']}"
    await _post(client, admin, f"{url}/pause", {})
    await _post(client, admin, f"{url}/resume", {})
    for asset_id in (first, second):
        await _post(
            client,
            admin,
            f"{url}/devices/{asset_id}/report",
            {"state": "installed", "version": NEW},
        )
    rollouts = [p for t, p in published if t == catalogue.FIRMWARE_ROLLOUT_UPDATED.name]
    assert [(p["state"], p["previous"], p["current_wave"]) for p in rollouts] == [
        ("running", None, 0),
        ("paused", "running", 0),
        ("running", "paused", 0),
        ("running", "running", 1),  # the canary finished: wave 1 offered
        ("completed", "running", 1),
    ]
    assert all(p["rollout_id"] == rollout["id"] and p["version"] == NEW for p in rollouts)
