"""Validation and unit normalisation of raw readings (pure: no I/O, no clock).

The hot path of ingestion. One tight loop turns raw mappings
``{"asset", "metric", "ts", "value", "unit"}`` into deduplicated rows
``{(asset_id, metric_id, ts_ms): value_in_canonical_unit}`` (last duplicate wins) plus one
``Rejection(index, reason)`` per reading that cannot be stored. Power readings are also
checked against their asset (``telemetry.plausibility``): refused with a ``code``, or stored and
reported in ``flagged`` when the asset's mode is ``flag``.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, to_ms
from gridpilot.core.units import conversion
from gridpilot.telemetry.plausibility import POWER_UNIT, Plausibility
from gridpilot.telemetry.rejection_reasons import shown as shown
from gridpilot.telemetry.rejection_reasons import time_reason, value_reason

log = logging.getLogger(__name__)

#: (asset_id, metric_id, ts_ms) -> value in the metric's canonical unit.
RowKey = tuple[int, int, int]
Rows = dict[RowKey, float]

_INF = math.inf
_SECONDS_CUTOFF = _CUT = 10_000_000_000  # same rule as core.timestamps.to_ms
_FLOAT_MAX = sys.float_info.max
_fromisoformat = datetime.fromisoformat
_isfinite = math.isfinite

#: ``can_write`` answer for an asset the caller may not even know about (reported as unknown).
HIDDEN = "unknown asset"
#: The start of the reason of a reading rejected because validating it failed unexpectedly.
INTERNAL_ERROR = "reading could not be validated"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A reading that was not stored (or, in ``flagged``, stored with a warning): its position
    in the batch, why, and for the plausibility checks a stable ``code``."""

    index: int
    reason: str
    code: str | None = None

    @property
    def described(self) -> str:
        """The reason, with the code (if any) in brackets: for answers that carry text only."""
        return self.reason if self.code is None else f"{self.reason} [{self.code}]"


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Placeholder for an item that could not be decoded (e.g. a bad NDJSON line)."""

    reason: str


@dataclass(frozen=True, slots=True)
class AssetTarget:
    """What validation needs to know about an asset."""

    id: int
    site_id: int
    source_id: str | None = None
    plausibility: Plausibility | None = None


@dataclass(slots=True)
class MetricTarget:
    """A catalogue metric prepared for validation (range bounds, cached unit conversions)."""

    id: int
    key: str
    unit: str
    min_value: float = -_INF
    max_value: float = _INF
    #: unit -> (factor, offset), or the rejection reason for an incompatible unit.
    conversions: dict[str, tuple[float, float] | str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, id: int, key: str, unit: str, min_value: float | None, max_value: float | None
    ) -> MetricTarget:
        return cls(
            id=id,
            key=key,
            unit=unit,
            min_value=-_INF if min_value is None else float(min_value),
            max_value=_INF if max_value is None else float(max_value),
        )

    def conversion_for(self, unit: object) -> tuple[float, float] | str:
        """(factor, offset) into the canonical unit, or a rejection reason."""
        if not isinstance(unit, str):
            return f"unit must be a string, got {type(unit).__name__}"
        found = self.conversions.get(unit)
        if found is None:
            try:
                found = conversion(unit, self.unit)
            except ValidationFailed:
                found = f"unit {shown(unit)} is not compatible with {self.key} (unit {self.unit})"
            if len(self.conversions) < 64:
                self.conversions[unit] = found
        return found


@dataclass(frozen=True, slots=True)
class Limits:
    """Time window a reading's timestamp must fall in, in epoch ms."""

    now_ms: int
    max_future_s: int
    raw_retention_days: int | None

    @property
    def newest_ms(self) -> int:
        return self.now_ms + self.max_future_s * 1000

    @property
    def oldest_ms(self) -> int | None:
        if self.raw_retention_days is None:
            return None
        return self.now_ms - self.raw_retention_days * MS_PER_DAY


def parse_ts(value: Any) -> int:
    """Epoch ms from ISO-8601 or epoch s/ms (fast path for ints and ISO strings)."""
    if value.__class__ is int:
        ms: int = value if abs(value) >= _SECONDS_CUTOFF else value * 1000
        return ms
    if value.__class__ is str:
        try:
            dt = _fromisoformat(value)
        except ValueError:
            return to_ms(value)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return round(dt.timestamp() * 1000)
    return to_ms(value)


