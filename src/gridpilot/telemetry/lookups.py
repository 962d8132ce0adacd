"""In-memory lookup caches of assets and metrics for ingestion.

Loaded once at start; misses fall back to the database (one query per distinct unknown
reference per batch); entries are evicted on the bus events ``asset.changed`` and
``metric.changed`` that the assets domain publishes. An asset's entry carries its plausibility
checks (role, rated capacity, mode and the factor), so a changed capacity or mode applies from
the next batch on: the event evicts the entry and the next batch looks the asset up again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import (
    AssetRef,
    MetricRef,
    asset_refs,
    find_asset_ref,
    find_metric_ref,
    metric_refs,
)
from gridpilot.telemetry.plausibility import plausibility
from gridpilot.telemetry.validation import AssetTarget, MetricTarget

log = logging.getLogger(__name__)

#: Seconds a reference the database did not know is not looked up again (unless an
#: ``asset.changed``/``metric.changed`` event arrives first).
UNKNOWN_TTL_S = 5.0
_MAX_UNKNOWN = 10_000


def _asset_target(ref: AssetRef, factor: float | None) -> AssetTarget:
    checks = plausibility(ref.role, ref.rated_capacity_kw, ref.plausibility, factor)
    return AssetTarget(id=ref.id, site_id=ref.site_id, source_id=ref.source_id, plausibility=checks)


def _metric_target(ref: MetricRef) -> MetricTarget:
    return MetricTarget.build(ref.id, ref.key, ref.unit, ref.min_value, ref.max_value)


def _lookup_form(ref: object) -> int | str | None:
    """The form ``find_asset_ref`` accepts, or None when ``ref`` cannot name an asset."""
    if ref.__class__ is int:
        return ref  # type: ignore[return-value,unused-ignore]
    if isinstance(ref, str) and 0 < len(ref) <= 64:
        return ref.strip() if ref.strip().isdigit() else ref
    return None


class Lookups:
    """Asset references (id, ``"id"``, sourceId) and metric keys -> validation targets."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], plausibility_factor: float | None = None
    ) -> None:
        self.sessions = sessions
        self.plausibility_factor = plausibility_factor  #: None or 0: no capacity check
        self.assets: dict[object, AssetTarget] = {}
        self.metrics: dict[object, MetricTarget] = {}
        self.metric_keys: dict[int, str] = {}
        self._unknown: dict[object, float] = {}  # reference -> monotonic expiry

    def _add_asset(self, target: AssetTarget, *extra_refs: object) -> None:
        self.assets[target.id] = target
        self.assets[str(target.id)] = target
        if target.source_id:
            self.assets[target.source_id] = target
        for ref in extra_refs:
            self.assets[ref] = target

    def _add_metric(self, target: MetricTarget) -> None:
        self.metrics[target.key] = target
        self.metric_keys[target.id] = target.key

    async def load(self) -> None:
        """(Re)load every asset and metric."""
        async with self.sessions() as session:
            assets = await asset_refs(session=session)
            metrics = await metric_refs(session=session)
        self.assets.clear()
        self.metrics.clear()
        self.metric_keys.clear()
        self._unknown.clear()
        for asset in assets:
            self._add_asset(_asset_target(asset, self.plausibility_factor))
        for metric in metrics:
            self._add_metric(_metric_target(metric))

    def recently_unknown(self, ref: object) -> bool:
        """True when ``ref`` was looked up in vain less than ``UNKNOWN_TTL_S`` ago."""
        expiry = self._unknown.get(ref)
        return expiry is not None and expiry > time.monotonic()

    def _remember_unknown(self, ref: object) -> None:
        if len(self._unknown) >= _MAX_UNKNOWN:
            self._unknown.clear()
        self._unknown[ref] = time.monotonic() + UNKNOWN_TTL_S

    async def resolve_missing(self, asset_refs_: Iterable[object], keys: Iterable[object]) -> None:
        """Look up references not in the cache yet (unknown ones stay absent)."""
        missing_assets = [r for r in asset_refs_ if _lookup_form(r) is not None]
        missing_assets = [r for r in missing_assets if r not in self.assets]
        missing_keys = [k for k in keys if isinstance(k, str) and k not in self.metrics]
        if not missing_assets and not missing_keys:
            return
        async with self.sessions() as session:
            for ref in missing_assets[:1000]:
                form = _lookup_form(ref)
                assert form is not None
                found = await find_asset_ref(session=session, ref=form)
                if found is not None:
                    self._add_asset(_asset_target(found, self.plausibility_factor), ref)
                else:
                    self._remember_unknown(ref)
            for key in missing_keys[:200]:
                if len(key) > 64:
                    continue
                metric = await find_metric_ref(session=session, key=key)
                if metric is not None:
                    self._add_metric(_metric_target(metric))
                else:
                    self._remember_unknown(key)

    def forget_asset(self, asset_id: int) -> None:
        for ref in [ref for ref, target in self.assets.items() if target.id == asset_id]:
            del self.assets[ref]

    def forget_metric(self, metric_id: int | None, key: str | None) -> None:
        if key is not None:
            self.metrics.pop(key, None)
        if metric_id is not None:
            old_key = self.metric_keys.pop(metric_id, None)
            if old_key is not None:
                self.metrics.pop(old_key, None)

    async def on_asset_changed(self, topic: str, payload: dict[str, Any]) -> None:
        self._unknown.clear()
        asset_id = payload.get("asset_id")
        if isinstance(asset_id, int):
            self.forget_asset(asset_id)
        else:
            self.assets.clear()

    async def on_metric_changed(self, topic: str, payload: dict[str, Any]) -> None:
        self._unknown.clear()
        metric_id = payload.get("metric_id")
        key = payload.get("key")
        self.forget_metric(
            metric_id if isinstance(metric_id, int) else None, key if isinstance(key, str) else None
        )
