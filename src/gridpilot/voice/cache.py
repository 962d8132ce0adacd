"""A short-lived cache of spoken answers: Redis when ``GRIDPILOT_REDIS_URL`` is set (shared by
every process), else one process's memory.

The key holds the caller's subject and scope, the language, the intent and its slots, so two
users never share an answer (RBAC) and an answer is reused only for the same question. Answers
live ``TTL_S`` seconds: long enough for the repeats of a voice assistant ("say that again"),
short enough that a figure "now" is not stale.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from typing import Any

from gridpilot.auth.permissions import Principal
from gridpilot.voice.scope import Answer

#: Lifetime of a cached answer [s].
TTL_S = 30.0
#: Most answers kept in memory (oldest dropped first).
MAX_ENTRIES = 2048
PREFIX = "gridpilot:voice:"


def cache_key(principal: Principal, lang: str, intent: str, slots: dict[str, Any]) -> str:
    """A key unique to the caller, its scope and the question."""
    scope = [
        principal.subject,
        principal.role.value,
        sorted(principal.site_ids) if principal.site_ids is not None else None,
        sorted(principal.asset_ids) if principal.asset_ids is not None else None,
        lang,
        intent,
        sorted(slots.items()),
    ]
    digest = hashlib.sha256(json.dumps(scope, default=str).encode()).hexdigest()
    return PREFIX + digest


class AnswerCache:
    """Answers by key for ``ttl_s`` seconds, in Redis (``redis_url``) or in memory."""

    def __init__(self, redis_url: str | None = None, *, ttl_s: float = TTL_S) -> None:
        self.ttl_s = ttl_s
        self._memory: dict[str, tuple[float, Answer]] = {}
        self._redis: Any = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url)

    async def get(self, key: str) -> Answer | None:
        if self._redis is not None:
            raw = await self._redis.get(key)
            return Answer(**json.loads(raw)) if raw is not None else None
        found = self._memory.get(key)
        if found is None or found[0] < time.monotonic():
            self._memory.pop(key, None)
            return None
        return found[1]

    async def put(self, key: str, answer: Answer) -> None:
        if self._redis is not None:
            await self._redis.set(key, json.dumps(asdict(answer)), px=int(self.ttl_s * 1000))
            return
        if len(self._memory) >= MAX_ENTRIES:
            now = time.monotonic()
            self._memory = {k: v for k, v in self._memory.items() if v[0] >= now}
            while len(self._memory) >= MAX_ENTRIES:
                self._memory.pop(next(iter(self._memory)))
        self._memory[key] = (time.monotonic() + self.ttl_s, answer)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
