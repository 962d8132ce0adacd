"""WS /api/v1/live authentication against a real uvicorn server: JWT, API key, close codes."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from tests.live.wsclient import authenticated, bearer, close_code, open_live, recv_json

from gridpilot.auth.dependencies import token_config
from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import encode_access_token


async def test_no_credentials_is_closed_4401(server):
    ws = await open_live(server)
    assert await close_code(ws) == 4401


async def test_first_message_must_be_auth(server):
    ws = await open_live(server)
    await ws.send(json.dumps({"type": "subscribe"}))
    assert await close_code(ws) == 4401


async def test_bad_token_is_closed_4401(server):
    ws = await open_live(server, "not.a.jwt")
    assert await close_code(ws) == 4401


async def test_token_signed_with_another_key_is_closed_4401(server, app):
    config = token_config(app.state.settings)
    forged = encode_access_token(
        dataclasses.replace(config, secret="another-secret-" + "y" * 40),
        "user:1",
        {"role": "administrator"},
    )
    ws = await open_live(server, forged)
    assert await close_code(ws) == 4401


async def test_jwt_in_subprotocol(server, auth_headers):
    headers = await auth_headers(Role.VIEWER)
    ws = await open_live(server, bearer(headers))
    assert ws.subprotocol == "bearer"
    ready = await recv_json(ws)
    assert ready["type"] == "ready"
    assert ready["role"] == "viewer"
    assert ready["expires_ms"] > 0
    await ws.send(json.dumps({"type": "ping", "id": 7}))
    assert await recv_json(ws) == {"type": "pong", "id": 7}
    await ws.close()


async def test_jwt_in_first_message(server, auth_headers):
    headers = await auth_headers(Role.OPERATOR)
    ws = await open_live(server)
    await ws.send(json.dumps({"type": "auth", "token": bearer(headers)}))
    ready = await recv_json(ws)
    assert ready["type"] == "ready"
    assert ready["role"] == "operator"
    await ws.close()


async def test_api_key(server, http, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    created = await http.post(
        "/api/v1/api-keys", json={"name": "wall-display", "role": "viewer"}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    ws = await authenticated(server, key)
    await ws.close()
    ws = await open_live(server)
    await ws.send(json.dumps({"type": "auth", "token": key}))
    ready = await recv_json(ws)
    assert ready["type"] == "ready"
    assert ready["subject"].startswith("key:")
    assert ready["expires_ms"] is None
    await ws.close()
    ws = await open_live(server, key[:-2] + "xx")  # wrong secret
    assert await close_code(ws) == 4401


async def test_token_without_read_permission_is_closed_4403(server, app, make_user):
    user = await make_user("writer-only", Role.SERVICE)
    token = encode_access_token(
        token_config(app.state.settings),
        f"user:{user.id}",
        {"role": "service", "scope": "telemetry:write"},
    )
    ws = await open_live(server, token)
    assert await close_code(ws) == 4403


async def test_renewing_with_another_principal_is_refused(server, auth_headers):
    first = await auth_headers(Role.VIEWER)
    second = await auth_headers(Role.VIEWER)
    ws = await authenticated(server, bearer(first))
    await ws.send(json.dumps({"type": "auth", "token": bearer(first), "id": 1}))
    renewed = await recv_json(ws)
    assert renewed["type"] == "ready"
    assert renewed["id"] == 1
    await ws.send(json.dumps({"type": "auth", "token": bearer(second)}))
    assert await close_code(ws) == 4403


async def test_bad_messages_get_errors_and_the_connection_stays(server, auth_headers):
    ws = await authenticated(server, bearer(await auth_headers(Role.VIEWER)))
    for bad in ["not json", "[1, 2]", json.dumps({"type": "dance"}), "{}"]:
        await ws.send(bad)
        error = await recv_json(ws)
        assert error["type"] == "error", bad
        assert error["code"] == "bad_request"
    await ws.send(json.dumps({"type": "subscribe", "events": ["gossip"], "id": "s1"}))
    error = await recv_json(ws)
    assert error["code"] == "validation_failed"
    assert error["id"] == "s1"
    assert "gossip" in error["message"]
    await ws.send(json.dumps({"type": "subscribe", "sites": "all"}))
    assert (await recv_json(ws))["code"] == "validation_failed"
    await ws.send(json.dumps({"type": "ping"}))
    assert await recv_json(ws) == {"type": "pong"}
    await ws.close()


async def test_connection_closes_4401_when_the_token_expires(server, app, make_user):
    user = await make_user("short-lived", Role.VIEWER)
    config = dataclasses.replace(token_config(app.state.settings), ttl_s=2)
    ws = await authenticated(
        server, encode_access_token(config, f"user:{user.id}", {"role": "viewer"})
    )
    await ws.send(json.dumps({"type": "subscribe"}))
    assert await close_code(ws) == 4401


class TestRevokedApiKey:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"live_auth_timeout_s": 1.0, "web_enabled": False, "rollup_interval_s": 3600.0,
                "live_key_recheck_s": 0.5}  # fmt: skip

    async def test_connection_of_a_revoked_api_key_closes_4401(self, server, http, auth_headers):
        admin = await auth_headers(Role.ADMINISTRATOR)
        created = await http.post(
            "/api/v1/api-keys", json={"name": "wall-display", "role": "viewer"}, headers=admin
        )
        assert created.status_code == 201, created.text
        ws = await authenticated(server, created.json()["key"])
        await ws.send(json.dumps({"type": "subscribe"}))
        assert (await recv_json(ws))["type"] == "subscribed"
        await asyncio.sleep(1.5)  # several re-checks pass while the key is valid
        await ws.send(json.dumps({"type": "ping", "id": 1}))
        assert await recv_json(ws) == {"type": "pong", "id": 1}
        revoked = await http.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
        assert revoked.status_code == 204, revoked.text
        assert await close_code(ws) == 4401


class TestDisabledUser:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"live_auth_timeout_s": 1.0, "web_enabled": False, "rollup_interval_s": 3600.0,
                "auth_recheck_s": 0.5}  # fmt: skip

    async def test_connection_of_a_disabled_user_closes_4401(
        self, server, http, app, make_user, auth_headers
    ):
        """Before, a token's connection was checked at connect only (issue #13, finding 5)."""
        admin = await auth_headers(Role.ADMINISTRATOR)
        user = await make_user("display", Role.VIEWER)
        token = encode_access_token(token_config(app.state.settings), f"user:{user.id}",
                                    {"role": "viewer"})  # fmt: skip
        ws = await authenticated(server, token)
        await ws.send(json.dumps({"type": "subscribe"}))
        assert (await recv_json(ws))["type"] == "subscribed"
        await asyncio.sleep(1.5)  # several re-checks pass while the user is enabled
        await ws.send(json.dumps({"type": "ping", "id": 1}))
        assert await recv_json(ws) == {"type": "pong", "id": 1}
        off = await http.patch(f"/api/v1/users/{user.id}", json={"disabled": True}, headers=admin)
        assert off.status_code == 200, off.text
        assert await close_code(ws) == 4401
