"""Every password check: argon2 off the event loop, account lock-out, per-client limit (#13).

Runs on both back ends: the failure count and the lock live in the ``users`` table.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from tests.auth.conftest import PASSWORD, bearer

from gridpilot.auth.login_guard import login_guard
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Role

LOCKOUT = {"login_max_failures": 3, "login_lockout_s": 2, "password_hash_concurrency": 2}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return dict(LOCKOUT)


async def _wrong(token_request, username: str = "ann"):
    return await token_request(grant_type="password", username=username, password="wrong-pw-1")


async def _right(token_request, username: str = "ann"):
    return await token_request(grant_type="password", username=username, password=PASSWORD)


@pytest.mark.parametrize("settings_overrides", [{"login_max_failures": 100}])
async def test_health_answers_while_eight_wrong_logins_are_hashed(
    settings_overrides, app, client, make_user, token_request
):
    await make_user("ann", Role.VIEWER)
    hashes = login_guard(app).hashes
    logins = [asyncio.create_task(_wrong(token_request)) for _ in range(8)]
    busiest = 0
    while hashes.running == 0:  # a blocking hash would never let this loop see one running
        await asyncio.sleep(0.001)
    for _ in range(5):
        health = await client.get("/health")
        assert health.status_code == 200
        running_now = hashes.running
        busiest = max(busiest, running_now)
        assert running_now > 0, "/health answered only once no hash was running"
    answers = await asyncio.gather(*logins)
    assert {a.json()["error"] for a in answers} == {"invalid_grant"}
    assert busiest <= app.state.settings.password_hash_concurrency
    assert hashes.running == 0 and hashes.waiting == 0


async def test_lock_out_after_repeated_failures_with_a_clear_message(
    token_request, make_user, sessions
):
    await make_user("ann", Role.VIEWER)
    for _ in range(2):
        answer = await _wrong(token_request)
        assert answer.json()["error"] == "invalid_grant"
        assert "Retry-After" not in answer.headers
    third = await _wrong(token_request)
    assert third.status_code == 400
    assert third.json()["error"] == "invalid_grant"
    assert "locked" in third.json()["error_description"]
    assert 1 <= int(third.headers["Retry-After"]) <= 2
    refused = await _right(token_request)  # the right password during the lock-out
    assert refused.status_code == 400
    assert "locked" in refused.json()["error_description"]
    assert "access_token" not in refused.text
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == "ann"))
        assert user is not None and user.locked_until is not None
    await asyncio.sleep(2.1)
    assert (await _right(token_request)).status_code == 200


async def test_a_successful_login_resets_the_count(token_request, make_user, sessions):
    await make_user("ann", Role.VIEWER)
    for _ in range(2):
        await _wrong(token_request)
    assert (await _right(token_request)).status_code == 200
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == "ann"))
        assert user is not None and user.failed_logins == 0
    for _ in range(2):  # two more failures: 2 in a row, not 4
        assert "locked" not in (await _wrong(token_request)).text
    assert (await _right(token_request)).status_code == 200


async def test_unknown_usernames_lock_out_alike(token_request, make_user):
    await make_user("ann", Role.VIEWER)
    real = [await _wrong(token_request, "ann") for _ in range(3)]
    ghost = [await _wrong(token_request, "nobody-here") for _ in range(3)]
    assert [r.json() for r in real] == [g.json() for g in ghost]
    assert real[-1].headers["Retry-After"] == ghost[-1].headers["Retry-After"]
    assert (await _right(token_request, "nobody-here")).json() == real[-1].json()


async def test_a_wrong_current_password_counts_towards_the_lock_out(
    client, login, make_user, token_request
):
    await make_user("ann", Role.VIEWER)
    headers = bearer((await login("ann"))["access_token"])
    change = {"current_password": "wrong-pw-1", "new_password": "a brand new password"}
    first = await client.patch("/api/v1/users/me", json=change, headers=headers)
    assert first.status_code == 422
    await _wrong(token_request)
    third = await client.patch("/api/v1/users/me", json=change, headers=headers)
    assert third.status_code == 429
    assert third.json()["error"] == "account_locked"
    assert "locked" in third.json()["message"]
    assert int(third.headers["Retry-After"]) >= 1
    right = {"current_password": PASSWORD, "new_password": "a brand new password"}
    refused = await client.patch("/api/v1/users/me", json=right, headers=headers)
    assert refused.status_code == 429
    assert (await _right(token_request)).status_code == 400  # still the old password, locked


@pytest.mark.parametrize("settings_overrides", [{"login_rate_limit_per_min": 3}])
async def test_password_checks_are_limited_per_client(
    settings_overrides, client, token_request, login, make_user
):
    await make_user("ann", Role.VIEWER)
    await make_user("bob", Role.VIEWER)
    tokens = await login("ann")
    assert (await _wrong(token_request, "bob")).status_code == 400
    assert (await _wrong(token_request, "nobody-here")).status_code == 400
    limited = await _right(token_request, "bob")  # 4th password check of this client
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    change = {"current_password": PASSWORD, "new_password": "a brand new password"}
    me = await client.patch("/api/v1/users/me", json=change, headers=bearer(tokens["access_token"]))
    assert me.status_code == 429
    # other grants check no password: a refresh still works
    refreshed = await token_request(
        grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refreshed.status_code == 200
