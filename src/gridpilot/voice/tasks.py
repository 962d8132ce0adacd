"""The voice runtime: the answer cache of the process, the parser built in the background at
start-up (about 1.5 s of CPU: the first voice query does not wait for it)."""

from __future__ import annotations

import asyncio
from typing import Any

from gridpilot.voice.cache import AnswerCache
from gridpilot.voice.registry import parser


class VoiceRuntime:
    """Owns the answer cache (its Redis connection, if any) and the parser warm-up."""

    def __init__(self, cache: AnswerCache, warm_up: asyncio.Task[Any]) -> None:
        self.cache = cache
        self.warm_up = warm_up

    async def stop(self) -> None:
        await self.cache.close()


async def start_voice(app: Any) -> VoiceRuntime:
    """Make the cache (``app.state.voice_cache``) and build the parser in a thread."""
    cache = AnswerCache(app.state.settings.redis_url)
    app.state.voice_cache = cache
    return VoiceRuntime(cache, asyncio.create_task(asyncio.to_thread(parser)))
