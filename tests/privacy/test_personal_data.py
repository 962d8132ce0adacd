"""GDPR access and erasure of one user (``privacy/``), on both back ends: the export holds the
user's rows without secrets, erasure pseudonymises them everywhere the registry names and ends
every way in; the registry covers every table that points at a user."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from gridpilot.auth.permissions import Role
from gridpilot.cli.main import app as cli
from gridpilot.db.metadata import target_metadata
from gridpilot.privacy.registry import MENTIONS, OWNED, RECIPIENTS

PASSWORD = "correct horse battery staple"
EMAIL = "Ann.Rossi@example.org"
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_the_registry_names_real_columns_and_every_table_pointing_at_users():
    tables = target_metadata().tables
    for spec in OWNED:
        assert spec.column in tables[spec.table].columns, spec
        for column in (*spec.values, *spec.hidden):
            assert column in tables[spec.table].columns, (spec.table, column)
    for name, column in (*MENTIONS, *RECIPIENTS):
        assert column in tables[name].columns, (name, column)
    pointing = {
        (t.name, c.name)
        for t in tables.values()
        for c in t.columns
        for fk in c.foreign_keys
        if fk.column.table.name == "users"
    }
    assert pointing <= {(s.table, s.column) for s in OWNED}, pointing


async def _token(client, username: str) -> dict[str, str]:
    form = {"grant_type": "password", "username": username, "password": PASSWORD}
    answer = await client.post("/api/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _ann(app, client, sessions, make_user) -> tuple[int, dict[str, str]]:
    """Ann, operator, with an e-mail, a channel she made (her address among its recipients),
    a voice query, preferences and a community membership."""
    ann = await make_user("ann", Role.OPERATOR)
    tables = target_metadata().tables
    async with sessions() as session, session.begin():
        users = tables["users"]
        await session.execute(users.update().where(users.c.id == ann.id).values(email=EMAIL))
        await session.execute(insert(tables["voice_interactions"]).values(
            at=NOW, subject=f"user:{ann.id}", user_id=ann.id, channel="query",
            utterance="how much did plant A use today", lang="en", intent="energy_today",
            slots={}, outcome="answered", answer="1,200 kWh", latency_ms=12.0, cached=False,
        ))  # fmt: skip
        await session.execute(insert(tables["notification_preferences"]).values(
            user_id=ann.id, preferences={"quiet_hours": None}, updated_at=NOW
        ))  # fmt: skip
        await session.execute(insert(tables["community_members"]).values(
            name="Ann Rossi", email=EMAIL, user_type="PRIVATE", category="none", user_id=ann.id,
            created_at=NOW, updated_at=NOW,
        ))  # fmt: skip
    headers = await _token(client, "ann")
    channel = {"name": "mine", "kind": "email", "recipients": [EMAIL, "ops@example.org"]}
    made = await client.post("/api/v1/notification-channels", json=channel, headers=headers)
    assert made.status_code == 201, made.text
    return ann.id, headers


async def test_a_user_exports_their_data_without_secrets(app, client, sessions, make_user):
    ann, headers = await _ann(app, client, sessions, make_user)
    answer = await client.get(f"/api/v1/users/{ann}/personal-data", headers=headers)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    account = data["owned"]["users"][0]
    assert account["username"] == "ann" and account["email"] == EMAIL
    assert "password_hash" not in account and "totp_secret" not in account
    assert data["owned"]["voice_interactions"][0]["utterance"] == "how much did plant A use today"
    assert data["owned"]["community_members"][0]["name"] == "Ann Rossi"
    assert (
        data["owned"]["refresh_tokens"] and "token_hash" not in data["owned"]["refresh_tokens"][0]
    )
    assert {m["value"] for m in data["mentions"]["notification_channels"]} == {"ann"}
    assert len(data["recipients"]["notification_channels"]) == 1
    assert "10 years" in data["kept"]


async def test_others_see_no_ones_data_but_administrators(
    app, client, sessions, make_user, auth_headers
):
    ann, _ = await _ann(app, client, sessions, make_user)
    viewer = await auth_headers(Role.VIEWER)
    refused = await client.get(f"/api/v1/users/{ann}/personal-data", headers=viewer)
    assert refused.status_code == 403
    admin = await auth_headers(Role.ADMINISTRATOR)
    assert (
        await client.get(f"/api/v1/users/{ann}/personal-data", headers=admin)
    ).status_code == 200
    assert (
        await client.get("/api/v1/users/999999/personal-data", headers=admin)
    ).status_code == 404
    assert (await client.post(f"/api/v1/users/{ann}/erase", headers=viewer)).status_code == 403


async def test_erasure_pseudonymises_everywhere_and_ends_every_way_in(
    app, client, sessions, make_user, auth_headers
):
    ann, ann_headers = await _ann(app, client, sessions, make_user)
    admin = await auth_headers(Role.ADMINISTRATOR)
    answer = await client.post(f"/api/v1/users/{ann}/erase", headers=admin)
    assert answer.status_code == 200, answer.text
    changed = answer.json()["changed"]
    assert changed["users"] == 1 and changed["voice_interactions"] == 1
    assert changed["notification_channels"] == 2  # created_by and the recipients list
    tables = target_metadata().tables
    async with sessions() as session:
        user = (
            await session.execute(select(tables["users"]).where(tables["users"].c.id == ann))
        ).one()
        member = (await session.execute(select(tables["community_members"]))).one()
        channel = (await session.execute(select(tables["notification_channels"]))).one()
        voice = (await session.execute(select(tables["voice_interactions"]))).all()
    assert (user.username, user.email, user.disabled) == (f"erased-user-{ann}", None, True)
    assert (member.name, member.email, member.user_id) == (f"Member {member.id}", None, None)
    assert channel.created_by == f"erased-user-{ann}"
    assert channel.recipients == ["ops@example.org"] and voice == []
    # no way in: the old access token, the password, the refresh token
    assert (await client.get("/api/v1/sites", headers=ann_headers)).status_code == 401
    form = {"grant_type": "password", "username": "ann", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/token", data=form)).status_code in (400, 401)
    again = await client.get(f"/api/v1/users/{ann}/personal-data", headers=admin)
    assert EMAIL not in again.text and '"ann"' not in again.text


async def test_an_administrator_cannot_erase_themself(app, client, make_user):
    await make_user("root", Role.ADMINISTRATOR)
    headers = await _token(client, "root")
    me = (await client.get("/api/v1/users/me", headers=headers)).json()["id"]
    answer = await client.post(f"/api/v1/users/{me}/erase", headers=headers)
    assert answer.status_code == 409, answer.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_cli_exports_and_erases(app, client, sessions, make_user, settings, monkeypatch):
    ann, _ = await _ann(app, client, sessions, make_user)
    monkeypatch.setenv("GRIDPILOT_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("GRIDPILOT_DATA_DIR", str(settings.data_dir))

    def run(*args: str):  # in a thread: the command runs its own event loop
        return asyncio.to_thread(CliRunner().invoke, cli, ["user", *args])

    exported = await run("export-data", str(ann))
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["owned"]["users"][0]["email"] == EMAIL
    refused = await run("erase", str(ann))
    assert refused.exit_code == 1 and "--yes" in refused.output
    erased = await run("erase", str(ann), "--yes")
    assert erased.exit_code == 0, erased.output
    async with sessions() as session:
        users = target_metadata().tables["users"]
        name = await session.scalar(select(users.c.username).where(users.c.id == ann))
    assert name == f"erased-user-{ann}"
