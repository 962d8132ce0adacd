"""Rate limits and failure lock-outs, kept in this process or shared through Redis.

Two kinds of counter, each keyed by a string (a client address, a username):

- a *limiter* allows ``limit_per_min`` hits per key in any 60 s window, then raises
  ``RateLimited`` with the seconds until the next hit is allowed;
- a *lock-out* counts consecutive failures per key; the ``max_failures``-th one locks the key
  for ``lockout_s`` seconds and starts the count again.

``make_limits(redis_url, prefix)`` gives Redis-backed counters when a URL is set (every process
of an installation sees the same counts; keys ``{prefix}:limit:{name}:{sha256(key)}``), else
in-process ones. When Redis cannot be reached a Redis-backed counter falls back to its in-process
twin (logged), so logging in keeps working, limited per process, through a Redis outage.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gridpilot.core.errors import RateLimited
from gridpilot.core.ratelimit import WINDOW_S, Quota, RateLimiter

log = logging.getLogger(__name__)

#: Seconds a Redis command may take before the counter falls back to this process's count.
REDIS_TIMEOUT_S = 0.5
#: Failure counts of a key nobody tried for this long are forgotten (Redis only) [s].
FAILURE_MEMORY_S = 86_400

# Sliding window over a sorted set of hit times (Redis server clock, microseconds).
# Returns {wait, remaining, reset}: wait is -1 when the hit is allowed, else the microseconds
# until it would be; remaining the hits left in the window; reset the microseconds until the
# oldest hit in the window leaves it.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {tonumber(oldest[2]) + window - now, 0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {-1, limit - count - 1, tonumber(first[2]) + window - now}
"""

# One failure: returns the lock-out in ms when this failure starts one, else 0.
_FAIL = """
local failures = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if failures >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  return tonumber(ARGV[2])
end
return 0
"""


class Limiter(Protocol):
    async def hit(self, key: str) -> Quota:
        """Count one hit of ``key``; ``RateLimited`` (with ``retry_after_s``) over the limit."""
        ...


class Lockout(Protocol):
    async def locked_for(self, key: str) -> int:
        """Seconds ``key`` stays locked; 0 when it is not locked."""
        ...

    async def fail(self, key: str) -> int:
        """Count a failure of ``key``; the seconds of the lock-out it starts, else 0."""
        ...


class LocalLimiter:
    """``core.ratelimit.RateLimiter`` behind the async ``Limiter`` interface."""

    def __init__(self, limit_per_min: int) -> None:
        self.limiter = RateLimiter(limit_per_min)

    async def hit(self, key: str) -> Quota:
        return self.limiter.hit(key)


class LocalLockout:
    """Consecutive failures per key in this process (at most ``max_keys`` keys, oldest dropped)."""

    def __init__(self, max_failures: int, lockout_s: int, *, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.max_keys = max_keys
        self._failures: dict[str, int] = {}
        self._locked: dict[str, float] = {}  # key -> monotonic end of the lock-out

    async def locked_for(self, key: str) -> int:
        until = self._locked.get(key)
        if until is None:
            return 0
        left = until - time.monotonic()
        if left <= 0:
            del self._locked[key]
            return 0
        return math.ceil(left)

    async def fail(self, key: str) -> int:
        failures = self._failures.pop(key, 0) + 1  # re-inserted last: the dict stays oldest-first
        if failures < self.max_failures:
            self._failures[key] = failures
            self._trim(self._failures)
            return 0
        self._locked[key] = time.monotonic() + self.lockout_s
        self._trim(self._locked)
        return self.lockout_s

    def _trim(self, counts: dict[str, Any]) -> None:
        while len(counts) > self.max_keys:
            del counts[next(iter(counts))]


def _redis_key(prefix: str, name: str, key: str) -> str:
    return f"{prefix}:limit:{name}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


class RedisLimiter:
    """A sliding-window limiter shared by every process using the same Redis and prefix."""

    def __init__(self, redis: Redis, prefix: str, name: str, limit_per_min: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.name = name
        self.limit = limit_per_min
        self.fallback = LocalLimiter(limit_per_min)
        self._script = redis.register_script(_HIT)

    async def hit(self, key: str) -> Quota:
        window_us = int(WINDOW_S * 1_000_000)
        try:
            wait_us, remaining, reset_us = (
                int(value)
                for value in await self._script(
                    keys=[_redis_key(self.prefix, self.name, key)],
                    args=[window_us, self.limit, secrets.token_hex(6)],
                )
            )
        except (RedisError, OSError) as exc:
            log.warning(
                "rate limit %s: Redis unreachable (%s); counting in-process", self.name, exc
            )
            return await self.fallback.hit(key)
        if wait_us >= 0:
            raise RateLimited(
                f"rate limit of {self.limit} requests per minute exceeded",
                retry_after_s=max(1, math.ceil(wait_us / 1_000_000)),
            )
        return Quota(self.limit, remaining, max(1, math.ceil(reset_us / 1_000_000)))


class RedisLockout:
    """Consecutive failures per key, shared by every process using the same Redis and prefix."""

    def __init__(
        self, redis: Redis, prefix: str, name: str, max_failures: int, lockout_s: int
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.name = name
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.fallback = LocalLockout(max_failures, lockout_s)
        self._script = redis.register_script(_FAIL)

    def _keys(self, key: str) -> list[str]:
        base = _redis_key(self.prefix, self.name, key)
        return [f"{base}:failures", f"{base}:locked"]

    async def locked_for(self, key: str) -> int:
        try:
            left_ms = int(await self.redis.pttl(self._keys(key)[1]))
        except (RedisError, OSError) as exc:
            log.warning("lock-out %s: Redis unreachable (%s); in-process", self.name, exc)
            return await self.fallback.locked_for(key)
        return math.ceil(left_ms / 1000) if left_ms > 0 else 0

    async def fail(self, key: str) -> int:
        try:
            locked_ms = await self._script(
                keys=self._keys(key),
                args=[self.max_failures, self.lockout_s * 1000, FAILURE_MEMORY_S],
            )
        except (RedisError, OSError) as exc:
            log.warning("lock-out %s: Redis unreachable (%s); in-process", self.name, exc)
            return await self.fallback.fail(key)
        return math.ceil(int(locked_ms) / 1000)


class Limits:
    """Makes the limiters and lock-outs of one installation; ``close`` ends its Redis client."""

    def __init__(self, redis_url: str | None = None, prefix: str = "gridpilot") -> None:
        self.prefix = prefix
        self.redis: Redis | None = None
        if redis_url:
            self.redis = Redis.from_url(
                redis_url,
                retry=Retry(NoBackoff(), 0),
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )

    @property
    def shared(self) -> bool:
        return self.redis is not None

    def limiter(self, name: str, limit_per_min: int) -> Limiter:
        if self.redis is None:
            return LocalLimiter(limit_per_min)
        return RedisLimiter(self.redis, self.prefix, name, limit_per_min)

    def lockout(self, name: str, max_failures: int, lockout_s: int) -> Lockout:
        if self.redis is None:
            return LocalLockout(max_failures, lockout_s)
        return RedisLockout(self.redis, self.prefix, name, max_failures, lockout_s)

    async def stop(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
