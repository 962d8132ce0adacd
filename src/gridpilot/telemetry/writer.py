"""The batched writer: group commit of validated readings from many concurrent producers.

Producers call ``await writer.write(rows)``; it returns once the rows are committed (so a
"stored" answer is true) or raises ``Unavailable``. One flusher task drains the queue in
batches of up to ``batch_size`` readings (whole chunks; a bigger chunk is one batch), without
artificial delay: while one batch is written the next one gathers. With several stores
(connections), up to that many batches are written at once, but a further batch starts
only when a full ``batch_size`` waits (fewer, bigger COPYs are cheaper for the database); a
batch that shares a reading key with one in flight waits for it, so the last write still
wins. When more than ``max_queue`` readings wait, producers wait too (bounded memory). After
each commit the writer publishes ``readings.stored`` on the bus:
``{"count": N, "assets": [{"asset_id", "site_id", "count", "newest_ts", "latest": {key: {"ts",
"value"}}}]}`` (``ts`` and ``newest_ts``, the newest of the asset's ``latest``, in epoch ms;
values in the metric's canonical unit; ``site_id`` from ``asset_sites``, None when the asset is
not known there, left out when the writer has no ``asset_sites``). Subscribers get this digest
once per batch (one entry per asset, not per reading), so each can do work proportional to the
assets and metrics it cares about.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import Unavailable
from gridpilot.core.metrics import Metrics
from gridpilot.telemetry.reading_store import ReadingStore, SeriesStat
from gridpilot.telemetry.validation import Rows

log = logging.getLogger(__name__)

READINGS_STORED = catalogue.READINGS_STORED.name


@dataclass(slots=True)
class _Chunk:
    rows: Rows
    future: asyncio.Future[None]


def stored_event(
    stats: list[SeriesStat],
    metric_keys: Mapping[int, str],
    asset_sites: Callable[[int], int | None] | None = None,
) -> dict[str, Any]:
    """The ``readings.stored`` payload for one committed batch (one pass over its series)."""
    per_asset: dict[int, dict[str, Any]] = {}
    total = 0
    for stat in stats:
        asset_id, last_ts = stat.asset_id, stat.last_ts
        entry = per_asset.get(asset_id)
        if entry is None:
            entry = per_asset[asset_id] = {
                "asset_id": asset_id,
                "count": 0,
                "newest_ts": last_ts,
                "latest": {},
            }
            if asset_sites is not None:
                entry["site_id"] = asset_sites(asset_id)
        elif last_ts > entry["newest_ts"]:
            entry["newest_ts"] = last_ts
        entry["count"] += stat.count
        key = metric_keys.get(stat.metric_id) or str(stat.metric_id)
        entry["latest"][key] = {"ts": last_ts, "value": stat.last_value}
        total += stat.count
    return {"count": total, "assets": list(per_asset.values())}


class ReadingWriter:
    """Queue + one flusher task writing through a ``ReadingStore``."""

    def __init__(
        self,
        stores: ReadingStore | Sequence[ReadingStore],
        *,
        batch_size: int,
        max_queue: int,
        bus: EventBus | None = None,
        metrics: Metrics | None = None,
        metric_keys: Mapping[int, str] | None = None,
        asset_sites: Callable[[int], int | None] | None = None,
    ) -> None:
        self.stores: list[ReadingStore] = (
            list(stores) if isinstance(stores, list | tuple) else [stores]  # type: ignore[list-item]
        )
        self.batch_size = batch_size
        self.max_queue = max_queue
        self.bus = bus
        self.metrics = metrics
        self.metric_keys: Mapping[int, str] = metric_keys if metric_keys is not None else {}
        self.asset_sites = asset_sites
        self._queue: deque[_Chunk] = deque()
        self._queued_rows = 0
        self._free: list[ReadingStore] = list(self.stores)
        self._inflight: dict[asyncio.Task[None], tuple[list[_Chunk], Rows]] = {}
        self._wakeup = asyncio.Event()  # set when rows are queued or a store frees up
        self._space = asyncio.Event()
        self._space.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def queued(self) -> int:
        """Readings waiting to be written (not counting the batch being written)."""
        return self._queued_rows

    def start(self) -> None:
        if self._task is None:
            self._closed = False
            self._task = asyncio.create_task(self._run(), name="gridpilot-reading-writer")

    async def write(self, rows: Rows) -> None:
        """Queue ``rows`` and wait until they are committed; ``Unavailable`` when they are not."""
        if not rows:
            return
        if self._closed or self._task is None:
            raise Unavailable("storage unavailable: the writer is not running")
        size = len(rows)
        while self._queued_rows and self._queued_rows + size > self.max_queue:
            self._space.clear()
            await self._space.wait()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Chunk(rows, future))
        self._queued_rows += size
        self._set_depth()
        self._wakeup.set()
        await future

    async def drain(self) -> None:
        """Wait until everything queued so far is written (or failed)."""
        futures = [chunk.future for chunk in self._queue]
        for batch, _rows in self._inflight.values():
            futures.extend(chunk.future for chunk in batch)
        if futures:
            await asyncio.wait(futures)

    async def stop(self) -> None:
        """Write what is queued, then stop the flusher and close the store."""
        self._closed = True
        await self.drain()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._inflight:
            await asyncio.wait(list(self._inflight))
        _fail(list(self._queue), "storage unavailable: shutting down")
        self._queue.clear()
        self._queued_rows = 0
        self._set_depth()
        for store in self.stores:
            await store.close()

    def forget_partitions(self) -> None:
        """Tell the store that partitions were dropped (retention)."""
        for store in self.stores:
            forget = getattr(store, "forget_partitions", None)
            if forget is not None:
                forget()

    def _set_depth(self) -> None:
        if self.metrics is not None:
            self.metrics.writer_queue_depth.set(self._queued_rows)

    def _take_batch(self) -> list[_Chunk]:
        batch: list[_Chunk] = []
        size = 0
        queue = self._queue
        while queue and (not size or size + len(queue[0].rows) <= self.batch_size):
            chunk = queue.popleft()
            batch.append(chunk)
            size += len(chunk.rows)
        self._queued_rows -= size
        self._set_depth()
        if self._queued_rows < self.max_queue:
            self._space.set()
        return batch

    async def _run(self) -> None:
        while True:
            if not self._queue or not self._free or self._hold_back():
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take_batch()
            rows = _merge(batch)
            overlapping = [
                task
                for task, (_, other) in self._inflight.items()
                if not rows.keys().isdisjoint(other.keys())
            ]
            store = self._free.pop()
            task = asyncio.create_task(self._write_batch(store, batch, rows, overlapping))
            self._inflight[task] = (batch, rows)
            task.add_done_callback(self._batch_done)

    def _hold_back(self) -> bool:
        """Whether to let the queue grow instead of starting a batch on another store now.

        While a batch is being written, a further one starts only when a full batch waits:
        one COPY of N rows costs the database much less than several smaller ones, and on a
        small machine the database's CPU, not the connection, is the limit.
        """
        return bool(self._inflight) and self._queued_rows < self.batch_size

    def _batch_done(self, task: asyncio.Task[None]) -> None:
        if self._inflight.pop(task, None) is not None:  # cancelled before its ``finally``
            self._wakeup.set()

    async def _write_batch(
        self,
        store: ReadingStore,
        batch: list[_Chunk],
        rows: Rows,
        after: list[asyncio.Task[None]],
    ) -> None:
        try:
            if after:  # same readings in an earlier batch: it must commit first
                await asyncio.wait(after)
            started = time.perf_counter()
            try:
                stats = await store.write(rows)
            except Exception as exc:
                log.error("writing %d readings failed: %s", len(rows), exc)
                _fail(batch, "storage unavailable: the readings were not stored, retry later")
                return
            if self.metrics is not None:
                self.metrics.writer_batch_seconds.observe(time.perf_counter() - started)
                self.metrics.writer_batch_rows.observe(len(rows))
            for chunk in batch:
                if not chunk.future.done():
                    chunk.future.set_result(None)
            if self.bus is not None and stats:
                event = stored_event(stats, self.metric_keys, self.asset_sites)
                await self.bus.publish(READINGS_STORED, event)
        except Exception:  # never leave a producer waiting
            log.exception("reading writer failed unexpectedly")
            _fail(batch, "storage unavailable: internal writer error")
        finally:
            # done here, not in the done callback: the flusher may start the next batch at once
            self._inflight.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            self._free.append(store)
            self._wakeup.set()


def _merge(batch: list[_Chunk]) -> Rows:
    if len(batch) == 1:
        return batch[0].rows
    rows = dict(batch[0].rows)
    for chunk in batch[1:]:
        rows.update(chunk.rows)  # later chunks were sent later: last write wins
    return rows


def _fail(batch: list[_Chunk], message: str) -> None:
    for chunk in batch:
        if not chunk.future.done():
            chunk.future.set_exception(Unavailable(message))
