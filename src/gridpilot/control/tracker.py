"""Per-process tracking of each asset's last sign of life, from ``readings.stored`` events.

Cheap on the hot path: an event about an asset already known to be online only updates a dict.
An asset not known online costs one small transaction, which records the transition
(compare-and-set, see ``status.record_transition``), but only when that can change something:
on first sight, or when it is known offline and the data is fresh. Old data of an asset known
offline (a backfill) only moves its last-seen time, which ``flush`` saves. Last-seen times are
saved every ``status_check_interval_s`` (``flush``); the staleness check then turns assets
without a sign of life for ``factor x interval`` offline, in every process at most once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import asset_summaries
from gridpilot.control import status
from gridpilot.control.events import StatusChange, publish_status_changes
from gridpilot.core.bus import EventBus
from gridpilot.core.tasks import finish_then_cancel, reraise_if_stopping
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.queries import last_seen as data_last_seen

log = logging.getLogger(__name__)

MAX_TRACKED = 1_000_000


class StatusTracker:
    """Last-seen times and known statuses of assets, for one process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        policy: status.StatusPolicy,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.policy = policy
        self._last_seen: dict[int, int] = {}
        self._dirty: set[int] = set()
        self._known: dict[int, str] = {}  # asset -> status as last stored/announced
        self._assets: dict[int, tuple[int, float | None]] = {}  # asset -> (site, interval_s)
        self._lock = asyncio.Lock()
        self._pending: set[int] = set()
        self._wake = asyncio.Event()

    def last_seen(self, asset_id: int) -> int | None:
        """This process's newest sign of life of the asset (epoch ms), maybe not yet saved."""
        return self._last_seen.get(asset_id)

    async def on_readings_stored(self, topic: str, payload: dict[str, Any]) -> None:
        """Note the newest reading time per asset; record assets coming online."""
        now = now_ms()
        candidates: list[int] = []
        last_seen, known = self._last_seen, self._known
        for entry in payload.get("assets") or ():
            asset_id = entry.get("asset_id") if isinstance(entry, dict) else None
            if not isinstance(asset_id, int):
                continue
            newest = entry.get("newest_ts")
            if newest.__class__ is not int:
                newest = _newest_ts(entry.get("latest"))
                if newest is None:
                    continue
            seen = min(newest, now)
            if seen > last_seen.get(asset_id, -1):
                if len(last_seen) >= MAX_TRACKED:
                    last_seen.clear()  # bounded; the stored last-seen still holds
                last_seen[asset_id] = seen
                self._dirty.add(asset_id)
            state = known.get(asset_id)
            if state != status.ONLINE and not (
                state == status.OFFLINE and self._stale(asset_id, now)
            ):
                candidates.append(asset_id)
        if candidates:  # recorded by ``run`` so the publisher (the writer) never waits on us
            self._pending.update(candidates)
            self._wake.set()

    async def on_status(self, topic: str, payload: dict[str, Any]) -> None:
        """Keep the known status in step with changes any process announced."""
        asset_id, value = payload.get("asset_id"), payload.get("status")
        if isinstance(asset_id, int) and isinstance(value, str):
            self._known[asset_id] = value

    async def on_asset_changed(self, topic: str, payload: dict[str, Any]) -> None:
        asset_id = payload.get("asset_id")
        if isinstance(asset_id, int):
            self._assets.pop(asset_id, None)
            if payload.get("action") == "deleted":
                self._known.pop(asset_id, None)
                self._last_seen.pop(asset_id, None)
                self._dirty.discard(asset_id)

    def _stale(self, asset_id: int, now: int) -> bool:
        """Whether the asset's newest data noted here is too old to bring it online (False
        when its expected interval is not cached yet: then the transaction decides)."""
        info = self._assets.get(asset_id)
        if info is None:
            return False
        return now - self._last_seen.get(asset_id, -1) > self.policy.window_ms(info[1])

    async def _asset_info(self, asset_ids: Iterable[int]) -> dict[int, tuple[int, float | None]]:
        """(site id, expected interval [s]) of the assets, cached; every asset is (re)loaded
        through the assets service when one is missing (new assets are rare)."""
        if any(a not in self._assets for a in asset_ids):
            async with self.sessions() as session:
                summaries = await asset_summaries(session=session)
            self._assets = {s.id: (s.site_id, s.expected_interval_s) for s in summaries}
        return {a: self._assets[a] for a in asset_ids if a in self._assets}

    async def run(self) -> None:
        """Record the pending assets' status whenever readings of new candidates arrive."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await finish_then_cancel(self.process_pending())
            except Exception:
                reraise_if_stopping()
                log.exception("recording asset status failed; retrying")
                self._wake.set()
                await asyncio.sleep(1.0)

    async def process_pending(self) -> list[StatusChange]:
        """Record the status of the assets noted since the last call; the changes made."""
        if not self._pending:
            return []
        asset_ids, self._pending = sorted(self._pending), set()
        try:
            return await self._record_seen(asset_ids, now_ms())
        except BaseException:
            self._pending.update(asset_ids)
            raise

    async def _record_seen(self, asset_ids: list[int], now: int) -> list[StatusChange]:
        """Fresh data: offline/unknown -> online. Old data (a backfill) only creates the first
        status (offline, stale); it never turns an online asset offline."""
        info = await self._asset_info(asset_ids)
        changes: list[StatusChange] = []
        async with self.sessions() as session, session.begin():
            first = [a for a in info if a not in self._known]
            inserted = await self._insert_first(session, first, info, now)
            for first_change in inserted:
                self._known[first_change.asset_id] = first_change.status
                self._dirty.discard(first_change.asset_id)  # saved with the status
            changes.extend(inserted)
            done = {first_change.asset_id for first_change in inserted}
            for asset_id, (site_id, interval) in info.items():
                if asset_id in done:
                    continue
                seen = self._last_seen[asset_id]
                fresh = now - seen <= self.policy.window_ms(interval)
                current, change = await status.record_transition(
                    session=session,
                    asset_id=asset_id,
                    site_id=site_id,
                    status=status.ONLINE if fresh else status.OFFLINE,
                    reason=status.DATA if fresh else status.STALE,
                    at_ms=now,
                    last_seen_ms=seen,
                    from_states=(None, status.OFFLINE) if fresh else (None,),
                )
                self._known[asset_id] = current
                self._dirty.discard(asset_id)  # saved with the transition
                if change is not None:
                    changes.append(change)
        await publish_status_changes(self.bus, changes)
        return changes

    async def _insert_first(
        self,
        session: AsyncSession,
        asset_ids: list[int],
        info: dict[int, tuple[int, float | None]],
        now: int,
    ) -> list[StatusChange]:
        """The first status of assets without a stored one, in one statement; the changes.

        Assets that already have a stored status (seen by another process, or before a
        restart) are left alone here; ``record_transition`` handles them one by one."""
        if not asset_ids:
            return []
        candidates: list[StatusChange] = []
        for asset_id in asset_ids:
            site_id, interval = info[asset_id]
            seen = self._last_seen[asset_id]
            fresh = now - seen <= self.policy.window_ms(interval)
            state, reason = (
                (status.ONLINE, status.DATA) if fresh else (status.OFFLINE, status.STALE)
            )
            candidates.append(StatusChange(asset_id, site_id, state, None, reason, seen, now))
        return await status.insert_first(session=session, changes=candidates, at_ms=now)

    async def flush(self) -> None:
        """Save the last-seen times noted since the previous flush."""
        if not self._dirty:
            return
        batch = {a: self._last_seen[a] for a in self._dirty if a in self._last_seen}
        self._dirty = set()
        async with self.sessions() as session, session.begin():
            await status.save_last_seen(session=session, last_seen=batch)

    async def check_staleness(self, now: int | None = None) -> list[StatusChange]:
        """Turn online assets without a sign of life for their window offline (``stale``).

        The stored last-seen may lag other processes by one flush, so a candidate's newest
        stored reading (telemetry) is consulted before it is declared stale."""
        now = now_ms() if now is None else now
        async with self._lock:
            await self.flush()
            changes: list[StatusChange] = []
            async with self.sessions() as session, session.begin():
                candidates = await status.stale_candidates(
                    session=session, now_ms=now, policy=self.policy
                )
                if not candidates:
                    return []
                data = await data_last_seen(
                    session=session, asset_ids=[c.asset_id for c in candidates]
                )
                newer: dict[int, int] = {}
                for asset_id, site_id, stored_seen, window in candidates:
                    seen = data.get(asset_id)
                    threshold = now - round(window)
                    if seen is not None and min(seen, now) >= threshold:
                        if stored_seen is None or seen > stored_seen:
                            newer[asset_id] = min(seen, now)
                        continue
                    change = await status.mark_stale(
                        session=session,
                        asset_id=asset_id,
                        site_id=site_id,
                        before_ms=threshold,
                        at_ms=now,
                    )
                    if change is not None:
                        changes.append(change)
                await status.save_last_seen(session=session, last_seen=newer)
            for change in changes:
                self._known[change.asset_id] = change.status
            await publish_status_changes(self.bus, changes)
            return changes


def _newest_ts(latest: object) -> int | None:
    if not isinstance(latest, dict):
        return None
    stamps = [
        v["ts"]
        for v in latest.values()
        if isinstance(v, dict) and isinstance(v.get("ts"), int) and not isinstance(v["ts"], bool)
    ]
    return max(stamps) if stamps else None
