"""/api/v1/users: administrators manage users; nobody else can, nor promote themselves."""

from __future__ import annotations

from sqlalchemy import select
from tests.auth.conftest import PASSWORD, bearer

from gridpilot.auth.models import User
from gridpilot.auth.permissions import Role

USERS = "/api/v1/users"


async def test_admin_creates_reads_updates_and_deletes_a_user(
    client, auth_headers, make_site, login
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site()
    created = await client.post(
        USERS,
        json={
            "username": "lena",
            "password": "lena-password",
            "role": "operator",
            "site_ids": [site_id],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["role"] == "operator" and user["site_ids"] == [site_id]
    assert "password" not in created.text and "hash" not in created.text

    body = await login("lena", password="lena-password")
    assert body["scope"]
    assert (await client.get(f"{USERS}/{user['id']}", headers=admin)).json()["username"] == "lena"
    listed = await client.get(USERS, headers=admin)
    assert "lena" in [u["username"] for u in listed.json()]

    patched = await client.patch(
        f"{USERS}/{user['id']}", json={"role": "viewer", "site_ids": None}, headers=admin
    )
    assert patched.status_code == 200
    assert patched.json()["role"] == "viewer" and patched.json()["site_ids"] is None

    assert (await client.delete(f"{USERS}/{user['id']}", headers=admin)).status_code == 204
    assert (await client.get(f"{USERS}/{user['id']}", headers=admin)).status_code == 404


async def test_bad_user_input_is_a_4xx(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    ok = {"username": "dora", "password": "dora-password", "role": "viewer"}
    assert (await client.post(USERS, json=ok, headers=admin)).status_code == 201
    duplicate = await client.post(USERS, json=ok, headers=admin)
    assert duplicate.status_code == 409
    short = await client.post(
        USERS, json={**ok, "username": "x1", "password": "short"}, headers=admin
    )
    bad_role = await client.post(
        USERS, json={**ok, "username": "x2", "role": "root"}, headers=admin
    )
    unknown_site = await client.post(
        USERS, json={**ok, "username": "x3", "site_ids": [987654]}, headers=admin
    )
    for response in (short, bad_role, unknown_site):
        assert response.status_code == 422, response.text


async def test_a_viewer_cannot_manage_users(client, auth_headers, make_user):
    viewer = await auth_headers(Role.VIEWER)
    operator = await auth_headers(Role.OPERATOR)
    target = await make_user("quinn", Role.VIEWER)
    for headers in (viewer, operator):
        create = await client.post(
            USERS, json={"username": "eve", "password": "eve-password", "role": "administrator"},
            headers=headers,
        )  # fmt: skip
        assert create.status_code == 403
        assert (await client.get(USERS, headers=headers)).status_code == 403
        promote = await client.patch(
            f"{USERS}/{target.id}", json={"role": "administrator"}, headers=headers
        )
        assert promote.status_code == 403
        assert (await client.delete(f"{USERS}/{target.id}", headers=headers)).status_code == 403


async def test_mass_assignment_on_me_is_rejected_and_changes_nothing(
    client, make_user, login, sessions
):
    user = await make_user("mike", Role.VIEWER)
    headers = bearer((await login("mike"))["access_token"])
    for field, value in (("role", "administrator"), ("site_ids", None), ("disabled", False)):
        response = await client.patch(
            f"{USERS}/me",
            json={"current_password": PASSWORD, "new_password": "takeover-123", field: value},
            headers=headers,
        )
        assert response.status_code == 403, response.text
        assert field in response.json()["message"]
    async with sessions() as session:
        stored = await session.scalar(select(User).where(User.id == user.id))
    assert stored is not None and stored.role == "viewer"
    # The password did not change either.
    assert (await login("mike"))["access_token"]
    me = await client.get(f"{USERS}/me", headers=headers)
    assert me.json()["role"] == "viewer"


async def test_changing_my_password_needs_the_current_one(client, make_user, login):
    await make_user("jane", Role.VIEWER)
    headers = bearer((await login("jane"))["access_token"])
    wrong = await client.patch(
        f"{USERS}/me",
        json={"current_password": "not-it-at-all", "new_password": "jane-new-pass"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert (await login("jane"))["access_token"]


async def test_the_last_administrator_cannot_lock_everyone_out(client, make_user, login):
    admin = await make_user("root", Role.ADMINISTRATOR)
    headers = bearer((await login("root"))["access_token"])
    demote = await client.patch(f"{USERS}/{admin.id}", json={"role": "viewer"}, headers=headers)
    disable = await client.patch(f"{USERS}/{admin.id}", json={"disabled": True}, headers=headers)
    delete = await client.delete(f"{USERS}/{admin.id}", headers=headers)
    assert demote.status_code == disable.status_code == delete.status_code == 409
    await make_user("root2", Role.ADMINISTRATOR)
    assert (await client.delete(f"{USERS}/{admin.id}", headers=headers)).status_code == 204


async def test_api_keys_have_no_user_account(client, make_key):
    _, raw = await make_key()
    response = await client.get(f"{USERS}/me", headers={"X-API-Key": raw})
    assert response.status_code == 403
