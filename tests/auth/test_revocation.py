"""Access tokens stop working once the rights behind them are gone (issue #13, finding 5).

Before, a disabled, demoted or deleted user's token, and the access token of a login whose
refresh token was reused, kept working until ``exp`` (up to an hour).
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from tests.auth.conftest import bearer

from gridpilot.auth.models import User
from gridpilot.auth.permissions import Role

USERS = "/api/v1/users"
SITES = "/api/v1/sites"
RECHECK_S = 0.3


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"auth_recheck_s": RECHECK_S}


async def _user_token(make_user, login, name: str, role: Role) -> tuple[int, dict[str, str]]:
    user = await make_user(name, role)
    return user.id, bearer((await login(name))["access_token"])


async def test_disabled_user_is_refused_at_once(client, auth_headers, make_user, login):
    admin = await auth_headers(Role.ADMINISTRATOR)
    user_id, token = await _user_token(make_user, login, "olga", Role.OPERATOR)
    assert (await client.get(SITES, headers=token)).status_code == 200
    disabled = await client.patch(f"{USERS}/{user_id}", json={"disabled": True}, headers=admin)
    assert disabled.status_code == 200
    site = await client.post(SITES, json={"name": "x", "timezone": "UTC"}, headers=token)
    assert site.status_code == 401
    assert "revoked" in site.json()["message"]


async def test_demoted_administrator_loses_its_rights(client, auth_headers, make_user, login):
    root = await auth_headers(Role.ADMINISTRATOR)
    user_id, token = await _user_token(make_user, login, "demo", Role.ADMINISTRATOR)
    assert (await client.get(USERS, headers=token)).status_code == 200
    await client.patch(f"{USERS}/{user_id}", json={"role": "viewer"}, headers=root)
    assert (await client.get(USERS, headers=token)).status_code == 401
    fresh = bearer((await login("demo"))["access_token"])
    assert (await client.get(USERS, headers=fresh)).status_code == 403


async def test_deleted_user_token_never_passes_for_a_new_user(
    client, auth_headers, make_user, login
):
    root = await auth_headers(Role.ADMINISTRATOR)
    user_id, token = await _user_token(make_user, login, "gone", Role.ADMINISTRATOR)
    assert (await client.delete(f"{USERS}/{user_id}", headers=root)).status_code == 204
    new = await client.post(
        USERS, json={"username": "newcomer", "password": "long-enough-pw", "role": "viewer"},
        headers=root,
    )  # fmt: skip
    assert new.status_code == 201
    assert new.json()["id"] != user_id, "user ids are never reused"
    assert (await client.get(f"{USERS}/me", headers=token)).status_code == 401


async def test_change_made_by_another_process_applies_within_the_recheck(
    client, sessions, make_user, login
):
    """The CLI or another worker disables the user: this process learns it within
    ``auth_recheck_s`` without being told."""
    user_id, token = await _user_token(make_user, login, "cli-off", Role.OPERATOR)
    assert (await client.get(SITES, headers=token)).status_code == 200
    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == user_id).values(disabled=True))
    await asyncio.sleep(RECHECK_S * 1.5)
    assert (await client.get(SITES, headers=token)).status_code == 401


async def test_refresh_reuse_ends_the_access_tokens_too(client, make_user, login):
    await make_user("reuse", Role.OPERATOR)
    first = await login("reuse")
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    rotated = await client.post("/api/v1/auth/token", data=form)
    assert rotated.status_code == 200
    replay = await client.post("/api/v1/auth/token", data=form)
    assert replay.status_code == 400
    await asyncio.sleep(RECHECK_S * 1.5)
    for access in (first["access_token"], rotated.json()["access_token"]):
        assert (await client.get(SITES, headers=bearer(access))).status_code == 401


async def test_revoked_key_client_credentials_token_is_refused(client, auth_headers, make_key):
    root = await auth_headers(Role.ADMINISTRATOR)
    key_id, raw = await make_key(role="service")
    client_id = raw.split("_")[1]
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": raw}
    granted = await client.post("/api/v1/auth/token", data=form)
    assert granted.status_code == 200, granted.text
    token = bearer(granted.json()["access_token"])
    assert (await client.get(SITES, headers=token)).status_code == 200
    assert (await client.delete(f"/api/v1/api-keys/{key_id}", headers=root)).status_code == 204
    assert (await client.get(SITES, headers=token)).status_code == 401


async def test_a_key_token_never_passes_for_a_key_that_got_its_database_id(
    client, sessions, make_key
):
    """A device key deleted with its asset may leave its id to the next key on SQLite: the
    old key's client-credentials token must not pass as the new key's (review of #13)."""
    from sqlalchemy import delete

    from gridpilot.auth.models import ApiKey

    key_id, raw = await make_key(role="service")
    form = {
        "grant_type": "client_credentials",
        "client_id": raw.split("_")[1],
        "client_secret": raw,
    }
    token = bearer((await client.post("/api/v1/auth/token", data=form)).json()["access_token"])
    async with sessions() as session, session.begin():
        await session.execute(delete(ApiKey).where(ApiKey.id == key_id))
    new_id, _ = await make_key(role="service")
    async with sessions() as session, session.begin():
        await session.execute(update(ApiKey).where(ApiKey.id == new_id).values(id=key_id))
    await asyncio.sleep(RECHECK_S * 1.5)
    assert (await client.get(SITES, headers=token)).status_code == 401
