"""Fixtures of the live tests: Redis, unique channel prefixes, a real uvicorn server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tests.api.live_server import live_server
from tests.conftest import _service_missing

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
async def redis_url() -> str:
    """The real Redis (skipped when missing, except under CI=true)."""
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        _service_missing("Redis", exc)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
def channel_prefix() -> str:
    """A channel prefix of this test alone (other tests share the Redis server)."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # rollups off: the test app and the served app share the database
    return {"live_auth_timeout_s": 1.0, "web_enabled": False, "rollup_interval_s": 3600.0}


@pytest.fixture
def server(app, settings) -> Iterator[str]:
    """A real uvicorn server of the test settings (on the database ``app`` cleaned)."""
    with live_server(settings) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        yield client
