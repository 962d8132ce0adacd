"""The security audit trail (#20 item 5): every action leaves a row with the right outcome,
failed actions too; administrators of every site read it; nothing secret is in it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from tests.auth.conftest import PASSWORD, bearer
from tests.auth.test_cli_users import run_cli

from gridpilot.auth import audit
from gridpilot.auth.models import AuditEvent
from gridpilot.auth.permissions import Role

AUDIT_URL = "/api/v1/audit"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"login_max_failures": 3}


async def events(sessions, action: str | None = None) -> list[AuditEvent]:
    async with sessions() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(await session.scalars(query))


def outcomes(rows: list[AuditEvent]) -> list[tuple[str, str | None, str]]:
    return [(r.action, r.target, r.outcome) for r in rows]


async def test_logins_failures_lockout_and_refresh_reuse(
    client, make_user, login, token_request, sessions
):
    ann = await make_user("ann", Role.OPERATOR)
    tokens = await login("ann")
    wrong = await token_request(grant_type="password", username="ann", password="wrong-one")
    assert wrong.status_code == 400
    await token_request(grant_type="password", username="nobody", password="wrong-one")
    for _ in range(2):  # the 3rd failure in a row locks
        await token_request(grant_type="password", username="ann", password="wrong-one")
    locked = await token_request(grant_type="password", username="ann", password=PASSWORD)
    assert locked.status_code == 400 and "Retry-After" in locked.headers
    rotated = await token_request(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert rotated.status_code == 200
    reused = await token_request(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert reused.status_code == 400

    me = f"user:{ann.id}"
    logins = await events(sessions, "auth.login")
    assert outcomes(logins) == [
        ("auth.login", me, "success"),
        ("auth.login", me, "failure"),
        ("auth.login", "username:nobody", "failure"),
        ("auth.login", me, "failure"),
        ("auth.login", me, "failure"),
        ("auth.login", me, "failure"),
    ]
    assert logins[0].actor == me and logins[1].actor == "anonymous"
    assert logins[1].detail == {"via": "token", "reason": "wrong_credentials"}
    assert logins[-1].detail == {"via": "token", "reason": "account_locked"}
    assert all(r.client == "127.0.0.1" for r in logins)
    assert outcomes(await events(sessions, "auth.lockout")) == [("auth.lockout", me, "failure")]
    reuse = await events(sessions, "auth.refresh_reuse")
    assert outcomes(reuse) == [("auth.refresh_reuse", me, "failure")]


async def test_user_and_key_administration(
    client, make_user, auth_headers, make_site, make_asset, sessions
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    created = await client.post(
        "/api/v1/users",
        json={"username": "bob", "password": PASSWORD, "role": "viewer"},
        headers=admin,
    )
    assert created.status_code == 201
    bob = f"user:{created.json()['id']}"
    again = await client.post(
        "/api/v1/users",
        json={"username": "bob", "password": PASSWORD, "role": "viewer"},
        headers=admin,
    )
    assert again.status_code == 409
    site = await make_site()
    changed = await client.patch(
        f"/api/v1/users/{created.json()['id']}",
        json={"role": "operator", "site_ids": [site], "disabled": True, "password": "n3w-pass!"},
        headers=admin,
    )
    assert changed.status_code == 200
    key = await client.post("/api/v1/api-keys", json={"name": "svc"}, headers=admin)
    assert key.status_code == 201
    revoked = await client.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=admin)
    assert revoked.status_code == 204
    asset = await make_asset(site)
    device = await client.post(f"/api/v1/assets/{asset}/keys", json={}, headers=admin)
    assert device.status_code == 201
    gone = await client.delete(
        f"/api/v1/assets/{asset}/keys/{device.json()['key_id']}", headers=admin
    )
    assert gone.status_code == 204
    channel = await client.post(
        "/api/v1/notification-channels",
        json={"name": "ops", "kind": "email", "recipients": ["ops@example.com"]},
        headers=admin,
    )
    assert channel.status_code == 201, channel.text
    channel_url = f"/api/v1/notification-channels/{channel.json()['id']}"
    renamed = await client.patch(channel_url, json={"name": "ops-2"}, headers=admin)
    assert renamed.status_code == 200
    assert (await client.delete(channel_url, headers=admin)).status_code == 204
    deleted = await client.delete(f"/api/v1/users/{created.json()['id']}", headers=admin)
    assert deleted.status_code == 204

    rows = await events(sessions)
    actions = [(r.action, r.outcome) for r in rows]
    assert actions == [
        ("user.create", "success"),
        ("user.create", "failure"),
        ("user.update", "success"),
        ("key.create", "success"),
        ("key.revoke", "success"),
        ("device_key.create", "success"),
        ("device_key.revoke", "success"),
        ("alert_channel.create", "success"),
        ("alert_channel.update", "success"),
        ("alert_channel.delete", "success"),
        ("user.delete", "success"),
    ]
    assert {r.actor_name for r in rows} != {None}  # the administrator is named
    assert all(r.actor.startswith("user:") for r in rows)
    assert rows[0].target == bob and rows[0].detail == {
        "name": "bob",
        "role": "viewer",
        "sites": None,
    }
    assert rows[1].detail == {"reason": "conflict"}
    assert rows[2].detail == {
        "fields": ["disabled", "password", "role", "site_ids"],
        "role": "operator",
        "sites": [site],
        "disabled": True,
    }
    assert rows[5].target == f"key:{device.json()['key_id']}"
    assert rows[5].detail is not None and rows[5].detail["asset"] == asset
    assert rows[8].target == f"channel:{channel.json()['id']}"
    assert rows[8].detail == {"fields": ["name"], "site": None}


async def test_own_password_change_right_and_wrong(client, make_user, login, sessions):
    ann = await make_user("ann")
    headers = bearer((await login("ann"))["access_token"])
    bad = await client.patch(
        "/api/v1/users/me",
        json={"current_password": "not-it-at-all", "new_password": "another-pass-1"},
        headers=headers,
    )
    assert bad.status_code == 422
    good = await client.patch(
        "/api/v1/users/me",
        json={"current_password": PASSWORD, "new_password": "another-pass-1"},
        headers=headers,
    )
    assert good.status_code == 200
    rows = await events(sessions, "user.password_change")
    assert outcomes(rows) == [
        ("user.password_change", f"user:{ann.id}", "failure"),
        ("user.password_change", f"user:{ann.id}", "success"),
    ]


async def test_nothing_secret_is_recorded(client, make_user, login, token_request, auth_headers):
    await make_user("ann", Role.ADMINISTRATOR)
    tokens = await login("ann")
    await token_request(grant_type="password", username="ann", password="Wr0ng-S3cret-pw")
    headers = bearer(tokens["access_token"])
    new_user = await client.post(
        "/api/v1/users",
        json={"username": "cy", "password": "Cy-S3cret-Passw0rd", "role": "viewer"},
        headers=headers,
    )
    await client.patch(
        f"/api/v1/users/{new_user.json()['id']}",
        json={"password": "Cy-Other-S3cret-pw"},
        headers=headers,
    )
    key = await client.post("/api/v1/api-keys", json={"name": "svc"}, headers=headers)
    raw_key = key.json()["key"]
    await token_request(grant_type="client_credentials", client_id="x", client_secret=raw_key)
    await token_request(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    await token_request(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    trail = await client.get(AUDIT_URL, params={"limit": 1000}, headers=await auth_headers())
    text = json.dumps(trail.json())
    assert len(trail.json()) >= 6
    secrets = [
        PASSWORD,
        "Wr0ng-S3cret-pw",
        "Cy-S3cret-Passw0rd",
        "Cy-Other-S3cret-pw",
        raw_key,
        raw_key.rsplit("_", 1)[-1],
        tokens["access_token"],
        tokens["refresh_token"],
    ]
    assert [s for s in secrets if s in text] == []


async def test_query_filters_paging_and_rights(client, make_user, login, auth_headers, sessions):
    ann = await make_user("ann")
    for _ in range(3):
        await login("ann")
    admin = await auth_headers(Role.ADMINISTRATOR)
    page = await client.get(AUDIT_URL, params={"action": "auth.login", "limit": 2}, headers=admin)
    assert page.status_code == 200
    assert page.headers["X-Total-Count"] == "3" and len(page.json()) == 2
    first = page.json()[0]
    assert first["actor"] == f"user:{ann.id}" and first["outcome"] == "success"
    assert dt.datetime.fromisoformat(first["at"]).utcoffset() == dt.timedelta(0)
    rest = await client.get(
        AUDIT_URL, params={"action": "auth.*", "limit": 2, "offset": 2}, headers=admin
    )
    assert len(rest.json()) == 1
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    none = await client.get(AUDIT_URL, params={"since": future}, headers=admin)
    assert none.json() == []
    by_target = await client.get(AUDIT_URL, params={"target": "user:987654"}, headers=admin)
    assert by_target.json() == []
    naive = await client.get(AUDIT_URL, params={"since": "2026-01-01T00:00:00"}, headers=admin)
    assert naive.status_code == 422 and naive.json()["error"] == "validation_failed"
    number = await client.get(AUDIT_URL, params={"until": "0.5"}, headers=admin)
    assert number.status_code == 422 and "UTC offset" in number.json()["message"]
    for role in (Role.OPERATOR, Role.VIEWER, Role.SERVICE):
        assert (await client.get(AUDIT_URL, headers=await auth_headers(role))).status_code == 403
    site_admin = await auth_headers(Role.ADMINISTRATOR, sites=[])
    assert (await client.get(AUDIT_URL, headers=site_admin)).status_code == 403


async def test_retention_and_cli(client, make_user, login, sessions, database_url, tmp_path):
    await make_user("ann")
    await login("ann")
    async with sessions() as session, session.begin():
        await audit.record(
            session, action="user.delete", target="user:1", detail={"name": "old", "pw": "x"}
        )
    async with sessions() as session, session.begin():
        row = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()))).first()
        assert row is not None and row.actor == "cli" and row.detail == {"name": "old"}
        row.at = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    listed = await run_cli(database_url, tmp_path, ["audit", "list", "--action", "auth.*"])
    assert listed.exit_code == 0, listed.output
    assert "auth.login" in listed.output and "user:" in listed.output
    assert "1 of 1 events" in listed.output
    assert await audit.prune_trail(sessions, days=365) == 1
    assert [r.action for r in await events(sessions)] == ["auth.login"]
