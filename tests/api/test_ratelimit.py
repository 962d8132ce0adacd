"""Global per-client rate limit (GRIDPILOT_API_RATE_LIMIT_PER_MIN > 0): 429 with Retry-After."""

from __future__ import annotations

import pytest
from tests.api.ops_probe import add_probe_route

LIMIT = 3


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"api_rate_limit_per_min": LIMIT}


async def test_requests_over_the_limit_get_429(app, client, auth_headers):
    add_probe_route(app)
    headers = await auth_headers("viewer")
    for thing_id in range(LIMIT):
        assert (
            await client.get(f"/api/v1/ops-probe/{thing_id}", headers=headers)
        ).status_code == 200
    limited = await client.get("/api/v1/ops-probe/99", headers=headers | {"X-Request-ID": "rl-1"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-request-id"] == "rl-1"
    assert limited.json()["error"] == "rate_limited"
    assert "per minute" in limited.json()["message"]
    # health checks and scrapes are never limited
    assert (await client.get("/health")).status_code == 200
    metrics = await client.get("/metrics", headers=headers)
    assert metrics.status_code == 200
    # refused before routing: counted, under no route template
    assert 'method="GET",route="<unmatched>",status="429"} 1.0' in metrics.text
