"""A body holds the types its OpenAPI schema states: nothing pydantic would quietly convert
(``1`` or ``"true"`` for a boolean, ``"5"`` for a number) is taken (422, with the field)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("enabled", [1, 0, "true", "yes"])
async def test_a_boolean_must_be_true_or_false(client, auth_headers, enabled):
    headers = await auth_headers("administrator")
    body = {"name": "Mail", "kind": "email", "recipients": ["ops@example.com"]}
    refused = await client.post(
        "/api/v1/notification-channels", json={**body, "enabled": enabled}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert "enabled must be true or false" in refused.text
    accepted = await client.post(
        "/api/v1/notification-channels", json={**body, "enabled": False}, headers=headers
    )
    assert accepted.status_code == 201, accepted.text


async def test_a_number_given_as_text_is_refused_and_a_number_taken(client, auth_headers):
    headers = await auth_headers("administrator")
    site = await client.post(
        "/api/v1/sites", json={"name": "Plant", "timezone": "UTC"}, headers=headers
    )
    body = {"site_id": site.json()["id"], "name": "Meter", "kind": "meter"}
    refused = await client.post(
        "/api/v1/assets", json={**body, "expected_interval_s": "60"}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert "expected_interval_s must be a number" in refused.text
    accepted = await client.post(
        "/api/v1/assets", json={**body, "expected_interval_s": 60}, headers=headers
    )
    assert accepted.status_code == 201, accepted.text
