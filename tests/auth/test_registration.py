"""Self-registration (#20 item 4): off by default; when allowed, the new account is a viewer
that sees no site until an administrator grants one. Both back ends."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role

REGISTER = "/api/v1/auth/register"
ANN = {"username": "ann", "password": "a long enough passphrase 42", "email": "ann@example.org"}


async def _token(client, username: str, password: str) -> dict[str, str]:
    form = {"grant_type": "password", "username": username, "password": password}
    answer = await client.post("/api/v1/auth/token", data=form)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_registration_is_off_unless_an_administrator_allows_it(client):
    answer = await client.post(REGISTER, json=ANN)
    assert answer.status_code == 403 and "self-registration is off" in answer.json()["message"]
    form = {"grant_type": "password", "username": "ann", "password": ANN["password"]}
    assert (await client.post("/api/v1/auth/token", data=form)).status_code != 200


class TestAllowed:
    @pytest.fixture
    def settings_overrides(self, settings_overrides):
        return {**settings_overrides, "self_registration": True}

    async def test_a_registered_account_sees_nothing_until_granted_a_site(
        self, client, auth_headers
    ):
        await _sees_nothing_until_granted(client, auth_headers)


async def _sees_nothing_until_granted(client, auth_headers) -> None:
    admin = await auth_headers(Role.ADMINISTRATOR)
    plant = {"name": "Plant A", "timezone": "UTC"}
    site = await client.post("/api/v1/sites", json=plant, headers=admin)
    answer = await client.post(REGISTER, json=ANN)
    assert answer.status_code == 201, answer.text
    ann = answer.json()
    assert (ann["role"], ann["site_ids"]) == ("viewer", [])
    headers = await _token(client, "ann", ANN["password"])
    assert (await client.get("/api/v1/sites", headers=headers)).json() == []  # nothing opened
    granted = await client.patch(
        f"/api/v1/users/{ann['id']}", json={"site_ids": [site.json()["id"]]}, headers=admin
    )
    assert granted.status_code == 200, granted.text
    headers = await _token(client, "ann", ANN["password"])
    assert [s["name"] for s in (await client.get("/api/v1/sites", headers=headers)).json()] == [
        "Plant A"
    ]
    trail = await client.get("/api/v1/audit?action=user.register", headers=admin)
    assert [e["target"] for e in trail.json()] == [f"user:{ann['id']}"]
    assert (await client.post(REGISTER, json=ANN)).status_code == 409
    weak = await client.post(REGISTER, json={"username": "bob", "password": "short"})
    assert weak.status_code == 422
    upgrade = await client.post(REGISTER, json=ANN | {"username": "eve", "role": "administrator"})
    assert upgrade.status_code == 422  # no field to ask for a role
