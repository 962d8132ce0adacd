"""Secrets at rest on both back ends: the database holds only sealed text, the ORM plaintext;
rotation re-encrypts (plaintext left by older versions included) and refuses unknown keys."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gridpilot.cli.main import app as cli
from gridpilot.core import crypto
from gridpilot.db import secret_rotation

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "webhook_allow_private": True}  # the hook is on 127.0.0.1


async def _channel(client, auth_headers) -> int:
    body = {"name": "ops hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}
    headers = await auth_headers("operator")
    response = await client.post(
        "/api/v1/notification-channels", json=body | {"secret": SECRET}, headers=headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _stored(sessions, channel_id: int) -> str:
    async with sessions() as session:
        query = text("SELECT secret FROM notification_channels WHERE id = :id")
        return str((await session.execute(query, {"id": channel_id})).scalar_one())


def _counts(states, table: str = "notification_channels") -> dict[str, int]:
    return next(dict(s.counts) for s in states if s.table == table)


async def test_the_database_holds_sealed_text_the_service_the_secret(
    client, auth_headers, sessions
):
    channel_id = await _channel(client, auth_headers)
    stored = await _stored(sessions, channel_id)
    assert stored.startswith("gpenc:v1:") and "MfKQ9r8" not in stored
    from gridpilot.alerts.models import NotificationChannel

    async with sessions() as session:
        assert (await session.get(NotificationChannel, channel_id)).secret == SECRET


async def test_rotation_moves_plaintext_and_old_keys_to_the_current_key(
    client, auth_headers, sessions
):
    channel_id = await _channel(client, auth_headers)
    legacy = await _channel(client, auth_headers)
    async with sessions() as session, session.begin():  # as a version before encryption left it
        await session.execute(
            text("UPDATE notification_channels SET secret = :s WHERE id = :id"),
            {"s": SECRET, "id": legacy},
        )
    previous = crypto.active().keys[0]
    crypto.install(crypto.Keyring([os.urandom(32), previous]))  # a new key first, old after
    async with sessions() as session:
        assert _counts(await secret_rotation.secret_states(session)) == {"old": 1, "plaintext": 1}
    async with sessions() as session, session.begin():
        done = await secret_rotation.rotate(session)
    assert _counts(done) == {"old": 1, "plaintext": 1}
    async with sessions() as session:
        assert _counts(await secret_rotation.secret_states(session)) == {"current": 2}
    only_new = crypto.Keyring([crypto.active().keys[0]])
    for channel in (channel_id, legacy):
        assert only_new.decrypt(await _stored(sessions, channel)) == SECRET


async def test_rotation_refuses_a_value_no_key_opens_and_writes_nothing(
    client, auth_headers, sessions
):
    sealed_elsewhere = crypto.Keyring([os.urandom(32)]).encrypt(SECRET)
    strange, legacy = await _channel(client, auth_headers), await _channel(client, auth_headers)
    async with sessions() as session, session.begin():
        for channel, value in ((strange, sealed_elsewhere), (legacy, SECRET)):
            await session.execute(
                text("UPDATE notification_channels SET secret = :s WHERE id = :id"),
                {"s": value, "id": channel},
            )
    with pytest.raises(crypto.SecretUnreadable, match="1 value"):
        async with sessions() as session, session.begin():
            await secret_rotation.rotate(session)
    assert await _stored(sessions, legacy) == SECRET  # untouched: refused before any write


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_cli_rotates_to_a_new_key_in_the_key_file(
    client, auth_headers, sessions, settings, monkeypatch, tmp_path
):
    key_file = tmp_path / "keys"
    crypto.write_key_file(key_file, [crypto.new_key_text()])
    crypto.install(crypto.load_keyring(settings.model_copy(update={"secrets_key_file": key_file})))
    channel_id = await _channel(client, auth_headers)  # sealed under the file's only key
    before = await _stored(sessions, channel_id)
    monkeypatch.setenv("GRIDPILOT_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("GRIDPILOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GRIDPILOT_SECRETS_KEY_FILE", str(key_file))
    # in a thread: the command runs its own event loop (asyncio.run)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["secrets", "rotate", "--new-key"])
    assert result.exit_code == 0, result.output
    keys = key_file.read_text().split()
    assert len(keys) == 2 and "re-encrypted" in result.output
    new_id = crypto.key_id(crypto.parse_key(keys[0], "test"))
    after = await _stored(sessions, channel_id)
    assert after.startswith(f"gpenc:v1:{new_id}:") and after != before
    assert keys[0] not in result.output and keys[1] not in result.output  # ids only
    status = await asyncio.to_thread(CliRunner().invoke, cli, ["secrets", "status"])
    assert status.exit_code == 0 and new_id in status.output, status.output
