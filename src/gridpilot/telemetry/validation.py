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
from gridpilot.core.timestamps import MS_PER_DAY, describe_ms, to_ms
from gridpilot.core.units import conversion
from gridpilot.telemetry.plausibility import POWER_UNIT, Plausibility

log = logging.getLogger(__name__)

#: (asset_id, metric_id, ts_ms) -> value in the metric's canonical unit.
RowKey = tuple[int, int, int]
Rows = dict[RowKey, float]

_INF = math.inf
_SECONDS_CUTOFF = 10_000_000_000  # same rule as core.timestamps.to_ms
_FLOAT_MAX = sys.float_info.max
_UNSEEN: Any = object()
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


def shown(value: object, limit: int = 40) -> str:
    """A short ``repr`` of a sent value for a rejection reason (never raises)."""
    if isinstance(value, str):  # clipped after escaping: a NUL is 4 characters of repr
        text = repr(value[: limit + 1])
        return text if len(value) <= limit and len(text) <= limit + 2 else text[:limit] + "..."
    if isinstance(value, int) and not -(10**limit) < value < 10**limit:
        return "a huge integer" if value > 0 else "a huge negative integer"
    if value is None or isinstance(value, int | float):
        return repr(value)
    return f"a {type(value).__name__}"


def _value_reason(value: object) -> str:
    if value is None:
        return "value is missing"
    if isinstance(value, bool):
        return "value must be a number, not a boolean"
    if isinstance(value, int):
        return "value is too large for a number (beyond 1.8e308)"
    if isinstance(value, float):
        return f"value {value!r} is not a finite number"
    if isinstance(value, str):
        return f"value must be a number, got str {shown(value)}"
    return f"value must be a number, got {type(value).__name__}"


