"""Password reset by e-mailed token (#20 item 4), through a real local SMTP server (aiosmtpd):
always 202, single use, 30 minutes, only a hash stored, sessions ended, audited."""

from __future__ import annotations

import datetime as dt
import email
import re

import pytest
from sqlalchemy import select, update
from tests.alerts.conftest import eventually
from tests.auth.conftest import PASSWORD
from tests.auth.test_cli_users import run_cli
from tests.smtp_server import Inbox

from gridpilot.auth.models import AuditEvent, PasswordResetToken, User
from gridpilot.auth.permissions import Role

RESET = "/api/v1/auth/password-reset"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def settings_overrides(smtp_port: int) -> dict[str, object]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "ems@gridpilot.test",
        "password_reset_url": "https://ems.example.com/reset?token=",
    }


async def mailed_token(inbox: Inbox, count: int) -> str:
    async def arrived() -> bool:
        return len(inbox.messages) >= count

    await eventually(arrived)
    body = email.message_from_bytes(inbox.messages[count - 1][2]).get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(rb"Reset token: (\S+)", body)
    assert found is not None and b"https://ems.example.com/reset?token=" in body
    return found.group(1).decode()


async def test_reset_end_to_end(client, inbox, auth_headers, login, token_request, sessions):
    admin = await auth_headers(Role.ADMINISTRATOR)
    created = await client.post(
        "/api/v1/users",
        json={"username": "ann", "password": PASSWORD, "email": "Ann@Example.com"},
        headers=admin,
    )
    assert created.status_code == 201 and created.json()["email"] == "Ann@Example.com"
    old = await login("ann")
    for login_name in ("nobody", "nobody@example.com", "ann@example.com"):
        answer = await client.post(RESET, json={"login": login_name})
        assert answer.status_code == 202 and answer.json() == {"status": "accepted"}
    token = await mailed_token(inbox, 1)
    assert len(inbox.messages) == 1 and inbox.messages[0][1] == ["Ann@Example.com"]
    async with sessions() as session:
        stored = list(await session.scalars(select(PasswordResetToken.token_hash)))
    assert len(stored) == 1 and token not in stored[0]
    short = await client.post(f"{RESET}/confirm", json={"token": token, "new_password": "x"})
    assert short.status_code == 422  # refused before the token is looked at: not spent
    done = await client.post(
        f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    again = await client.post(
        f"{RESET}/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert again.status_code == 422 and again.json()["error"] == "invalid_token"
    await login("ann", NEW_PASSWORD)
    refused = await token_request(grant_type="refresh_token", refresh_token=old["refresh_token"])
    assert refused.status_code == 400  # the old sessions ended
    async with sessions() as session:
        trail = [
            (e.action, e.outcome, e.client)
            for e in await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.startswith("user.password_reset"))
                .order_by(AuditEvent.id)
            )
        ]
    assert trail == [
        ("user.password_reset_request", "success", "127.0.0.1"),
        ("user.password_reset", "success", "127.0.0.1"),
        ("user.password_reset", "failure", "127.0.0.1"),
    ]


async def test_expired_and_voided_tokens(client, inbox, make_user, auth_headers, sessions):
    admin = await auth_headers(Role.ADMINISTRATOR)
    user = await make_user("bob")
    await client.patch(f"/api/v1/users/{user.id}", json={"email": "bob@example.com"}, headers=admin)
    await client.post(RESET, json={"login": "bob"})
    first = await mailed_token(inbox, 1)
    await client.post(RESET, json={"login": "bob"})
    second = await mailed_token(inbox, 2)
    voided = await client.post(
        f"{RESET}/confirm", json={"token": first, "new_password": NEW_PASSWORD}
    )
    assert voided.status_code == 422  # a newer request voids the older token
    async with sessions() as session, session.begin():
        await session.execute(
            update(PasswordResetToken).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
    expired = await client.post(
        f"{RESET}/confirm", json={"token": second, "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 422 and expired.json()["error"] == "invalid_token"
    unknown = await client.post(
        f"{RESET}/confirm", json={"token": "nope", "new_password": NEW_PASSWORD}
    )
    assert unknown.status_code == 422


async def test_cli_sets_the_e_mail(app, sessions, database_url, tmp_path):
    bad = await run_cli(
        database_url,
        tmp_path,
        ["user", "create", "cy", "--role", "viewer", "--password-stdin", "--email", "cy at x"],
        stdin=PASSWORD,
    )
    assert bad.exit_code == 1 and "not an e-mail address" in bad.output
    good = await run_cli(
        database_url,
        tmp_path,
        ["user", "create", "cy", "--role", "viewer", "--password-stdin", "--email", "cy@x.org"],
        stdin=PASSWORD,
    )
    assert good.exit_code == 0, good.output
    async with sessions() as session:
        assert await session.scalar(select(User.email).where(User.username == "cy")) == "cy@x.org"
