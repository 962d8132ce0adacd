"""Telemetry services: ingest (validate, normalise, store) and, re-exported, the queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import TooLarge, ValidationFailed
from gridpilot.telemetry.energy_queries import EnergyResult, energy
from gridpilot.telemetry.queries import (
    LatestValue,
    Series,
    SeriesPoint,
    last_seen,
    latest_values,
    series,
)
from gridpilot.telemetry.schemas import IngestResult
from gridpilot.telemetry.validation import Rejection

if TYPE_CHECKING:
    from gridpilot.telemetry.tasks import TelemetryRuntime

__all__ = [
    "EnergyResult",
    "IngestResult",
    "LatestValue",
    "Rejection",
    "Series",
    "SeriesPoint",
    "energy",
    "ingest",
    "last_seen",
    "latest_values",
    "series",
]


async def ingest(
    raw: Sequence[Mapping[str, Any]],
    *,
    principal: Principal,
    runtime: TelemetryRuntime,
    channel: str = "http",
) -> IngestResult:
    """Validate ``raw`` readings, store the valid ones and report every rejected one.

    Returns after the accepted readings are committed. ``stored`` counts accepted readings
    (a duplicate within the batch counts, the last one wins); ``flagged`` lists the stored
    readings that failed a plausibility check of an asset in ``flag`` mode.
    Raises ``PermissionDenied`` without TELEMETRY_WRITE, ``ValidationFailed`` for an empty
    batch, ``TooLarge`` over ``settings.max_batch_readings`` and ``Unavailable`` when the
    database cannot store them.
    """
    principal.require(Permission.TELEMETRY_WRITE)
    count = len(raw)
    if count == 0:
        raise ValidationFailed("the batch contains no readings")
    limit = runtime.settings.max_batch_readings
    if count > limit:
        raise TooLarge(f"the batch has {count} readings; the limit is {limit}")
    flagged: list[Rejection] = []
    rows, accepted, rejected = await runtime.validate(raw, principal, flagged=flagged)
    if rows:
        await runtime.writer.write(rows)
    metrics = runtime.metrics
    if accepted:
        metrics.readings_ingested_total.labels(channel).inc(accepted)
    if rejected:
        metrics.readings_rejected_total.labels(channel).inc(len(rejected))
    for warning in flagged:
        metrics.readings_flagged_total.labels(channel, warning.code or "").inc()
    return IngestResult(stored=accepted, rejected=rejected, flagged=flagged)
