"""A plant's (POD's) measurements: readings of its meter asset (``plants.asset_id``).

Stored through the telemetry ingest (``telemetry.service.ingest``: the validation, unit
conversion, plausibility checks and writer of ``POST /api/v1/telemetry``), read back with the
telemetry series query (raw readings). Metric names are gridpilot's catalogue keys
(``energy_kwh`` the import register, ``energy_export_kwh`` the export register, ``power_kw``,
``voltage_v``...), not the seed's column names.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Metric
from gridpilot.auth.permissions import Principal
from gridpilot.community.measurement_schemas import (
    MeasurementIn,
    MeasurementOut,
    MeasurementStored,
    Rejected,
)
from gridpilot.community.models import Plant
from gridpilot.community.plants import get_plant
from gridpilot.core.errors import Conflict, ValidationFailed
from gridpilot.core.timestamps import from_ms, parse_period
from gridpilot.telemetry.service import ingest, series
from gridpilot.telemetry.tasks import TelemetryRuntime


async def meter_of(session: AsyncSession, principal: Principal, plant_id: int) -> Plant:
    """The plant (404 when not the caller's to see) with its meter asset; 409 without one."""
    plant = await get_plant(session=session, principal=principal, plant_id=plant_id)
    if plant.asset_id is None:
        raise Conflict(
            f"plant {plant_id} has no meter asset: set its asset_id (PUT /api/plants/{plant_id})",
            details={"field": "asset_id", "reason": "no_meter"},
        )
    return plant


async def store(
    *,
    session: AsyncSession,
    principal: Principal,
    runtime: TelemetryRuntime,
    plant_id: int,
    data: MeasurementIn,
) -> MeasurementStored:
    """Ingest one measurement (one reading per metric) of the plant's meter; 422 when no
    reading is stored."""
    plant = await meter_of(session, principal, plant_id)
    readings: list[dict[str, Any]] = [
        {"asset": plant.asset_id, "metric": metric, "ts": data.timestamp, "value": value}
        for metric, value in data.measurements.items()
    ]
    result = await ingest(readings, principal=principal, runtime=runtime, channel="http")
    rejected = [
        Rejected(metric=readings[r.index]["metric"], reason=r.reason) for r in result.rejected
    ]
    if not result.stored:
        raise ValidationFailed(
            "no reading of the measurement was stored",
            details=[r.model_dump() for r in rejected],
        )
    return MeasurementStored(plant_id=plant_id, stored=result.stored, rejected=rejected)


async def read(
    *,
    session: AsyncSession,
    principal: Principal,
    plant_id: int,
    metric: str,
    start: str | None,
    end: str | None,
    max_points: int,
) -> list[MeasurementOut]:
    """Raw readings of one metric of the plant's meter in ``[start, end)`` (default: the last
    24 h), oldest first; 413 beyond ``max_points``."""
    plant = await meter_of(session, principal, plant_id)
    assert plant.asset_id is not None
    found = (
        await session.execute(select(Metric.id, Metric.unit).where(Metric.key == metric))
    ).first()
    if found is None:
        raise ValidationFailed(f"unknown metric {metric!r}", details={"field": "metric"})
    start_ms, end_ms = parse_period(start, end)
    points = await series(
        session=session, asset_id=plant.asset_id, metric_id=int(found[0]), start_ms=start_ms,
        end_ms=end_ms, step_ms=None, agg="avg", max_points=max_points, principal=principal,
    )  # fmt: skip
    return [
        MeasurementOut(timestamp=from_ms(p.ts_ms), metric=metric, value=p.value, unit=found[1])
        for p in points.points
    ]
