"""API-wide per-client rate limit (GRIDPILOT_API_RATE_LIMIT_PER_MIN, 100 by default, #20).

429 with ``Retry-After`` and the ``RateLimit-*`` headers; shared across processes through Redis.
The suite's app factory (tests/conftest.py) turns the limit off because tests flood from one
address; these tests turn it back on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tests.api.ops_probe import add_probe_route
from tests.conftest import TEST_JWT_SECRET, _service_missing

from gridpilot.api.app import create_app
from gridpilot.core.settings import Settings

LIMIT = 3
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"api_rate_limit_per_min": LIMIT}


async def test_requests_over_the_limit_get_429(app, client, auth_headers):
    add_probe_route(app)
    headers = await auth_headers("viewer")
    for thing_id in range(LIMIT):
        ok = await client.get(f"/api/v1/ops-probe/{thing_id}", headers=headers)
        assert ok.status_code == 200
        assert ok.headers["ratelimit-limit"] == str(LIMIT)
        assert ok.headers["ratelimit-remaining"] == str(LIMIT - 1 - thing_id)
        assert 1 <= int(ok.headers["ratelimit-reset"]) <= 60
        assert ok.headers["ratelimit-policy"] == f"{LIMIT};w=60"
    limited = await client.get("/api/v1/ops-probe/99", headers=headers | {"X-Request-ID": "rl-1"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["ratelimit-remaining"] == "0"
    assert limited.headers["ratelimit-reset"] == limited.headers["retry-after"]
    assert limited.headers["x-request-id"] == "rl-1"
    assert limited.json()["error"] == "rate_limited"
    assert "per minute" in limited.json()["message"]
    # health checks, scrapes and the dashboard's transport are never limited
    assert (await client.get("/health")).status_code == 200
    assert "ratelimit-limit" not in (await client.get("/health")).headers
    metrics = await client.get("/metrics", headers=headers)
    assert metrics.status_code == 200
    # refused before routing: counted, under no route template
    assert 'method="GET",route="<unmatched>",status="429"} 1.0' in metrics.text


def test_the_limit_is_on_by_default():
    assert Settings(_env_file=None).api_rate_limit_per_min == 100  # type: ignore[call-arg]


async def test_the_default_app_refuses_the_101st_request_in_a_minute(database_url, data_root):
    """An app built without the suite's opt-out: 100 answers, then 429."""
    settings = Settings(
        database_url=database_url,
        data_dir=data_root,
        jwt_secret=TEST_JWT_SECRET,
        web_enabled=False,
        gc_tuning=False,
        auto_migrate=False,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        statuses = [(await http.get("/api/v1/sites")).status_code for _ in range(101)]
    assert statuses[:100] == [401] * 100  # counted before authentication
    assert statuses[100] == 429


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        _service_missing("Redis", exc)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_processes_share_the_count_through_redis(settings, redis_prefix):
    """Two apps (as two processes would) on one Redis: their requests add up."""
    shared = settings.model_copy(
        update={"redis_url": REDIS_URL, "redis_channel_prefix": redis_prefix}
    )
    first, second = create_app(shared), create_app(shared)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a") as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b") as b,
    ):
        assert (await a.get("/api/v1/sites")).headers["ratelimit-remaining"] == "2"
        assert (await b.get("/api/v1/sites")).headers["ratelimit-remaining"] == "1"
        assert (await a.get("/api/v1/sites")).headers["ratelimit-remaining"] == "0"
        refused = await b.get("/api/v1/sites")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
