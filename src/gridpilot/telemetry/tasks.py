"""Background work of the telemetry domain: the batched writer, rollups and retention.

``TelemetryRuntime`` is built by the app's lifespan (and by the CLI import) and owns, for one
process: the lookup caches of assets and metrics, the ``ReadingWriter``, the rollup loop
(every ``settings.rollup_interval_s``) and the retention loop (every
``settings.retention_interval_s``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridpilot.auth.permissions import Principal
from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.metrics import Metrics
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_all, finish_then_cancel, reraise_if_stopping
from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.lookups import Lookups
from gridpilot.telemetry.reading_store import make_store
from gridpilot.telemetry.retention import RetentionReport, apply_retention, delete_asset_telemetry
from gridpilot.telemetry.rollups import refresh_pending
from gridpilot.telemetry.validation import (
    HIDDEN,
    AssetTarget,
    Limits,
    Rejection,
    Rows,
    validate_readings,
)
from gridpilot.telemetry.writer import ReadingWriter

log = logging.getLogger(__name__)

#: More distinct unknown asset references than this in one batch reload the whole cache.
_RELOAD_THRESHOLD = 20
_MIN_RELOAD_INTERVAL_S = 1.0
_FIRST_RETENTION_DELAY_S = 30.0


def write_check(principal: Principal) -> Callable[[AssetTarget], str | None] | None:
    """``can_write`` for validation: None when ``principal`` may write every asset."""
    if principal.site_ids is None and principal.asset_ids is None:
        return None
    own = principal.asset_ids

    def check(asset: AssetTarget) -> str | None:
        if not principal.can_see_site(asset.site_id):
            return HIDDEN
        if own is not None and asset.id not in own:
            listed = ", ".join(str(a) for a in sorted(own))
            return f"this key may only write data of its own asset ({listed})"
        return None

    return check


def _hashable_refs(items: Sequence[Any], field: str) -> set[object]:
    try:
        return {item.get(field) for item in items if item.__class__ is dict}
    except TypeError:  # an unhashable reference (a list...): skip those
        refs: set[object] = set()
        for item in items:
            if item.__class__ is dict:
                ref = item.get(field)
                if ref.__hash__ is not None:
                    refs.add(ref)
        return refs


class TelemetryRuntime:
    """Owns the writer, the lookup caches and the periodic rollup/retention loops."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        bus: EventBus,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.engine = engine
        self.bus = bus
        self.metrics = metrics
        self.lookups = Lookups(sessions, settings.plausibility_factor)
        # PostgreSQL: a second batch may be written while one commits, when a full batch waits
        stores = [
            make_store(engine) for _ in range(2 if engine.dialect.name == "postgresql" else 1)
        ]
        self.writer = ReadingWriter(
            stores,
            batch_size=settings.writer_batch_size,
            max_queue=settings.writer_max_queue,
            bus=bus,
            metrics=metrics,
            metric_keys=self.lookups.metric_keys,
            asset_sites=self.asset_site,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._rollup_lock = asyncio.Lock()
        self._resolve_lock = asyncio.Lock()
        self._last_reload = 0.0

    def asset_site(self, asset_id: int) -> int | None:
        """The site of ``asset_id`` from the lookup cache (None when not cached)."""
        target = self.lookups.assets.get(asset_id)
        return target.site_id if target is not None else None

    async def start(self, *, loops: bool = True) -> None:
        """Load the caches, start the writer and (``loops``) the rollup and retention loops."""
        await self.lookups.load()
        self._last_reload = time.monotonic()
        self.writer.start()
        self._unsubscribe = [
            self.bus.subscribe(catalogue.ASSET_CHANGED.name, self.on_asset_changed),
            self.bus.subscribe(catalogue.METRIC_CHANGED.name, self.lookups.on_metric_changed),
        ]
        if loops:
            self._tasks = [
                asyncio.create_task(self._rollup_loop(), name="gridpilot-rollups"),
                asyncio.create_task(self._retention_loop(), name="gridpilot-retention"),
            ]

    async def stop(self) -> None:
        """Stop the loops, then write everything queued and stop the writer."""
        tasks, self._tasks = self._tasks, []
        await cancel_all(tasks)  # a refresh in progress ends first (bounded)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self.writer.stop()

    async def flush(self) -> None:
        """Wait until everything queued is stored and the pending rollups are refreshed."""
        await self.writer.drain()
        await self.refresh_rollups()

    async def refresh_rollups(self) -> int:
        """Recompute the rollups of every pending range; returns how many series were done."""
        async with self._rollup_lock:
            return await refresh_pending(sessions=self.sessions, settings=self.settings)

    async def apply_retention(self) -> RetentionReport:
        try:
            return await apply_retention(sessions=self.sessions, settings=self.settings)
        finally:
            self.writer.forget_partitions()

    async def on_asset_changed(self, topic: str, payload: dict[str, Any]) -> None:
        """Evict the asset from the caches; when it was deleted, delete its telemetry too."""
        await self.lookups.on_asset_changed(topic, payload)
        asset_id = payload.get("asset_id")
        if payload.get("action") == "deleted" and isinstance(asset_id, int):
            await self.writer.drain()  # readings queued before the delete land first
            async with self._rollup_lock, self.sessions() as session, session.begin():
                removed = await delete_asset_telemetry(session=session, asset_id=asset_id)
            log.info("deleted %d telemetry rows of deleted asset %d", removed, asset_id)

    async def validate(
        self,
        raw: Sequence[Any],
        principal: Principal,
        *,
        index_offset: int = 0,
        flagged: list[Rejection] | None = None,
    ) -> tuple[Rows, int, list[Rejection]]:
        """Validate ``raw`` for ``principal``: (rows, accepted count, rejections); implausible
        readings stored anyway (assets in ``flag`` mode) are appended to ``flagged``.

        References missing from the caches are looked up only when something was rejected
        (then the batch is validated again): the common all-valid batch pays for one pass.
        """
        warnings: list[Rejection] = []
        result = self._validate(raw, principal, index_offset, warnings)
        if result[2] and await self._resolve_missing(raw):
            warnings.clear()
            result = self._validate(raw, principal, index_offset, warnings)
        if flagged is not None:
            flagged += warnings
        return result

    def _validate(
        self, raw: Sequence[Any], principal: Principal, index_offset: int, flagged: list[Rejection]
    ) -> tuple[Rows, int, list[Rejection]]:
        settings = self.settings
        return validate_readings(
            raw,
            assets=self.lookups.assets,
            metrics=self.lookups.metrics,
            can_write=write_check(principal),
            limits=Limits(now_ms(), settings.max_future_s, settings.retention_raw_days),
            index_offset=index_offset,
            flagged=flagged,
        )

    async def _resolve_missing(self, raw: Sequence[Any]) -> bool:
        """Look up the references of ``raw`` the caches lack; False when none were missing."""
        lookups = self.lookups
        missing_assets, missing_keys = self._missing(raw)
        if not missing_assets and not missing_keys:
            return False
        async with self._resolve_lock:  # concurrent batches wait for one look-up, not repeat it
            missing_assets, missing_keys = self._missing(raw)
            if len(missing_assets) > _RELOAD_THRESHOLD and (
                time.monotonic() - self._last_reload >= _MIN_RELOAD_INTERVAL_S
            ):
                self._last_reload = time.monotonic()
                await lookups.load()
                missing_assets, missing_keys = self._missing(raw)
            if missing_assets or missing_keys:
                await lookups.resolve_missing(missing_assets, missing_keys)
        return True

    def _missing(self, raw: Sequence[Any]) -> tuple[set[object], set[object]]:
        """Asset references and metric keys of ``raw`` that are not in the caches."""
        missing_assets = _hashable_refs(raw, "asset") - self.lookups.assets.keys()
        missing_assets.discard(None)
        missing_keys = _hashable_refs(raw, "metric") - self.lookups.metrics.keys()
        missing_keys.discard(None)
        if missing_assets or missing_keys:
            recent = self.lookups.recently_unknown
            missing_assets = {ref for ref in missing_assets if not recent(ref)}
            missing_keys = {key for key in missing_keys if not recent(key)}
        return missing_assets, missing_keys

    async def _rollup_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.rollup_interval_s)
            try:
                await finish_then_cancel(self.refresh_rollups())
            except Exception:
                reraise_if_stopping()
                log.exception("rollup refresh failed")

    async def _retention_loop(self) -> None:
        interval = self.settings.retention_interval_s
        await asyncio.sleep(min(interval, _FIRST_RETENTION_DELAY_S))
        while True:
            try:
                await finish_then_cancel(self.apply_retention())
            except Exception:
                reraise_if_stopping()
                log.exception("retention failed")
            await asyncio.sleep(interval)


#: This process's telemetry runtime on the app's runtime (``core/runtime.py``).
TELEMETRY: Slot[TelemetryRuntime] = Slot("telemetry")
