"""In-process sliding-window rate limiter (per client key, per minute)."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import NamedTuple

from gridpilot.core.errors import RateLimited

WINDOW_S = 60.0


class Quota(NamedTuple):
    """What is left of a key's window after an allowed hit (the ``RateLimit-*`` headers)."""

    limit: int
    #: Hits still allowed in the current window.
    remaining: int
    #: Seconds until the oldest hit in the window leaves it (one more hit is allowed) [s].
    reset_s: int


class RateLimiter:
    """Allow at most ``limit_per_min`` hits per key in any 60 s window."""

    def __init__(self, limit_per_min: int, *, max_keys: int = 100_000) -> None:
        self.limit = limit_per_min
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, *, now: float | None = None) -> Quota:
        """Record one request of ``key``; raise ``RateLimited`` when over the limit."""
        now = time.monotonic() if now is None else now
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._evict(now)
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= WINDOW_S:
            hits.popleft()
        if len(hits) >= self.limit:
            retry = max(1, math.ceil(WINDOW_S - (now - hits[0])))
            raise RateLimited(
                f"rate limit of {self.limit} requests per minute exceeded", retry_after_s=retry
            )
        hits.append(now)
        reset = max(1, math.ceil(WINDOW_S - (now - hits[0])))
        return Quota(self.limit, self.limit - len(hits), reset)

    def _evict(self, now: float) -> None:
        stale = [k for k, h in self._hits.items() if not h or now - h[-1] >= WINDOW_S]
        for key in stale:
            del self._hits[key]
        if len(self._hits) >= self.max_keys:  # still full: drop the oldest half
            for key in list(self._hits)[: self.max_keys // 2]:
                del self._hits[key]