class _Bounds(dict[object, tuple[int, str, float, float] | None]):
    """Metric key -> (metric id, unit, lo, hi) for the assets of one ``Plausibility``: the fast
    path's bounds, the metric's range narrowed to what is plausible for those assets (finite,
    so the chained comparison also refuses NaN and infinities); None for an unknown metric."""

    __slots__ = ("metrics", "plausible")

    def __init__(
        self, metrics: Mapping[object, MetricTarget], plausible: Plausibility | None
    ) -> None:
        super().__init__()
        self.metrics = metrics
        self.plausible = plausible

    def __missing__(self, key: object) -> tuple[int, str, float, float] | None:
        """The bounds of ``key``, computed once per batch (on its first ``[key]``)."""
        metric = self.metrics.get(key)
        if metric is None:
            self[key] = None
            return None
        lo, hi = max(metric.min_value, -_FLOAT_MAX), min(metric.max_value, _FLOAT_MAX)
        if self.plausible is not None and metric.unit == POWER_UNIT:
            lo, hi = self.plausible.bounds(metric.key, lo, hi)
        found = self[key] = (metric.id, metric.unit, lo, hi)
        return found


class _Checks:
    """The full checks of one batch, for the readings that miss the fast path of
    ``validate_readings``: the same result, and the reason of a refusal. Per batch it keeps the
    ``can_write`` answers, parsed ISO timestamps and the fast path's bounds per ``Plausibility``
    (assets of one ``Plausibility`` share them)."""

    __slots__ = (
        "allowed", "assets", "can_write", "flagged", "limits", "metrics", "newest",
        "oldest_bound", "shared", "ts_cache",
    )  # fmt: skip

    def __init__(
        self,
        assets: Mapping[object, AssetTarget],
        metrics: Mapping[object, MetricTarget],
        can_write: Callable[[AssetTarget], str | None] | None,
        limits: Limits,
        flagged: list[Rejection] | None,
    ) -> None:
        self.assets, self.metrics, self.can_write = assets, metrics, can_write
        self.limits, self.flagged = limits, flagged
        self.allowed: dict[int, str | None] = {}
        self.ts_cache: dict[object, int] = {}
        self.newest = limits.newest_ms
        oldest = limits.oldest_ms
        self.oldest_bound = 0 if oldest is None else max(0, oldest)
        self.shared: dict[Plausibility | None, _Bounds] = {}

    def denial(self, asset: AssetTarget) -> str | None:
        """``can_write(asset)``, asked once per asset and batch."""
        if self.can_write is None:
            return None
        denial = self.allowed.get(asset.id, "")
        if denial == "":
            denial = self.allowed[asset.id] = self.can_write(asset)
        return denial

    def writable(self, ref: object) -> tuple[int, _Bounds] | None:
        """The fast path's (asset id, bounds) of a reference, or None: unknown, not writable."""
        asset = self.assets.get(ref) if ref.__class__ is not bool else None
        if asset is None or self.denial(asset) is not None:
            return None
        found = self.shared.get(asset.plausibility)
        if found is None:
            found = self.shared[asset.plausibility] = _Bounds(self.metrics, asset.plausibility)
        return asset.id, found

    def check(self, index: int, item: Any) -> Rejection | tuple[RowKey, float]:
        """The row of one reading, or why it is refused (checks in the documented order:
        asset, right to write, metric, value and unit, range, timestamp, plausibility)."""
        if item.__class__ is not dict and not isinstance(item, Mapping):
            undecodable = isinstance(item, Undecodable)
            return Rejection(index, item.reason if undecodable else "reading must be a JSON object")
        target = self._target(item)
        if isinstance(target, str):
            return Rejection(index, target)
        asset, metric = target
        value = self._value(item, metric)
        if isinstance(value, str):
            return Rejection(index, value)
        ts = self._ts(item)
        if isinstance(ts, str):
            return Rejection(index, ts)
        plausible = asset.plausibility
        if plausible is not None and metric.unit == POWER_UNIT:
            breach = plausible.breach(metric.key, value)
            if breach is not None:
                warning = Rejection(index, breach[1], breach[0])
                if not plausible.flag:
                    return warning
                if self.flagged is not None:
                    self.flagged.append(warning)
        return (asset.id, metric.id, ts), value

    def _target(self, item: Mapping[str, Any]) -> tuple[AssetTarget, MetricTarget] | str:
        ref = item.get("asset")
        asset = self.assets.get(ref) if ref.__class__ is not bool else None
        if asset is None:
            return "asset is missing" if ref is None else f"unknown asset {shown(ref)}"
        denial = self.denial(asset)
        if denial is not None:
            return f"unknown asset {shown(ref)}" if denial is HIDDEN else denial
        key = item.get("metric")
        metric = self.metrics.get(key)
        if metric is None:
            return "metric is missing" if key is None else f"unknown metric {shown(key)}"
        return asset, metric

    @staticmethod
    def _value(item: Mapping[str, Any], metric: MetricTarget) -> float | str:
        """The value in the metric's unit within its range, or a reason."""
        sent = item.get("value")
        if type(sent) is float:
            if not _isfinite(sent):
                return value_reason(sent)
            value = sent
        elif type(sent) is int and -_FLOAT_MAX <= sent <= _FLOAT_MAX:
            value = float(sent)
        else:
            return value_reason(sent)
        unit = item.get("unit")
        if unit is not None and unit != metric.unit:
            conv: Any = metric.conversion_for(unit)
            if isinstance(conv, str):
                return conv
            factor, offset = conv
            value = value * factor + offset
            if not _isfinite(value):  # overflowed: an unbounded metric would store inf
                return f"value is not a finite number in {metric.unit} after conversion"
        if not metric.min_value <= value <= metric.max_value:
            return (
                f"value {value:g} {metric.unit} is outside the plausible range of "
                f"{metric.key} [{metric.min_value:g}, {metric.max_value:g}]"
            )
        return value

    def _ts(self, item: Mapping[str, Any]) -> int | str:
        """The timestamp [epoch ms] within the limits, or a reason."""
        raw_ts = item.get("ts")
        ts = self.ts_cache.get(raw_ts) if raw_ts.__class__ is str else None
        if ts is None:
            if raw_ts is None:
                return "timestamp (ts) is missing"
            ts = parse_ts(raw_ts)
            if raw_ts.__class__ is str and len(self.ts_cache) < 4096:
                self.ts_cache[raw_ts] = ts
        if not self.oldest_bound <= ts <= self.newest:
            limits = self.limits
            return time_reason(ts, self.newest, limits.max_future_s, limits.raw_retention_days)
        return ts


