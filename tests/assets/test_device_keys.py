"""Device keys made under /api/v1/assets/{id}/keys: shown once, bound to their asset."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role

SITES = "/api/v1/sites"
ASSETS = "/api/v1/assets"


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def two_assets(client, operator):
    site = (
        await client.post(SITES, json={"name": "S", "timezone": "UTC"}, headers=operator)
    ).json()
    ids = []
    for name in ("Meter 1", "Meter 2"):
        body = {"site_id": site["id"], "name": name, "kind": "meter"}
        ids.append((await client.post(ASSETS, json=body, headers=operator)).json()["id"])
    return ids


async def test_device_key_is_created_listed_and_revoked(client, operator, two_assets):
    own, _ = two_assets
    created = await client.post(f"{ASSETS}/{own}/keys", json={"name": "logger"}, headers=operator)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"gpk_{body['key_id']}_")
    assert body["asset_id"] == own
    assert body["role"] == "service"

    listed = await client.get(f"{ASSETS}/{own}/keys", headers=operator)
    assert [k["key_id"] for k in listed.json()] == [body["key_id"]]
    assert "key" not in listed.json()[0]  # the secret is shown only once

    device = {"X-API-Key": body["key"]}
    assert (await client.get(f"{ASSETS}/{own}", headers=device)).status_code == 200

    revoked = await client.delete(f"{ASSETS}/{own}/keys/{body['key_id']}", headers=operator)
    assert revoked.status_code == 204
    assert (await client.get(f"{ASSETS}/{own}", headers=device)).status_code == 401


async def test_device_key_sees_only_its_own_asset(client, operator, two_assets):
    own, other = two_assets
    created = await client.post(f"{ASSETS}/{own}/keys", headers=operator)
    assert created.status_code == 201, created.text
    raw = created.json()["key"]
    device = {"X-API-Key": raw}
    assert [a["id"] for a in (await client.get(ASSETS, headers=device)).json()] == [own]
    assert (await client.get(f"{ASSETS}/{other}", headers=device)).status_code == 404
    # a device key cannot configure anything, not even make more keys
    assert (await client.post(f"{ASSETS}/{own}/keys", headers=device)).status_code == 403


async def test_keys_of_another_asset_cannot_be_revoked_through_this_one(
    client, operator, two_assets
):
    own, other = two_assets
    key_id = (await client.post(f"{ASSETS}/{other}/keys", headers=operator)).json()["key_id"]
    response = await client.delete(f"{ASSETS}/{own}/keys/{key_id}", headers=operator)
    assert response.status_code == 404


async def test_viewer_cannot_make_device_keys(client, auth_headers, two_assets):
    viewer = await auth_headers(Role.VIEWER)
    assert (await client.post(f"{ASSETS}/{two_assets[0]}/keys", headers=viewer)).status_code == 403


async def test_device_key_sees_only_its_own_assets_alerts(client, operator, two_assets, sessions):
    """Before, a device key listed every alert of its site (issue #13, finding 10)."""
    from gridpilot.alerts.models import Alert
    from gridpilot.db.base import utcnow

    own, other = two_assets
    site_id = (await client.get(f"{ASSETS}/{own}", headers=operator)).json()["site_id"]
    ids = {}
    async with sessions() as session, session.begin():
        for name, asset in (("own", own), ("other", other), ("site", None)):
            alert = Alert(
                subject="rule", site_id=site_id, asset_id=asset, kind="threshold",
                severity="warning", state="active", title=name, message=name,
                raised_at=utcnow(),
            )  # fmt: skip
            session.add(alert)
            await session.flush()
            ids[name] = alert.id
    created = await client.post(f"{ASSETS}/{own}/keys", json={"name": "d"}, headers=operator)
    device = {"X-API-Key": created.json()["key"]}
    listed = await client.get("/api/v1/alerts", headers=device)
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [ids["own"]]
    assert (await client.get(f"/api/v1/alerts/{ids['other']}", headers=device)).status_code == 404
    assert (await client.get(f"/api/v1/alerts/{ids['site']}", headers=device)).status_code == 404
    everything = await client.get("/api/v1/alerts", headers=operator)
    assert len(everything.json()) == 3


async def test_nul_character_is_a_clear_422_not_an_outage(client, operator, two_assets):
    """A NUL in a key name gave 503 "database unavailable" on PostgreSQL (issue #13)."""
    own, _ = two_assets
    key = await client.post(f"{ASSETS}/{own}/keys", json={"name": "a\u0000b"}, headers=operator)
    site = await client.post(SITES, json={"name": "x\u0000y", "timezone": "UTC"}, headers=operator)
    for response in (key, site):
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["message"]
