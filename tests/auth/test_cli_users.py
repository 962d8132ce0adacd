"""`gridpilot user ...` and `gridpilot apikey ...` against real databases, then logging in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from tests.auth.conftest import bearer
from tests.conftest import TEST_JWT_SECRET
from typer.testing import CliRunner

from gridpilot.api.app import create_app
from gridpilot.cli.main import app as cli
from gridpilot.core.settings import Settings

runner = CliRunner()


def invoke(database_url: str, data_dir: Path, args: list[str], stdin: str | None = None):
    env = {"GRIDPILOT_DATABASE_URL": database_url, "GRIDPILOT_DATA_DIR": str(data_dir)}
    return runner.invoke(cli, args, input=stdin, env=env)


async def run_cli(database_url: str, data_dir: Path, args: list[str], stdin: str | None = None):
    """The CLI calls asyncio.run, so it runs in a thread beside the test's event loop."""
    return await asyncio.to_thread(invoke, database_url, data_dir, args, stdin)


async def password_login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": password},
    )


async def test_user_create_then_login_on_both_backends(client, database_url, tmp_path):
    created = await run_cli(
        database_url,
        tmp_path,
        ["user", "create", "cleo", "--role", "operator", "--password-stdin"],
        "cleo-password-1\n",
    )
    assert created.exit_code == 0, created.output
    response = await password_login(client, "cleo", "cleo-password-1")
    assert response.status_code == 200, response.text
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}
    )
    assert me.json()["role"] == "operator" and me.json()["site_ids"] is None

    listed = await run_cli(database_url, tmp_path, ["user", "list"])
    assert listed.exit_code == 0 and "cleo" in listed.output

    duplicate = await run_cli(
        database_url, tmp_path, ["user", "create", "cleo", "--role", "viewer", "--password-stdin"],
        "another-password\n",
    )  # fmt: skip
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    unknown_role = await run_cli(
        database_url, tmp_path, ["user", "create", "dan", "--role", "king", "--password-stdin"],
        "dan-password-1\n",
    )  # fmt: skip
    assert unknown_role.exit_code != 0
    assert "unknown role" in unknown_role.output

    changed = await run_cli(
        database_url, tmp_path, ["user", "set-password", "cleo", "--password-stdin"],
        "cleo-password-2\n",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert (await password_login(client, "cleo", "cleo-password-1")).status_code == 400
    assert (await password_login(client, "cleo", "cleo-password-2")).status_code == 200

    disabled = await run_cli(database_url, tmp_path, ["user", "disable", "cleo"])
    assert disabled.exit_code == 0, disabled.output
    assert (await password_login(client, "cleo", "cleo-password-2")).status_code == 400


async def test_user_create_with_sites_and_prompted_password(
    client, database_url, tmp_path, make_site
):
    site_id = await make_site()
    created = await run_cli(
        database_url, tmp_path,
        ["user", "create", "sid", "--role", "viewer", "--sites", str(site_id)],
        "sid-password-1\nsid-password-1\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    token = (await password_login(client, "sid", "sid-password-1")).json()["access_token"]
    me = await client.get("/api/v1/users/me", headers=bearer(token))
    assert me.json()["site_ids"] == [site_id]
    mismatch = await run_cli(
        database_url, tmp_path, ["user", "create", "sue", "--role", "viewer"],
        "sue-password-1\nsomething-else\nsue-password-1\nsue-password-1\n",
    )  # fmt: skip
    assert mismatch.exit_code == 0  # asked again after the mismatch
    assert (await password_login(client, "sue", "sue-password-1")).status_code == 200


async def test_apikey_commands(client, database_url, tmp_path):
    created = await run_cli(database_url, tmp_path, ["apikey", "create", "--name", "bridge"])
    assert created.exit_code == 0, created.output
    raw = next(line for line in created.output.splitlines() if line.startswith("gpk_"))
    key_id = raw.split("_")[1]
    assert (await client.get("/api/v1/sites", headers={"X-API-Key": raw})).status_code == 200
    listed = await run_cli(database_url, tmp_path, ["apikey", "list"])
    assert key_id in listed.output and raw not in listed.output
    revoked = await run_cli(database_url, tmp_path, ["apikey", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    missing = await run_cli(database_url, tmp_path, ["apikey", "revoke", "0000000000000000"])
    assert missing.exit_code == 1


async def test_user_create_migrates_a_fresh_embedded_database(tmp_path):
    url = f"sqlite:///{(tmp_path / 'fresh.db').as_posix()}"
    created = await run_cli(
        url, tmp_path, ["user", "create", "first", "--role", "administrator", "--password-stdin"],
        "first-password\n",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    settings = Settings(
        database_url=url, data_dir=tmp_path, jwt_secret=TEST_JWT_SECRET, log_json=False,
        gc_tuning=False,  # a tuned collector would stay tuned for every later test here
    )  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await password_login(http, "first", "first-password")
            assert response.status_code == 200, response.text
            token = response.json()["access_token"]
            users = await http.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
            assert [u["username"] for u in users.json()] == ["first"]
