"""The recent balance of a set of sites (since local midnight, and the last 24 h), computed once
and shared for ``ttl_ms``: the fleet summary and the overview ask for it on every page view,
and one balance statement over a thousand sites' day takes seconds.

An entry is keyed by the sorted site ids (the same user sees the same sites) and the power hold;
it is reused while younger than ``ttl_ms`` (default 60 s) and while it reaches back far enough.
An entry older than ``ttl_ms`` but younger than ``max_stale_ms`` (default 5 min) is still
served at once while the next one is computed in the background (one task per set): a thousand
sites' day takes seconds, and no page view should wait for it once the set has been computed.
Requests without a usable entry wait for one computation (single flight). At most
``max_entries`` sets are kept (least recently used dropped), so memory stays bounded.

Figures derived from a served balance (a site's part since local midnight, its revenue) are
kept beside it (``derived``/``keep``), one per key: they are computed once per computed
balance instead of on every page view.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.core.runtime import Slot
from gridpilot.telemetry.rollups import STEPS_MS, floor_to

#: How long a computed recent balance is served [ms].
DEFAULT_TTL_MS = 60_000
#: How old an entry may still be served while its successor is computed [ms].
DEFAULT_MAX_STALE_MS = 300_000
#: How far back every entry reaches at least [ms]: the overview's 24 h chart.
MIN_HISTORY_MS = 24 * 3_600_000
QUARTER_MS = STEPS_MS["15m"]

Key = tuple[tuple[int, ...], int]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    computed_ms: int
    start_ms: int
    balances: dict[int, SiteBalance]


class RecentBalances:
    """Memoised ``site_balances`` of the recent past, per set of sites (15-min intervals)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl_ms: int = DEFAULT_TTL_MS,
        max_entries: int = 64,
        max_stale_ms: int = DEFAULT_MAX_STALE_MS,
    ) -> None:
        self._sessions = sessions
        self.ttl_ms = ttl_ms
        self.max_stale_ms = max(max_stale_ms, ttl_ms)
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._locks: dict[Key, asyncio.Lock] = {}
        self._refreshing: dict[Key, asyncio.Task[None]] = {}
        self.computations = 0  # for tests and metrics
        # key -> (the balance it was derived from, the caller's stamp, the value)
        self._derived: dict[Hashable, tuple[SiteBalance, Hashable, Any]] = {}

    async def get(
        self, site_ids: Sequence[int], *, start_ms: int, now_ms: int, max_gap_s: int
    ) -> dict[int, SiteBalance]:
        """The balance of ``site_ids`` from at most ``start_ms`` up to (at most ``ttl_ms``
        before) ``now_ms``, on 15-min intervals."""
        key: Key = (tuple(sorted(set(site_ids))), max_gap_s)
        entry = self._fresh(key, start_ms, now_ms, self.max_stale_ms)
        if entry is not None and now_ms - entry.computed_ms >= self.ttl_ms:
            self._refresh_later(key, start_ms, now_ms)  # served stale meanwhile
        if entry is None:
            async with self._locks.setdefault(key, asyncio.Lock()):
                entry = self._fresh(key, start_ms, now_ms, self.ttl_ms)
                if entry is None:
                    entry = await self._compute(key, start_ms, now_ms)
        return {site_id: entry.balances[site_id] for site_id in site_ids}

    def derived(self, key: Hashable, source: SiteBalance, stamp: Hashable) -> Any | None:
        """The value kept under ``key`` if it was derived from this very ``source`` (a balance
        this object served) with an equal ``stamp`` (the caller's other inputs); else None."""
        held = self._derived.get(key)
        if held is not None and held[0] is source and held[1] == stamp:
            return held[2]
        return None

    def keep(self, key: Hashable, source: SiteBalance, stamp: Hashable, value: Any) -> None:
        """Keep ``value``, derived from ``source`` and ``stamp``, under ``key`` (one per key)."""
        self._derived[key] = (source, stamp, value)

    def _fresh(self, key: Key, start_ms: int, now_ms: int, max_age_ms: int) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or now_ms - entry.computed_ms >= max_age_ms:
            return None
        if entry.start_ms > start_ms:
            return None
        self._entries.move_to_end(key)
        return entry

    def _refresh_later(self, key: Key, start_ms: int, now_ms: int) -> None:
        """Compute ``key`` again in a task of its own, unless one is running."""
        if key in self._refreshing:
            return

        async def refresh() -> None:
            try:
                async with self._locks.setdefault(key, asyncio.Lock()):
                    if self._fresh(key, start_ms, now_ms, self.ttl_ms) is None:
                        await self._compute(key, start_ms, now_ms)
            except Exception:  # the stale entry stays; the next request tries again
                log.exception("refreshing the recent balance of %d sites failed", len(key[0]))
            finally:
                self._refreshing.pop(key, None)

        self._refreshing[key] = asyncio.create_task(refresh())

    async def settle(self) -> None:
        """Wait for the background computations running now (tests, shutdown)."""
        while self._refreshing:
            await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel the background computations (a runtime of ``api.app``)."""
        for task in list(self._refreshing.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _compute(self, key: Key, start_ms: int, now_ms: int) -> _Entry:
        start = floor_to(min(start_ms, now_ms - MIN_HISTORY_MS), QUARTER_MS)
        async with self._sessions() as session:
            balances = await site_balances(
                session=session,
                site_ids=list(key[0]),
                start_ms=start,
                end_ms=now_ms + 1,
                interval="15m",
                now_ms=now_ms,
                max_gap_s=key[1],
            )
        self.computations += 1
        entry = _Entry(now_ms, start, balances)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            old, _ = self._entries.popitem(last=False)
            self._locks.pop(old, None)
        return entry


#: The app's shared recent balances (``core/runtime.py``).
RECENT_BALANCES: Slot[RecentBalances] = Slot("recent_balances")
