"""The CER seed's ``/api/auth/login|refresh|logout|register`` served as thin aliases of the
auth routes: the same token endpoint (form-encoded, RFC 6749 answers), logout revoking the
refresh token's login, registration following the same switch; each also with the final ``/``."""

from __future__ import annotations

import uuid

import pytest

from gridpilot.auth.permissions import Role

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def username(make_user) -> str:
    name = f"ann-{uuid.uuid4().hex[:8]}"
    await make_user(name, Role.VIEWER, password=PASSWORD)
    return name


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/login/"])
async def test_login_is_the_token_endpoint(client, username, path):
    form = {"grant_type": "password", "username": username, "password": PASSWORD}
    answer = await client.post(path, data=form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"].lower() == "bearer" and body["access_token"] and body["refresh_token"]
    assert answer.headers["cache-control"] == "no-store"
    me = await client.get("/api/cer", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    wrong = await client.post(path, data={**form, "password": "not it"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_logout_ends_the_login(client, username):
    form = {"grant_type": "password", "username": username, "password": PASSWORD}
    first = (await client.post("/api/auth/login", data=form)).json()
    refreshed = await client.post(
        "/api/auth/refresh/",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    current = refreshed.json()["refresh_token"]
    assert current != first["refresh_token"]
    out = await client.post("/api/auth/logout", json={"refresh_token": current})
    assert out.status_code == 204 and out.content == b""
    again = await client.post(
        "/api/auth/refresh", data={"grant_type": "refresh_token", "refresh_token": current}
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_logout_of_an_unknown_token_is_204_and_a_bad_body_422(client):
    unknown = await client.post("/api/auth/logout/", json={"refresh_token": "no-such-token"})
    assert unknown.status_code == 204
    bad = await client.post("/api/auth/logout", json={"token": "x"})
    assert bad.status_code == 422


REGISTRATION = {"password": "a long enough passphrase 42"}


async def test_register_is_off_by_default(client):
    body = {"username": f"reg-{uuid.uuid4().hex[:8]}", **REGISTRATION}
    assert (await client.post("/api/auth/register", json=body)).status_code == 403


class TestRegistrationAllowed:
    @pytest.fixture
    def settings_overrides(self, settings_overrides):
        return {**settings_overrides, "self_registration": True}

    async def test_register_is_the_registration_route(self, client):
        body = {"username": f"reg-{uuid.uuid4().hex[:8]}", **REGISTRATION}
        on = await client.post("/api/auth/register/", json=body)
        assert on.status_code == 201, on.text
        assert on.json()["role"] == "viewer" and on.json()["site_ids"] == []
        assert (await client.post("/api/auth/register", json=body)).status_code == 409


def test_the_aliases_are_documented(app):
    paths = app.openapi()["paths"]
    for name in ("login", "refresh", "logout", "register"):
        assert "post" in paths[f"/api/auth/{name}"], name
    assert "/api/auth/login/" not in paths  # the slash spelling is served, not listed