def _time_reason(ts: int, newest: int, limits: Limits) -> str:
    """Why a timestamp outside ``[oldest, newest]`` is refused (formats any value)."""
    if ts > newest:
        return f"timestamp {describe_ms(ts)} is more than {limits.max_future_s} s in the future"
    if ts < 0:
        return f"timestamp {describe_ms(ts)} is before 1970"
    return f"older than raw retention ({limits.raw_retention_days} days)"


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

    def of(self, key: object) -> tuple[int, str, float, float] | None:
        """The bounds of ``key``, computed once per batch."""
        metric = self.metrics.get(key)
        if metric is None:
            self[key] = None
            return None
        lo, hi = max(metric.min_value, -_FLOAT_MAX), min(metric.max_value, _FLOAT_MAX)
        if self.plausible is not None and metric.unit == POWER_UNIT:
            lo, hi = self.plausible.bounds(metric.key, lo, hi)
        found = self[key] = (metric.id, metric.unit, lo, hi)
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
    """
    rows: Rows = {}
    rejected: list[Rejection] = []
    allowed: dict[int, str | None] = {}
    ts_cache: dict[object, int] = {}
    newest = limits.newest_ms
    oldest = limits.oldest_ms
    oldest_bound = 0 if oldest is None else max(0, oldest)
    accepted = 0
    # Fast path: per distinct asset reference and metric key, what a reading needs when
    # everything about it is fine (a plausible value included). A reading that does not take
    # it (anything unusual) goes through the full checks below, which give the same result and
    # the rejection reason.
    fast_assets: dict[object, tuple[int, _Bounds] | None] = {}  # ref -> writable id, bounds
    shared: dict[Plausibility | None, _Bounds] = {}  # assets of one Plausibility share bounds

    def writable(ref: object) -> tuple[int, _Bounds] | None:
        asset = assets.get(ref) if ref.__class__ is not bool else None
        if asset is None:
            return None
        if can_write is not None:
            denial = allowed.get(asset.id, "")
            if denial == "":
                denial = allowed[asset.id] = can_write(asset)
            if denial is not None:
                return None
        found = shared.get(asset.plausibility)
        if found is None:
            found = shared[asset.plausibility] = _Bounds(metrics, asset.plausibility)
        return asset.id, found

    for index, item in enumerate(items, index_offset):
        try:
            if item.__class__ is dict:
                ref = item.get("asset")
                known = fast_assets.get(ref, _UNSEEN) if ref.__class__ is not bool else None
                if known is _UNSEEN:
                    known = fast_assets[ref] = writable(ref)
                if known is not None:
                    asset_id, known_bounds = known
                    key = item.get("metric")
                    bounds = known_bounds.get(key, _UNSEEN)
                    if bounds is _UNSEEN:
                        bounds = known_bounds.of(key)
                    value: Any = item.get("value")
                    raw_ts: Any = item.get("ts")
                    unit = item.get("unit")
                    if (
                        bounds is not None
                        and (value.__class__ is float or value.__class__ is int)
                        and (unit is None or unit == bounds[1])
                    ):
                        ts: int | None
                        if raw_ts.__class__ is int:
                            ts = (
                                raw_ts
                                if raw_ts >= _SECONDS_CUTOFF or raw_ts <= -_SECONDS_CUTOFF
                                else raw_ts * 1000
                            )
                        else:
                            ts = ts_cache.get(raw_ts, -1) if raw_ts.__class__ is str else -1
                        if bounds[2] <= value <= bounds[3] and oldest_bound <= ts <= newest:
                            # finite bounds: an int within them converts without overflow
                            rows[(asset_id, bounds[0], ts)] = float(value)
                            accepted += 1
                            continue
            if item.__class__ is not dict and not isinstance(item, Mapping):
                reason = (
                    item.reason
                    if isinstance(item, Undecodable)
                    else "reading must be a JSON object"
                )
                rejected.append(Rejection(index, reason))
                continue
            ref = item.get("asset")
            asset = assets.get(ref) if ref.__class__ is not bool else None
            if asset is None:
                reason = "asset is missing" if ref is None else f"unknown asset {shown(ref)}"
                rejected.append(Rejection(index, reason))
                continue
            if can_write is not None:
                denial = allowed.get(asset.id, "")
                if denial == "":
                    denial = allowed[asset.id] = can_write(asset)
                if denial is not None:
                    if denial is HIDDEN:
                        denial = f"unknown asset {shown(ref)}"
                    rejected.append(Rejection(index, denial))
                    continue
            key = item.get("metric")
            metric = metrics.get(key)
            if metric is None:
                reason = "metric is missing" if key is None else f"unknown metric {shown(key)}"
                rejected.append(Rejection(index, reason))
                continue
            value = item.get("value")
            cls = value.__class__
            if cls is float:
                if not _isfinite(value):
                    rejected.append(Rejection(index, _value_reason(value)))
                    continue
            elif cls is int and -_FLOAT_MAX <= value <= _FLOAT_MAX:
                value = float(value)
            else:
                rejected.append(Rejection(index, _value_reason(value)))
                continue
            unit = item.get("unit")
            if unit is not None and unit != metric.unit:
                conv: Any = metric.conversion_for(unit)
                if conv.__class__ is str:
                    rejected.append(Rejection(index, conv))
                    continue
                factor, offset = conv
                value = value * factor + offset
                if not _isfinite(value):  # overflowed: an unbounded metric would store inf
                    reason = f"value is not a finite number in {metric.unit} after conversion"
                    rejected.append(Rejection(index, reason))
                    continue
            if not metric.min_value <= value <= metric.max_value:
                rejected.append(
                    Rejection(
                        index,
                        f"value {value:g} {metric.unit} is outside the plausible range of "
                        f"{metric.key} [{metric.min_value:g}, {metric.max_value:g}]",
                    )
                )
                continue
            raw_ts = item.get("ts")
            ts = ts_cache.get(raw_ts) if raw_ts.__class__ is str else None
            if ts is None:
                if raw_ts is None:
                    rejected.append(Rejection(index, "timestamp (ts) is missing"))
                    continue
                ts = parse_ts(raw_ts)
                if raw_ts.__class__ is str and len(ts_cache) < 4096:
                    ts_cache[raw_ts] = ts
            if not oldest_bound <= ts <= newest:
                rejected.append(Rejection(index, _time_reason(ts, newest, limits)))
                continue
            plausible = asset.plausibility
            if plausible is not None and metric.unit == POWER_UNIT:
                breach = plausible.breach(metric.key, value)
                if breach is not None:
                    warning = Rejection(index, breach[1], breach[0])
                    if not plausible.flag:
                        rejected.append(warning)
                        continue
                    if flagged is not None:
                        flagged.append(warning)
            rows[(asset.id, metric.id, ts)] = value
            accepted += 1
        except ValidationFailed as exc:
            rejected.append(Rejection(index, exc.message))
        except (TypeError, ValueError, OverflowError) as exc:  # e.g. an unhashable reference
            rejected.append(Rejection(index, f"malformed reading: {str(exc)[:100]}"))
        except Exception as exc:  # a bug must cost one reading, not the batch
            log.warning("validating reading %d failed", index, exc_info=True)
            rejected.append(Rejection(index, f"{INTERNAL_ERROR} ({type(exc).__name__})"))
    return rows, accepted, rejected
