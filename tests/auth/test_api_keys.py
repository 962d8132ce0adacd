"""API keys: X-API-Key authentication, hashing at rest, revocation, device scope, /api-keys."""

from __future__ import annotations

import time

from sqlalchemy import select

from gridpilot.auth.api_keys import CACHE_TTL_S, parse_raw_key
from gridpilot.auth.dependencies import api_key_cache
from gridpilot.auth.models import ApiKey
from gridpilot.auth.permissions import Role
from gridpilot.auth.service import revoke_api_key

KEYS = "/api/v1/api-keys"
SITES = "/api/v1/sites"


async def test_admin_creates_a_key_that_authenticates(client, auth_headers, sessions):
    admin = await auth_headers(Role.ADMINISTRATOR)
    created = await client.post(KEYS, json={"name": "scada bridge"}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    raw = body["key"]
    assert raw.startswith(f"gpk_{body['key_id']}_")
    assert body["role"] == "service" and body["asset_id"] is None

    response = await client.get(SITES, headers={"X-API-Key": raw})
    assert response.status_code == 200

    listed = (await client.get(KEYS, headers=admin)).json()
    assert [k["key_id"] for k in listed] == [body["key_id"]]
    assert "key" not in listed[0] and raw not in (await client.get(KEYS, headers=admin)).text
    async with sessions() as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.key_id == body["key_id"]))
    assert stored is not None
    secret = parse_raw_key(raw).secret
    assert secret not in stored.secret_hash and stored.secret_hash.startswith("sha256$")
    assert stored.last_used_at is not None


async def test_wrong_or_malformed_keys_are_401(client, make_key):
    _, raw = await make_key()
    for bad in (raw[:-1] + ("A" if raw[-1] != "A" else "B"), "gpk_nothing", "hello", raw + "_"):
        assert (await client.get(SITES, headers={"X-API-Key": bad})).status_code == 401


async def test_a_revoked_key_is_rejected_at_once(client, auth_headers, make_key):
    key_id, raw = await make_key()
    assert (await client.get(SITES, headers={"X-API-Key": raw})).status_code == 200  # now cached
    admin = await auth_headers(Role.ADMINISTRATOR)
    assert (await client.delete(f"{KEYS}/{key_id}", headers=admin)).status_code == 204
    assert (await client.get(SITES, headers={"X-API-Key": raw})).status_code == 401
    listed = (await client.get(KEYS, headers=admin)).json()
    assert listed[0]["revoked_at"] is not None
    assert (await client.delete(f"{KEYS}/987654", headers=admin)).status_code == 404


async def test_revocation_elsewhere_applies_once_the_cache_entry_expires(
    app, client, make_key, sessions
):
    _, raw = await make_key()
    assert (await client.get(SITES, headers={"X-API-Key": raw})).status_code == 200
    async with sessions() as session, session.begin():  # e.g. `gridpilot apikey revoke`
        await revoke_api_key(session=session, key_id=parse_raw_key(raw).key_id)
    cache = api_key_cache(app)
    assert cache.get(raw) is not None  # still trusted for at most CACHE_TTL_S
    later = time.monotonic() + CACHE_TTL_S + 1
    cache.clock = lambda: later
    assert (await client.get(SITES, headers={"X-API-Key": raw})).status_code == 401


async def test_a_device_key_sees_only_its_site(client, make_site, make_asset, make_key):
    site_a, site_b = await make_site(), await make_site()
    asset = await make_asset(site_a)
    _, raw = await make_key(asset_id=asset, site_id=site_a, role="service")
    sites = await client.get(SITES, headers={"X-API-Key": raw})
    assert [s["id"] for s in sites.json()] == [site_a]
    assert (await client.get(f"{SITES}/{site_b}", headers={"X-API-Key": raw})).status_code == 404


async def test_only_key_managers_create_or_revoke_keys(client, auth_headers, make_key):
    key_id, _ = await make_key()
    for role in (Role.VIEWER, Role.OPERATOR, Role.SERVICE):
        headers = await auth_headers(role)
        assert (await client.post(KEYS, json={"name": "x"}, headers=headers)).status_code == 403
        assert (await client.delete(f"{KEYS}/{key_id}", headers=headers)).status_code == 403


async def test_key_input_is_validated(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    for body in (
        {"name": "root key", "role": "administrator"},
        {"name": "x", "site_id": 987654},
        {"name": ""},
        {"name": "x", "asset_id": 1},
    ):
        response = await client.post(KEYS, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
