"""The current balance of every site, kept in memory so ``/current``, the fleet summary and the
dashboard answer without a query.

A site's power series (``balance.current.PowerSeries``) are loaded once, in one statement for
all the sites asked for, and then kept up to date from ``readings.stored``: each stored batch
carries the newest reading of every series it touched. With ``GRIDPILOT_REDIS_URL`` the bus is
Redis, so every process sees every batch and all agree. A site is read again from the database
when its copy is older than ``ttl_ms`` (``GRIDPILOT_BALANCE_REFRESH_S``, default 10 s, the
facility seed's refresh), which covers a missed event or a batch stored by a process on another
bus; ``asset.changed`` and ``metric.changed`` drop the copies, since roles, parents and sites
decide the terms. A copy older than ``ttl_ms`` but younger than ``STALE_FACTOR`` x ``ttl_ms`` is
still answered from (it follows the bus meanwhile) while it is read again in the background:
re-reading a thousand sites takes seconds, and no request should wait for that safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.balance.current import (
    CurrentBalance,
    CurrentInputs,
    PowerSeries,
    load_current_inputs,
    solve_current,
)
from gridpilot.balance.service import Node
from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.runtime import Slot
from gridpilot.core.timestamps import now_ms

#: How long a site's copy is trusted without a reload [ms].
DEFAULT_TTL_MS = 10_000
#: A copy up to this many ``ttl_ms`` old is answered from while it is re-read in the background.
STALE_FACTOR = 3

log = logging.getLogger(__name__)


@dataclass
class _SiteCopy:
    series: list[PowerSeries]
    terms: dict[Node, set[str]]
    loaded_ms: int
    version: int = 0  # the cache's change count when this site last changed


class CurrentBalanceCache:
    """Sites' power series in memory, updated from the bus, reloaded after ``ttl_ms``."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl_ms: int) -> None:
        self._sessions = sessions
        self.ttl_ms = ttl_ms
        self._sites: dict[int, _SiteCopy] = {}
        self._by_series: dict[tuple[int, str], PowerSeries] = {}
        # one entry per site, whatever max ages clients ask for (bounded memory): the site's
        # version, when solved [ms], the max age [ms], the balance; it is served while no
        # reading of the site arrives and no reading's freshness changes (``valid_until_ms``)
        self._solved: dict[int, tuple[int, int, int, CurrentBalance]] = {}
        self._changes = 0  # a counter of changes: a site's version is the last one it saw
        self._lock = asyncio.Lock()
        self.loads = 0  # reloads from the database, for tests and metrics
        self._unsubscribe: list[Callable[[], None]] = []
        self._reloading: asyncio.Task[None] | None = None

    async def balances(
        self, site_ids: Sequence[int], *, now_ms: int, max_age_ms: int
    ) -> dict[int, CurrentBalance]:
        """The current balance of each site of ``site_ids`` (scope checked by the caller)."""
        expired = [s for s in site_ids if self._expired(s, now_ms)]
        missing = [s for s in expired if self._expired(s, now_ms, STALE_FACTOR)]
        if len(missing) < len(expired):
            too_old = set(missing)
            self._reload_later([s for s in expired if s not in too_old], now_ms)
        if missing:
            async with self._lock:  # one reload at a time; others wait and then find it fresh
                again = [s for s in missing if self._expired(s, now_ms)]
                if again:
                    await self._load(again, now_ms)
        solved: dict[int, CurrentBalance] = {}
        todo = []
        for site_id in site_ids:
            memo = self._held(site_id, now_ms, max_age_ms)
            if memo is not None:
                solved[site_id] = memo
            else:
                todo.append(site_id)
        if todo:
            series: list[PowerSeries] = []
            terms: dict[Node, set[str]] = {}
            for site_id in todo:
                series.extend(self._sites[site_id].series)
                terms.update(self._sites[site_id].terms)
            fresh = solve_current(
                CurrentInputs(series, terms), site_ids=todo, now_ms=now_ms, max_age_ms=max_age_ms
            )
            for site_id, balance in fresh.items():
                self._solved[site_id] = (self._sites[site_id].version, now_ms, max_age_ms, balance)
            solved.update(fresh)
        return {site_id: solved[site_id] for site_id in site_ids}

    def _held(self, site_id: int, now_ms: int, max_age_ms: int) -> CurrentBalance | None:
        """The site's kept solution if it still holds at ``now_ms``: no reading of the site
        arrived since and no reading's freshness changed (``valid_until_ms``)."""
        memo = self._solved.get(site_id)
        if memo is None or memo[0] != self._sites[site_id].version or memo[2] != max_age_ms:
            return None
        until = memo[3].valid_until_ms
        if memo[1] <= now_ms and (until is None or now_ms < until):
            return memo[3]
        return None

    @property
    def solved_count(self) -> int:
        """Solutions kept (at most one per site asked for)."""
        return len(self._solved)

    def _expired(self, site_id: int, now_ms: int, ttls: int = 1) -> bool:
        copy = self._sites.get(site_id)
        return copy is None or now_ms - copy.loaded_ms >= self.ttl_ms * ttls

    def _reload_later(self, site_ids: list[int], now_ms: int) -> None:
        """Read ``site_ids`` again in a task of its own, unless a reload is running."""
        if self._reloading is not None and not self._reloading.done():
            return

        async def reload() -> None:
            try:
                async with self._lock:
                    again = [s for s in site_ids if self._expired(s, now_ms)]
                    if again:
                        await self._load(again, now_ms)
            except Exception:  # the copies stay; the next request tries again
                log.exception("re-reading the current balance of %d sites failed", len(site_ids))

        self._reloading = asyncio.create_task(reload())

    async def settle(self) -> None:
        """Wait for a background reload running now (tests)."""
        if self._reloading is not None:
            await asyncio.gather(self._reloading, return_exceptions=True)

    async def _load(self, site_ids: list[int], now_ms: int) -> None:
        async with self._sessions() as session:
            inputs = await load_current_inputs(session=session, site_ids=site_ids, now_ms=now_ms)
        self.loads += 1
        fresh = {site_id: _SiteCopy([], {}, now_ms) for site_id in site_ids}
        for node, possible in inputs.terms.items():
            fresh[node[0]].terms[node] = possible
        for row in inputs.series:
            fresh[row.site_id].series.append(row)
        for site_id, copy in fresh.items():
            old = self._sites.pop(site_id, None)
            for row in old.series if old else []:
                self._by_series.pop((row.asset_id, row.metric), None)
            if old is not None and old.series == copy.series and old.terms == copy.terms:
                copy.version = old.version  # nothing changed: its solution still holds
            else:
                self._changes += 1
                copy.version = self._changes
            self._sites[site_id] = copy
            for row in copy.series:
                self._by_series[(row.asset_id, row.metric)] = row

    async def on_stored(self, _topic: str, payload: dict[str, Any]) -> None:
        """Take the newest reading of every known series from a ``readings.stored`` batch
        (a reading stamped in the future waits, as in the database query, for the reload)."""
        now = now_ms()
        for entry in payload.get("assets", []):
            asset_id = entry.get("asset_id")
            for key, point in (entry.get("latest") or {}).items():
                row = self._by_series.get((asset_id, key))
                ts = int(point["ts"])
                if row is not None and (row.ts is None or ts > row.ts) and ts <= now:
                    row.ts, row.value = ts, float(point["value"])
                    self._changes += 1
                    self._sites[row.site_id].version = self._changes

    async def on_changed(self, _topic: str, _payload: dict[str, Any]) -> None:
        """Assets or metrics changed: forget every copy (reloaded when next asked for)."""
        self._sites.clear()
        self._by_series.clear()
        self._solved.clear()

    def start(self, bus: EventBus) -> CurrentBalanceCache:
        """Follow the bus (a runtime of ``api.app.start_runtime``)."""
        self._unsubscribe = [
            bus.subscribe(catalogue.READINGS_STORED.name, self.on_stored),
            bus.subscribe(catalogue.ASSET_CHANGED.name, self.on_changed),
            bus.subscribe(catalogue.METRIC_CHANGED.name, self.on_changed),
        ]
        return self

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._reloading is not None:
            self._reloading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reloading


#: The app's current balance of every site (``core/runtime.py``).
BALANCE: Slot[CurrentBalanceCache] = Slot("balance")
