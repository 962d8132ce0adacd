"""Rate limits and lock-outs in one process and shared through the real Redis (#13)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from tests.conftest import _service_missing

from gridpilot.auth.passwords import HashGate
from gridpilot.core.errors import RateLimited
from gridpilot.core.limits import Limits, LocalLimiter, LocalLockout, RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis_limits() -> AsyncIterator[tuple[Limits, Limits]]:
    """Two installations' processes on the real Redis, under a prefix of this test alone."""
    probe = Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (RedisError, OSError) as exc:
        _service_missing("Redis", exc)
    finally:
        await probe.aclose()
    prefix = f"t{uuid.uuid4().hex[:12]}"
    one, two = Limits(REDIS_URL, prefix), Limits(REDIS_URL, prefix)
    yield one, two
    await one.stop()
    await two.stop()


async def test_local_limiter_counts_per_key():
    limiter = LocalLimiter(2)
    await limiter.hit("a")
    await limiter.hit("a")
    await limiter.hit("b")
    with pytest.raises(RateLimited) as raised:
        await limiter.hit("a")
    assert 1 <= raised.value.retry_after_s <= 60


async def test_local_lockout_locks_after_consecutive_failures():
    lockout = LocalLockout(3, 60)
    assert [await lockout.fail("x") for _ in range(3)] == [0, 0, 60]
    assert 59 <= await lockout.locked_for("x") <= 60
    assert await lockout.locked_for("y") == 0


async def test_processes_share_a_limit_through_redis(redis_limits):
    one, two = redis_limits
    first, second = one.limiter("auth", 3), two.limiter("auth", 3)
    assert isinstance(first, RedisLimiter)
    await first.hit("203.0.113.9")
    await second.hit("203.0.113.9")
    await first.hit("203.0.113.9")
    with pytest.raises(RateLimited) as raised:
        await second.hit("203.0.113.9")  # the other process's hits count
    assert 1 <= raised.value.retry_after_s <= 60
    await second.hit("198.51.100.7")  # another client has its own count


async def test_processes_share_lockouts_through_redis(redis_limits):
    one, two = redis_limits
    first, second = one.lockout("unknown-user", 2, 30), two.lockout("unknown-user", 2, 30)
    assert await first.fail("ghost") == 0
    assert await second.fail("ghost") == 30
    assert 29 <= await first.locked_for("ghost") <= 30
    assert await second.locked_for("someone-else") == 0


async def test_an_unreachable_redis_falls_back_to_counting_in_process():
    limits = Limits("redis://127.0.0.1:9/0", "gridpilot")  # nothing listens on port 9
    try:
        limiter = limits.limiter("auth", 1)
        await limiter.hit("a")
        with pytest.raises(RateLimited):
            await limiter.hit("a")
        lockout = limits.lockout("unknown-user", 1, 30)
        assert await lockout.fail("ghost") == 30
        assert await lockout.locked_for("ghost") >= 29
    finally:
        await limits.stop()


async def test_hash_gate_bounds_concurrency_and_refuses_beyond_its_queue():
    gate = HashGate(1)
    release = threading.Event()
    first = asyncio.create_task(gate.run(release.wait, 10))
    queued = [asyncio.create_task(gate.run(release.wait, 10)) for _ in range(gate.max_waiting)]
    while gate.waiting < gate.max_waiting:
        await asyncio.sleep(0.001)
    assert gate.running == 1
    with pytest.raises(RateLimited) as raised:
        await gate.run(release.wait, 10)  # refused at once instead of piling up
    assert raised.value.retry_after_s == 1
    release.set()
    assert all(await asyncio.gather(first, *queued))
    assert gate.running == 0 and gate.waiting == 0


async def test_a_cancelled_check_keeps_its_slot_until_its_thread_ends():
    gate = HashGate(1)
    release = threading.Event()
    check = asyncio.create_task(gate.run(release.wait, 10))
    while gate.running == 0:
        await asyncio.sleep(0.001)
    check.cancel()
    with pytest.raises(asyncio.CancelledError):
        await check
    assert gate.running == 1  # the thread still computes: its slot stays taken
    after = asyncio.create_task(gate.run(lambda: "done"))
    await asyncio.sleep(0.05)
    assert not after.done()
    release.set()
    assert await after == "done"
