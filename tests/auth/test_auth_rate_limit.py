"""The token endpoint is rate limited per client address (settings.auth_rate_limit_per_min)."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"auth_rate_limit_per_min": 3}


async def test_too_many_token_requests_get_429_with_retry_after(make_user, token_request, client):
    await make_user("fred", Role.VIEWER)
    for _ in range(3):
        response = await token_request(grant_type="password", username="fred", password="wrong-pw")
        assert response.status_code == 400
    limited = await token_request(
        grant_type="password", username="fred", password="correct horse battery staple"
    )
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "access_token" not in limited.text
    # Other routes are not limited by the auth limit.
    assert (await client.get("/health")).status_code == 200
