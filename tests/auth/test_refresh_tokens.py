"""Rotating refresh tokens: rotation, reuse detection (the family dies), expiry, disabled users."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from tests.auth.conftest import bearer

from gridpilot.auth.models import RefreshToken, User
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import sha256_hex
from gridpilot.db.base import utcnow


async def refresh(token_request, token: str, **extra: str):
    return await token_request(grant_type="refresh_token", refresh_token=token, **extra)


async def test_refresh_rotates_the_token(client, make_user, login, token_request, sessions):
    await make_user("rita", Role.VIEWER)
    first = await login("rita")
    response = await refresh(token_request, first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"] == "read"
    me = await client.get("/api/v1/users/me", headers=bearer(second["access_token"]))
    assert me.json()["username"] == "rita"
    third = await refresh(token_request, second["refresh_token"])
    assert third.status_code == 200
    async with sessions() as session:
        stored = list(await session.scalars(select(RefreshToken)))
    assert len({row.family_id for row in stored}) == 1
    # Only hashes are stored.
    hashes = {row.token_hash for row in stored}
    assert sha256_hex(first["refresh_token"]) in hashes
    assert first["refresh_token"] not in hashes


async def test_reusing_a_rotated_token_revokes_the_whole_family(make_user, login, token_request):
    await make_user("mallory", Role.OPERATOR)
    first = await login("mallory")
    second = (await refresh(token_request, first["refresh_token"])).json()

    reused = await refresh(token_request, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # The newest token of the family, never used, is dead too.
    newest = await refresh(token_request, second["refresh_token"])
    assert newest.status_code == 400
    assert newest.json()["error"] == "invalid_grant"


async def test_reuse_does_not_touch_other_logins(make_user, login, token_request):
    await make_user("nina", Role.VIEWER)
    laptop = await login("nina")
    phone = await login("nina")
    await refresh(token_request, laptop["refresh_token"])
    await refresh(token_request, laptop["refresh_token"])  # reuse: laptop family revoked
    assert (await refresh(token_request, phone["refresh_token"])).status_code == 200


async def test_expired_unknown_and_disabled(make_user, login, token_request, sessions):
    await make_user("edgar", Role.VIEWER)
    old = await login("edgar")
    async with sessions() as session, session.begin():
        await session.execute(
            update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await refresh(token_request, old["refresh_token"])
    unknown = await refresh(token_request, "not-a-token")
    fresh = await login("edgar")
    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.username == "edgar").values(disabled=True))
    disabled = await refresh(token_request, fresh["refresh_token"])
    for response in (expired, unknown, disabled):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_refresh_applies_the_current_role_and_cannot_widen_scope(
    make_user, login, token_request, sessions
):
    await make_user("paul", Role.OPERATOR)
    narrow = await login("paul", scope="read configure")
    wider = await refresh(token_request, narrow["refresh_token"], scope="read users:manage")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    # A rejected scope does not spend the token.
    again = await refresh(token_request, narrow["refresh_token"])
    assert again.status_code == 200
    assert again.json()["scope"] == "configure read"

    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.username == "paul").values(role="viewer"))
    demoted = await refresh(token_request, again.json()["refresh_token"])
    assert demoted.status_code == 200
    assert demoted.json()["scope"] == "read"


async def test_changing_the_password_ends_refresh_sessions(
    client, make_user, login, token_request, sessions
):
    await make_user("carl", Role.VIEWER)
    body = await login("carl")
    changed = await client.patch(
        "/api/v1/users/me",
        json={"current_password": "correct horse battery staple", "new_password": "new-secret-123"},
        headers=bearer(body["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    assert (await refresh(token_request, body["refresh_token"])).status_code == 400
    async with sessions() as session:
        live = await session.scalar(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.revoked_at.is_(None))
        )
    assert live == 0
    assert (await login("carl", password="new-secret-123"))["access_token"]
