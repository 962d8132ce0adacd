"""POST /api/v1/auth/token: the password and client_credentials grants, RFC 6749 errors."""

from __future__ import annotations

import jwt
from sqlalchemy import update
from tests.auth.conftest import PASSWORD, TOKEN_URL, bearer

from gridpilot.auth.models import User
from gridpilot.auth.permissions import Role


async def test_password_grant_issues_working_tokens(client, make_user, token_request):
    user = await make_user("olga", Role.OPERATOR)
    response = await token_request(grant_type="password", username="olga", password=PASSWORD)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"]
    assert set(body["scope"].split()) == {"read", "telemetry:write", "configure", "alerts:ack",
                                          "commands:send", "ingest:admin"}  # fmt: skip
    me = await client.get("/api/v1/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() == {**me.json(), "id": user.id, "username": "olga", "role": "operator"}
    assert "password" not in me.text and "hash" not in me.text


async def test_access_token_claims(app, make_user, login):
    user = await make_user("sam", Role.VIEWER, sites=None)
    body = await login("sam")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"user:{user.id}"
    assert claims["role"] == "viewer"
    assert claims["sites"] is None
    assert claims["iss"] == "gridpilot" and claims["aud"] == "gridpilot-api"
    assert claims["exp"] - claims["iat"] == 3600


async def test_wrong_password_unknown_user_and_disabled_user_get_invalid_grant(
    make_user, sessions, token_request
):
    await make_user("vera", Role.VIEWER)
    wrong = await token_request(grant_type="password", username="vera", password="nope-nope")
    unknown = await token_request(grant_type="password", username="nobody", password=PASSWORD)
    async with sessions() as session, session.begin():
        await session.execute(update(User).where(User.username == "vera").values(disabled=True))
    disabled = await token_request(grant_type="password", username="vera", password=PASSWORD)
    for response in (wrong, unknown, disabled):
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"
        assert "access_token" not in response.json()
        assert response.headers["Cache-Control"] == "no-store"


async def test_malformed_requests_get_rfc_errors(client, make_user, token_request):
    await make_user("ivan", Role.VIEWER)
    cases = [
        (await token_request(), "invalid_request"),
        (await token_request(grant_type="password", username="ivan"), "invalid_request"),
        (await token_request(grant_type="implicit"), "unsupported_grant_type"),
        (await token_request(grant_type="refresh_token"), "invalid_request"),
        (await client.post(TOKEN_URL, json={"grant_type": "password"}), "invalid_request"),
        (
            await client.post(
                TOKEN_URL,
                content="grant_type=password&grant_type=password&username=ivan&password=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ),
            "invalid_request",
        ),
    ]
    for response, error in cases:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == error
        assert response.json()["error_description"]


async def test_scope_narrows_the_token(client, make_user, login, token_request):
    await make_user("otto", Role.OPERATOR)
    body = await login("otto", scope="read")
    assert body["scope"] == "read"
    headers = bearer(body["access_token"])
    readable = await client.get("/api/v1/users/me", headers=headers)
    assert readable.status_code == 200
    # The operator role may create sites, but this token was only granted "read".
    created = await client.post(
        "/api/v1/sites", json={"name": "Narrow", "timezone": "UTC"}, headers=headers
    )
    assert created.status_code == 403

    beyond = await token_request(
        grant_type="password", username="otto", password=PASSWORD, scope="users:manage"
    )
    unknown = await token_request(
        grant_type="password", username="otto", password=PASSWORD, scope="everything"
    )
    assert beyond.status_code == unknown.status_code == 400
    assert beyond.json()["error"] == unknown.json()["error"] == "invalid_scope"


async def test_client_credentials_with_basic_auth(client, make_key, make_site, token_request):
    site_id = await make_site()
    await make_site()
    key_id, raw = await make_key(site_id=site_id)
    public_id = raw.split("_")[1]
    response = await token_request(auth=(public_id, raw), grant_type="client_credentials")
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    assert body["scope"] == "read telemetry:write"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"key:{public_id}"
    assert claims["kid"] == key_id
    assert claims["sites"] == [site_id]
    sites = await client.get("/api/v1/sites", headers=bearer(body["access_token"]))
    assert sites.status_code == 200
    assert [s["id"] for s in sites.json()] == [site_id]


async def test_client_credentials_in_the_form_with_the_secret_part(make_key, token_request):
    _, raw = await make_key()
    _, public_id, secret = raw.split("_", 2)
    response = await token_request(
        grant_type="client_credentials", client_id=public_id, client_secret=secret
    )
    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "bearer"


async def test_device_key_client_credentials_carries_its_asset(
    make_key, make_site, make_asset, token_request
):
    site_id = await make_site()
    asset_id = await make_asset(site_id)
    _, raw = await make_key(asset_id=asset_id, site_id=site_id, role="service")
    response = await token_request(
        grant_type="client_credentials", client_id=raw.split("_")[1], client_secret=raw
    )
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["assets"] == [asset_id]
    assert claims["sites"] == [site_id]


async def test_bad_client_credentials_get_invalid_client(make_key, token_request, client):
    _, raw = await make_key()
    public_id = raw.split("_")[1]
    wrong_secret = await token_request(
        auth=(public_id, raw[:-2] + "xx"), grant_type="client_credentials"
    )
    unknown = await token_request(
        grant_type="client_credentials", client_id="0123456789abcdef", client_secret="nope"
    )
    missing = await token_request(grant_type="client_credentials")
    for response in (wrong_secret, unknown, missing):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic")
    both = await token_request(
        auth=(public_id, raw), grant_type="client_credentials", client_secret=raw
    )
    assert both.status_code == 400
    assert both.json()["error"] == "invalid_request"


async def test_revoked_key_cannot_get_a_token(make_key, token_request, auth_headers, client):
    key_id, raw = await make_key()
    revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=await auth_headers())
    assert revoked.status_code == 204
    response = await token_request(auth=(raw.split("_")[1], raw), grant_type="client_credentials")
    assert response.status_code == 401
