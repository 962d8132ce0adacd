"""The CER seed's energy-data paths (envelope), thin routes onto telemetry and forecasts:
``/api/plants/{id}/measurements`` and ``/api/energy/measurements`` (a plant's meter readings,
stored through the telemetry ingest), ``GET /api/energy/predictions`` (the forecast of a
plant's site, with its 80 % and 95 % intervals). Access: the plant's community admins and its
owner; anyone else 404. Each path also answers with the seed's trailing slash."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from gridpilot.auth.dependencies import Reader, TelemetryWriter
from gridpilot.community import measurements
from gridpilot.community.measurement_schemas import (
    MeasurementIn,
    MeasurementOut,
    MeasurementStored,
    PlantMeasurementIn,
)
from gridpilot.community.plants import get_plant
from gridpilot.community.schemas import Envelope, Meta
from gridpilot.community.seed_paths import both, error_answer
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.forecasts import service as forecasts
from gridpilot.insights.forecasts.schemas import ForecastOut
from gridpilot.insights.forecasts.tasks import weather_of
from gridpilot.telemetry.dependencies import RuntimeDep

seed_router = APIRouter(tags=["community"])

PlantId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PlantQuery = Annotated[int, Query(ge=1, le=2**31 - 1, description="Plant id")]
Metric = Annotated[
    str, Query(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="Catalogue metric key")
]
From = Annotated[str | None, Query(alias="from", max_length=40, description="ISO-8601 or epoch ms")]
To = Annotated[str | None, Query(alias="to", max_length=40, description="ISO-8601 or epoch ms")]
Page = Annotated[int, Query(ge=1, le=10**6)]
PerPage = Annotated[int, Query(ge=1, le=1000)]

PLANT_404 = {404: error_answer("No such plant, or not one the caller may see")}
NO_METER = {409: error_answer("The plant has no meter asset (asset_id)")}
READ_ANSWERS = {**PLANT_404, **NO_METER, 413: error_answer("More readings than the cap")}
WRITE_ANSWERS = {
    **PLANT_404,
    **NO_METER,
    403: error_answer("The caller may not write telemetry"),
    422: error_answer("Invalid body, or no reading stored (the reasons in details)"),
}


async def _read(
    request: Request, session: SessionDep, principal: Reader, plant_id: int, metric: str,
    start: str | None, end: str | None, page: int, per_page: int,
) -> Envelope[list[MeasurementOut]]:  # fmt: skip
    rows = await measurements.read(
        session=session, principal=principal, plant_id=plant_id, metric=metric, start=start,
        end=end, max_points=runtime_of(request.app).settings.max_series_points,
    )  # fmt: skip
    return Envelope(
        data=rows[(page - 1) * per_page : page * per_page],
        meta=Meta(page=page, per_page=per_page, total=len(rows)),
    )


@both(
    seed_router.get,
    "/api/plants/{plant_id}/measurements",
    summary="A plant's meter readings of one metric (raw, oldest first)",
    responses=READ_ANSWERS,
)
async def plant_measurements(
    plant_id: PlantId, request: Request, principal: Reader, session: SessionDep,
    metric: Metric = "energy_kwh", start: From = None, end: To = None, page: Page = 1,
    per_page: PerPage = 100,
) -> Envelope[list[MeasurementOut]]:  # fmt: skip
    """``from``/``to``: the period (default the last 24 h)."""
    return await _read(request, session, principal, plant_id, metric, start, end, page, per_page)


@both(
    seed_router.get,
    "/api/energy/measurements",
    summary="A plant's meter readings of one metric (``plant`` in the query)",
    responses=READ_ANSWERS,
)
async def energy_measurements(
    plant: PlantQuery, request: Request, principal: Reader, session: SessionDep,
    metric: Metric = "energy_kwh", start: From = None, end: To = None, page: Page = 1,
    per_page: PerPage = 100,
) -> Envelope[list[MeasurementOut]]:  # fmt: skip
    return await _read(request, session, principal, plant, metric, start, end, page, per_page)


@both(
    seed_router.post,
    "/api/plants/{plant_id}/measurements",
    status_code=201,
    summary="Store a measurement of a plant's meter (through the telemetry ingest)",
    responses=WRITE_ANSWERS,
)
async def add_plant_measurement(
    plant_id: PlantId, data: MeasurementIn, principal: TelemetryWriter, session: SessionDep,
    runtime: RuntimeDep,
) -> Envelope[MeasurementStored]:  # fmt: skip
    """Needs gridpilot's telemetry write permission. A metric refused (unknown, implausible)
    is listed in ``rejected`` while the others are stored; none stored: 422."""
    stored = await measurements.store(
        session=session, principal=principal, runtime=runtime, plant_id=plant_id, data=data
    )
    return Envelope(data=stored)


@both(
    seed_router.post,
    "/api/energy/measurements",
    status_code=201,
    summary="Store a measurement of a plant's meter (``plant_id`` in the body)",
    responses=WRITE_ANSWERS,
)
async def add_energy_measurement(
    data: PlantMeasurementIn, principal: TelemetryWriter, session: SessionDep, runtime: RuntimeDep
) -> Envelope[MeasurementStored]:
    body = MeasurementIn(timestamp=data.timestamp, measurements=data.measurements)
    stored = await measurements.store(
        session=session, principal=principal, runtime=runtime, plant_id=data.plant_id, data=body
    )
    return Envelope(data=stored)


@both(
    seed_router.get,
    "/api/energy/predictions",
    summary="Forecast of a plant's site with 80 % and 95 % intervals (kW)",
    responses={
        **PLANT_404,
        422: error_answer("Too little history to forecast, or bad parameters"),
    },
)
async def predictions(
    plant: PlantQuery, request: Request, principal: Reader, session: SessionDep,
    settings: SettingsDep,
    horizon: Annotated[Literal["1h", "24h"], Query(description="1h or day-ahead")] = "24h",
    quantity: Annotated[
        Literal["consumption", "generation", "net"],
        Query(description="Of the site's energy balance; net = the grid exchange"),
    ] = "net",
) -> Envelope[ForecastOut]:  # fmt: skip
    """The forecast service of ``GET /api/v1/sites/{id}/forecast`` for the plant's site."""
    found = await get_plant(session=session, principal=principal, plant_id=plant)
    forecast = await forecasts.get_forecast(
        session=session, principal=principal, settings=settings, horizon=horizon,
        now_ms=now_ms(), site_id=found.site_id, quantity=quantity,
        weather=weather_of(request.app),
    )  # fmt: skip
    return Envelope(data=forecast)