class _FastAssets(dict[object, tuple[int, _Bounds] | None]):
    """Asset reference -> (writable asset id, its bounds), or None (unknown, not writable):
    ``_Checks.writable``, asked once per reference and batch (on its first ``[ref]``)."""

    __slots__ = ("checks",)

    def __init__(self, checks: _Checks) -> None:
        super().__init__()
        self.checks = checks

    def __missing__(self, ref: object) -> tuple[int, _Bounds] | None:
        found = self[ref] = self.checks.writable(ref)
        return found


def validate_readings(
    items: Sequence[Any],
    *,
    assets: Mapping[object, AssetTarget],
    metrics: Mapping[object, MetricTarget],
    can_write: Callable[[AssetTarget], str | None] | None,
    limits: Limits,
    index_offset: int = 0,
    flagged: list[Rejection] | None = None,
) -> tuple[Rows, int, list[Rejection]]:
    """Validate ``items``; returns (rows, accepted count, rejections).

    ``assets`` maps every accepted reference form (id, ``"id"``, sourceId) to its target and
    ``metrics`` maps metric keys. ``can_write(asset)`` returns None when the caller may write the
    asset, else the rejection reason, or ``HIDDEN`` to report the asset as unknown (pass None
    for the function when everything is writable).
    ``accepted`` counts valid readings, duplicates included (the last duplicate wins in ``rows``).
    Implausible readings of assets in ``flag`` mode are stored and appended to ``flagged``.
    The fast path (inline: per asset reference and metric key, what a fine reading needs) or
    else ``_Checks.check`` (the same result, and the reason of a refusal).
    """
    checks = _Checks(assets, metrics, can_write, limits, flagged)
    rows: Rows = {}
    rejected: list[Rejection] = []
    accepted = 0
    ts_cache, newest, oldest_bound = checks.ts_cache, checks.newest, checks.oldest_bound
    fast_assets = _FastAssets(checks)
    for index, item in enumerate(items, index_offset):
        try:
            if item.__class__ is dict:
                ref = item.get("asset")
                known = fast_assets[ref] if ref.__class__ is not bool else None
                if known is not None:
                    bounds = known[1][item.get("metric")]
                    value: Any = item.get("value")
                    raw_ts: Any = item.get("ts")
                    unit = item.get("unit")
                    if (
                        bounds is not None
                        and (value.__class__ is float or value.__class__ is int)
                        and (unit is None or unit == bounds[1])
                    ):
                        if raw_ts.__class__ is int:  # epoch s below the cutoff
                            ts = raw_ts * 1000 if -_CUT < raw_ts < _CUT else raw_ts
                        else:
                            ts = ts_cache.get(raw_ts, -1) if raw_ts.__class__ is str else -1
                        if bounds[2] <= value <= bounds[3] and oldest_bound <= ts <= newest:
                            # finite bounds: an int within them converts without overflow
                            rows[(known[0], bounds[0], ts)] = float(value)
                            accepted += 1
                            continue
            found = checks.check(index, item)
            if isinstance(found, Rejection):
                rejected.append(found)
            else:
                rows[found[0]] = found[1]
                accepted += 1
        except Exception as exc:  # a bug must cost one reading, not the batch
            rejected.append(_failed(index, exc))
    return rows, accepted, rejected


def _failed(index: int, exc: Exception) -> Rejection:
    """The rejection of a reading whose validation raised ``exc`` (a bug is logged)."""
    if isinstance(exc, ValidationFailed):
        return Rejection(index, exc.message)
    if isinstance(exc, TypeError | ValueError | OverflowError):  # e.g. an unhashable reference
        return Rejection(index, f"malformed reading: {str(exc)[:100]}")
    log.warning("validating reading %d failed", index, exc_info=exc)
    return Rejection(index, f"{INTERNAL_ERROR} ({type(exc).__name__})")
