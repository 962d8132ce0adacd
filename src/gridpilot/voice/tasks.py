"""The voice runtime: the answer cache of the process, the parser built, the correlation's
regression library imported and the app's routes prepared in the background at start-up (about
1.2 s, 0.5-4 s and 0.4-2 s of CPU: the first voice query, or the first correlation, does not wait
for them; ``core/warm_up.py``), and the daily retention of the interaction log
(``LOG_RETENTION_DAYS``, one process of several)."""

from __future__ import annotations

import asyncio
import datetime as dt
from importlib import import_module
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.periodic import Periodic
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.warm_up import prepare_routes
from gridpilot.db.schedules import claimed_periodic
from gridpilot.voice.cache import AnswerCache
from gridpilot.voice.registry import parser
from gridpilot.voice.service import prune_interactions

#: Interactions older than this many days are deleted [days].
LOG_RETENTION_DAYS = 90
RETENTION_INTERVAL_S = 86_400.0


async def prune_log(sessions: async_sessionmaker[AsyncSession], *, now: dt.datetime) -> int:
    """Delete the interactions older than ``LOG_RETENTION_DAYS`` before ``now``; how many."""
    async with sessions() as session, session.begin():
        before = now - dt.timedelta(days=LOG_RETENTION_DAYS)
        return await prune_interactions(session=session, before=before)


class VoiceRuntime:
    """Owns the answer cache (its Redis connection, if any), the parser warm-up and the
    retention job."""

    def __init__(self, cache: AnswerCache, warm_up: asyncio.Task[Any], retention: Periodic) -> None:
        self.cache = cache
        self.warm_up = warm_up
        self.retention = retention

    async def stop(self) -> None:
        await self.retention.stop()
        await self.cache.close()


def warm_up(app: Any = None) -> None:
    """Prepare ``app``'s routes for their first request (when given), build the parser, then
    import what ``analytics.baseline.fit_baseline`` imports on its first call (statsmodels'
    OLS, with scipy)."""
    if app is not None:
        prepare_routes(app)
    parser()
    import_module("statsmodels.regression.linear_model")


VOICE: Slot[VoiceRuntime] = Slot("voice")
#: The answer cache of the voice routes (made by ``start_voice``, or by the first question).
VOICE_CACHE: Slot[AnswerCache] = Slot("voice_cache")


async def start_voice(app: Any) -> VoiceRuntime:
    """Make the cache (its ``VOICE_CACHE`` slot), warm up in a thread (``warm_up``; the routes
    when ``warm_up_routes`` is on), start the retention job."""
    shared = runtime_of(app)
    sessions = shared.sessions
    routes = app if shared.settings.warm_up_routes else None
    cache = shared.put(VOICE_CACHE, AnswerCache(shared.settings.redis_url))

    async def job() -> None:
        await prune_log(sessions, now=dt.datetime.now(dt.UTC))

    retention = claimed_periodic(
        sessions, "voice-log-retention", RETENTION_INTERVAL_S, job, first_delay_s=60.0,
        claim_name="voice_log_retention",
    )  # fmt: skip
    retention.start()
    return VoiceRuntime(cache, asyncio.create_task(asyncio.to_thread(warm_up, routes)), retention)
