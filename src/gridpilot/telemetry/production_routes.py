"""HTTP routes of a machine's production data (the industrial seed's ``production_data``):
``GET`` per interval and ``POST`` of the seed's records, both over readings (``production.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from gridpilot.assets.catalogue import OPERATING_MODES, recipes_of
from gridpilot.assets.service import get_asset, metric_refs
from gridpilot.auth.dependencies import Reader, TelemetryWriter
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import iso, parse_period
from gridpilot.db.dependencies import SessionDep
from gridpilot.telemetry.dependencies import RuntimeDep
from gridpilot.telemetry.production import read_production, to_readings
from gridpilot.telemetry.query_routes import parse_resolution
from gridpilot.telemetry.service import ingest

router = APIRouter(tags=["telemetry"])

AssetId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_RECORDS = 10_000


class ProductionRecordIn(BaseModel):
    """One record of the seed's ``production_data`` (every field but ``ts`` optional)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    ts: str | int = Field(description="ISO-8601 (UTC when no offset) or epoch milliseconds")
    production_count: float | None = Field(
        default=None, ge=0, description="The machine's production counter (cumulative units)"
    )
    throughput_units_per_hour: float | None = Field(default=None, ge=0)
    operating_mode: str | None = Field(
        default=None, description=f"One of {', '.join(OPERATING_MODES)}"
    )
    recipe_id: str | None = Field(
        default=None, max_length=64, description="A recipe or material of attributes.recipes"
    )
    material_moisture_pct: float | None = Field(default=None, ge=0, le=100)


class ProductionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[ProductionRecordIn] = Field(min_length=1, max_length=MAX_RECORDS)


class ProductionRejection(BaseModel):
    index: int = Field(description="The record's position in `records`")
    field: str = Field(description="The record's field whose reading was refused")
    reason: str


class ProductionStored(BaseModel):
    """The answer of POST /assets/{id}/production (200, 207 and 422 alike)."""

    stored: int = Field(description="Readings stored")
    rejected: list[ProductionRejection]


class ProductionIntervalOut(BaseModel):
    ts: str = Field(description="Start of the interval, ISO-8601 UTC")
    production_count: float | None = Field(description="Units made in the interval")
    throughput_units_per_hour: float | None = Field(description="Mean throughput [units/h]")
    operating_mode: str | None = Field(description="The last mode reported in the interval")
    recipe_id: str | None = Field(description="The last recipe or material reported")
    material_moisture_pct: float | None = Field(description="Mean material moisture [%]")


class ProductionOut(BaseModel):
    asset_id: int
    resolution: str
    start: str
    end: str
    operating_modes: list[str] = Field(description="The modes a record may name")
    recipes: list[str] = Field(description="The asset's recipes (attributes.recipes)")
    intervals: list[ProductionIntervalOut]


@router.get(
    "/assets/{asset_id}/production",
    summary="Production data of a machine per interval",
    description=(
        "Units made, mean throughput [units/h], the operating mode and recipe in force (the "
        "last reported in the interval) and mean material moisture [%] per interval of "
        "`resolution` (default 1h) in `[start, end)` (default: the last 24 h); intervals "
        "without any production data are left out. 404 for another site's asset, 413 when "
        "more intervals than the series cap could come back."
    ),
)
async def get_production(
    asset_id: AssetId,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    start: str | None = None,
    end: str | None = None,
    resolution: Annotated[str, Query(description="15m, 1h, 1d...")] = "1h",
) -> ProductionOut:
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
    step_ms = parse_resolution(resolution)
    if step_ms is None:
        raise ValidationFailed("production data is read per interval: give a resolution")
    start_ms, end_ms = parse_period(start, end)
    refs = {m.key: m for m in await metric_refs(session=session)}
    recipes = recipes_of(asset.attributes)
    intervals = await read_production(
        session=session, asset_id=asset_id, metrics=refs, recipes=recipes,
        start_ms=start_ms, end_ms=end_ms, step_ms=step_ms, max_points=settings.max_series_points,
    )  # fmt: skip
    return ProductionOut(
        asset_id=asset_id, resolution=resolution.strip().lower(), start=iso(start_ms),
        end=iso(end_ms), operating_modes=list(OPERATING_MODES), recipes=recipes,
        intervals=[
            ProductionIntervalOut(
                ts=iso(i.ts_ms), production_count=i.units,
                throughput_units_per_hour=i.throughput_uph, operating_mode=i.operating_mode,
                recipe_id=i.recipe_id, material_moisture_pct=i.material_moisture_pct,
            )
            for i in intervals
        ],
    )  # fmt: skip


@router.post(
    "/assets/{asset_id}/production",
    summary="Submit production data records of a machine",
    description=(
        "The seed's production_data records, stored as readings of the machine (idempotent "
        "like POST /telemetry). `operating_mode` is one of the listed modes and `recipe_id` one "
        "of the asset's `attributes.recipes`, else 422 naming the record and the known ones. "
        "Answer `{stored, rejected: [{index, field, reason}]}` (index: the record): 200 all "
        "stored, 207 some, 422 none."
    ),
    response_model=None,
    responses={
        200: {"model": ProductionStored, "description": "Every reading stored."},
        207: {"model": ProductionStored, "description": "Some readings stored, some rejected."},
        422: {"model": ProductionStored, "description": "Every reading rejected."},
    },
)
async def post_production(
    asset_id: AssetId,
    body: ProductionIn,
    principal: TelemetryWriter,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
    records = [r.model_dump(exclude_none=True) for r in body.records]
    readings, origins = to_readings(asset_id, records, recipes_of(asset.attributes))
    if not readings:
        raise ValidationFailed("the records hold no production data besides ts")
    result = await ingest(readings, principal=principal, runtime=runtime, channel="http")
    rejected: list[dict[str, Any]] = [
        {"index": origins[r.index][0], "field": origins[r.index][1], "reason": r.reason}
        for r in result.rejected
    ]
    status = 200 if not rejected else 207 if result.stored else 422
    return JSONResponse({"stored": result.stored, "rejected": rejected}, status_code=status)
