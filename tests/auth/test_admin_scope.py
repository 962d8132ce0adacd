"""A site-limited administrator administers only its sites' users and keys, and never widens a
scope beyond its own (issue #13, finding 1). Each case was open before: the user and key routes
checked the permission only."""

from __future__ import annotations

import pytest
from tests.auth.conftest import bearer

from gridpilot.auth.permissions import Role

USERS = "/api/v1/users"
KEYS = "/api/v1/api-keys"


@pytest.fixture
async def scoped(client, auth_headers, make_site, make_user, login):
    """Sites A and B, a global administrator, and an administrator of site A only."""
    site_a, site_b = await make_site("A"), await make_site("B")
    root = await auth_headers(Role.ADMINISTRATOR)
    await make_user("admin-a", Role.ADMINISTRATOR, sites=[site_a])
    token = (await login("admin-a"))["access_token"]
    return {"a": site_a, "b": site_b, "root": root, "admin_a": bearer(token)}


async def _me(client, headers) -> dict:
    response = await client.get(f"{USERS}/me", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_cannot_widen_its_own_scope(client, scoped):
    me = await _me(client, scoped["admin_a"])
    for sites in (None, [scoped["a"], scoped["b"]], [scoped["b"]]):
        response = await client.patch(
            f"{USERS}/{me['id']}", json={"site_ids": sites}, headers=scoped["admin_a"]
        )
        assert response.status_code == 403, (sites, response.text)
    assert (await _me(client, scoped["admin_a"]))["site_ids"] == [scoped["a"]]


async def test_creates_users_only_within_its_sites(client, scoped):
    new = {"password": "long-enough-pw", "role": "administrator"}
    unrestricted = await client.post(
        USERS, json={**new, "username": "root2"}, headers=scoped["admin_a"]
    )
    assert unrestricted.status_code == 403
    assert "site_ids" in unrestricted.json()["message"]
    other = await client.post(
        USERS, json={**new, "username": "b-admin", "site_ids": [scoped["b"]]},
        headers=scoped["admin_a"],
    )  # fmt: skip
    assert other.status_code == 403
    own = await client.post(
        USERS, json={**new, "username": "a-admin2", "site_ids": [scoped["a"]]},
        headers=scoped["admin_a"],
    )  # fmt: skip
    assert own.status_code == 201, own.text
    assert own.json()["site_ids"] == [scoped["a"]]


async def test_sees_and_manages_only_its_sites_users(client, scoped, make_user):
    b_user = await make_user("bob-b", Role.VIEWER, sites=[scoped["b"]])
    a_user = await make_user("ann-a", Role.VIEWER, sites=[scoped["a"]])
    both = await make_user("both", Role.VIEWER, sites=[scoped["a"], scoped["b"]])
    root_id = (await _me(client, scoped["root"]))["id"]
    listed = await client.get(USERS, headers=scoped["admin_a"])
    assert listed.status_code == 200
    assert {u["username"] for u in listed.json()} == {"admin-a", "ann-a"}
    for hidden in (b_user.id, both.id, root_id):
        path = f"{USERS}/{hidden}"
        assert (await client.get(path, headers=scoped["admin_a"])).status_code == 404
        patched = await client.patch(path, json={"disabled": True}, headers=scoped["admin_a"])
        assert patched.status_code == 404
        assert (await client.delete(path, headers=scoped["admin_a"])).status_code == 404
    assert (await _me(client, scoped["root"]))["role"] == "administrator"
    promote = await client.patch(
        f"{USERS}/{a_user.id}", json={"role": "operator"}, headers=scoped["admin_a"]
    )
    assert promote.status_code == 200 and promote.json()["site_ids"] == [scoped["a"]]


async def test_keys_only_within_its_sites(client, scoped, make_key):
    root_key, _ = await make_key(role="service")
    b_key, _ = await make_key(role="service", site_id=scoped["b"])
    a_key, _ = await make_key(role="service", site_id=scoped["a"])
    global_key = await client.post(KEYS, json={"name": "g"}, headers=scoped["admin_a"])
    assert global_key.status_code == 403
    other_site = await client.post(
        KEYS, json={"name": "b", "site_id": scoped["b"]}, headers=scoped["admin_a"]
    )
    assert other_site.status_code == 404
    own = await client.post(
        KEYS, json={"name": "a", "site_id": scoped["a"]}, headers=scoped["admin_a"]
    )
    assert own.status_code == 201, own.text
    listed = {k["id"] for k in (await client.get(KEYS, headers=scoped["admin_a"])).json()}
    assert listed == {a_key, own.json()["id"]}
    for hidden in (root_key, b_key):
        revoked = await client.delete(f"{KEYS}/{hidden}", headers=scoped["admin_a"])
        assert revoked.status_code == 404
    assert (await client.delete(f"{KEYS}/{a_key}", headers=scoped["admin_a"])).status_code == 204
    everything = (await client.get(KEYS, headers=scoped["root"])).json()
    assert {k["id"] for k in everything if k["revoked_at"]} == {a_key}


async def test_key_of_its_site_reads_nothing_of_another(client, scoped):
    b_site = f"/api/v1/sites/{scoped['b']}"
    created = await client.post(
        KEYS, json={"name": "a", "site_id": scoped["a"], "role": "viewer"},
        headers=scoped["admin_a"],
    )  # fmt: skip
    key = {"X-API-Key": created.json()["key"]}
    assert (await client.get(b_site, headers=key)).status_code == 404
    assert (await client.get(f"/api/v1/sites/{scoped['a']}", headers=key)).status_code == 200


async def test_holds_no_installation_wide_permission(client, scoped):
    status = await client.get("/api/v1/simulator/status", headers=scoped["admin_a"])
    assert status.status_code == 403
    assert "some sites" in status.json()["message"]
    assert (await client.get("/api/v1/simulator/status", headers=scoped["root"])).status_code == 200


async def test_the_last_administrator_of_every_site_stays(client, scoped):
    """With only one unrestricted administrator, limiting, demoting or disabling it would leave
    the other sites without one: a site administrator does not count."""
    root_id = (await _me(client, scoped["root"]))["id"]
    for change in ({"site_ids": [scoped["a"]]}, {"role": "operator"}, {"disabled": True}):
        response = await client.patch(f"{USERS}/{root_id}", json=change, headers=scoped["root"])
        assert response.status_code == 409, (change, response.text)
    assert (await client.delete(f"{USERS}/{root_id}", headers=scoped["root"])).status_code == 409
