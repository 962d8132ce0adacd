"""WIA-ENE-004 Phase 1 endpoints under ``/api/v1/sources`` (the seed's compatibility surface).

``{source_id}`` in every path is the WIA ``sourceId`` (``SOLAR-PV-ITA-00001``). Reads need READ;
registering and updating sources CONFIGURE (operator+); production data TELEMETRY_WRITE
(service keys; a device key only for its own source). Other sites' sources answer 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter

from gridpilot.alerts.lifecycle import open_alerts_of_asset
from gridpilot.assets.events import publish_assets_changed
from gridpilot.auth.dependencies import Configurer, Reader, TelemetryWriter
from gridpilot.control import status as control_status
from gridpilot.control.tasks import CONTROL, status_policy
from gridpilot.core.body_limits import bulk_body
from gridpilot.core.dependencies import BusDep, SettingsDep
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import from_ms, now_ms, parse_period
from gridpilot.db.dependencies import SessionDep
from gridpilot.telemetry.dependencies import RuntimeDep
from gridpilot.telemetry.service import ingest
from gridpilot.wia import history, service
from gridpilot.wia.production import rejections_of, to_readings
from gridpilot.wia.production_body import PRODUCTION_REQUEST_BODY, ProductionBody
from gridpilot.wia.schemas import (
    Alert,
    EnergySource,
    EnergySourceIn,
    ProductionDataOut,
    ProductionResult,
    SourceStatus,
    SourceType,
)

#: Latest representable time (9999-12-31T23:59:59.999Z) in epoch ms.

router = APIRouter(prefix="/sources", tags=["wia"])


@router.get("", summary="List all energy sources")
async def list_sources(
    principal: Reader,
    session: SessionDep,
    source_type: Annotated[SourceType | None, Query(alias="sourceType")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[EnergySource]:
    return await service.list_sources(
        session=session, principal=principal, source_type=source_type, limit=limit, offset=offset
    )


@router.post("", status_code=201, summary="Register new energy source")
async def create_source(
    data: EnergySourceIn,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> EnergySource:
    source = await service.create_source(session=session, principal=principal, data=data)
    background.add_task(publish_assets_changed, bus, [source.id], "created")
    return source


@router.get("/{source_id}", summary="Get source details")
async def get_source(source_id: str, principal: Reader, session: SessionDep) -> EnergySource:
    asset, site = await service.get_source_asset(
        session=session, source_id=source_id, principal=principal
    )
    return service.to_energy_source(asset, site)


@router.put("/{source_id}", summary="Update source details (replaces the whole source)")
async def replace_source(
    source_id: str,
    data: EnergySourceIn,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> EnergySource:
    source = await service.replace_source(
        session=session, source_id=source_id, principal=principal, data=data
    )
    background.add_task(publish_assets_changed, bus, [source.id], "updated")
    return source


@router.get("/{source_id}/alerts", summary="Get active alerts")
async def list_alerts(source_id: str, principal: Reader, session: SessionDep) -> list[Alert]:
    """The source's active and acknowledged (not yet resolved) alerts, newest first."""
    asset, _ = await service.get_source_asset(
        session=session, source_id=source_id, principal=principal
    )
    alerts = await open_alerts_of_asset(session=session, asset_id=asset.id)
    return [
        Alert(
            alertId=str(a.id),
            sourceId=source_id,
            severity=a.severity,
            state=a.state,
            type=a.kind,
            title=a.title,
            message=a.message,
            metric=a.metric,
            value=a.value,
            raisedAt=a.raised_at,
            acknowledgedAt=a.acknowledged_at,
            acknowledgedBy=a.acknowledged_by,
            ruleId=a.rule_id,
        )
        for a in alerts
    ]


PRODUCTION_POST_DESCRIPTION = """
Submit one Production Data object, or a JSON array of them. Each becomes up to seven readings of
the source (`power_kw`, `energy_kwh` from `cumulative.lifetime`, `efficiency_pct`,
`temperature_c`, `humidity_pct`, `wind_speed_ms`, `irradiance_wm2`); `cumulative.today`,
`cumulative.thisMonth` and `efficiency.average24h` are derived and recomputed on read.
Every object's `sourceId` must be the one in the path. Writes are idempotent (same source,
metric and timestamp: last write wins).

Answer `{"stored": N, "rejected": [{"index", "field", "reason"}]}` (`index`: the object's
position). **201** everything stored; **207** some values rejected; **422** nothing stored.
A device key may submit data for its own source only (403 otherwise).

The body is `application/json` (**415** otherwise) of at most `GRIDPILOT_MAX_BODY_BYTES`, with
at most `GRIDPILOT_MAX_BATCH_READINGS` objects and as many values (**413** beyond); **400** not
JSON; in an array, an object the schema refuses is rejected alone (its first error, field and
index) and the others are stored; a single invalid object answers **422** with its first 20 errors
and their count; **401** no credentials (the body is not read).
"""


@router.post(
    "/{source_id}/production",
    summary="Submit production data",
    description=PRODUCTION_POST_DESCRIPTION,
    status_code=201,
    response_model=ProductionResult,
    responses={
        207: {"model": ProductionResult, "description": "Some values stored, some rejected."},
        422: {"model": ProductionResult, "description": "Nothing stored."},
        400: {"description": "The body is not JSON."},
        413: {"description": "Body, objects or values over the batch limits."},
        415: {"description": "Content-Type is not application/json."},
    },
    openapi_extra={"requestBody": PRODUCTION_REQUEST_BODY},
)
@bulk_body
async def submit_production(
    source_id: str,
    principal: TelemetryWriter,
    items: ProductionBody,
    session: SessionDep,
    runtime: RuntimeDep,
) -> JSONResponse:
    pairs = zip(items.indexes, items.items, strict=True)
    wrong = [i for i, item in pairs if item.sourceId != source_id]
    if wrong:
        raise ValidationFailed(
            f"sourceId of the production data differs from the path ({source_id})",
            details={"indexes": wrong[:100]},
        )
    ref = await service.writable_source(session=session, source_id=source_id, principal=principal)
    batch = to_readings(items.items, ref.id, items.indexes)
    stored = 0
    reading_rejections: list[tuple[int, str]] = []
    if batch.readings:
        result = await ingest(batch.readings, principal=principal, runtime=runtime, channel="wia")
        stored = result.stored
        reading_rejections = [(r.index, r.described) for r in result.rejected]
    rejected = sorted(
        [*rejections_of(batch, reading_rejections), *items.rejected],
        key=lambda r: (r.index, r.field),
    )
    status = 201 if not rejected else 207 if stored else 422
    answer = ProductionResult(stored=stored, rejected=rejected)
    return JSONResponse(answer.model_dump(), status_code=status)


#: Serialises the production history as FastAPI would, without validating it again.
PRODUCTION_LIST = TypeAdapter(list[ProductionDataOut])


@router.get(
    "/{source_id}/production",
    summary="Get production data",
    response_model=list[ProductionDataOut],
)
async def get_production(
    source_id: str,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[
        str | None, Query(description="ISO-8601 or epoch ms, inclusive; default end - 24 h")
    ] = None,
    end: Annotated[
        str | None, Query(description="ISO-8601 or epoch ms, exclusive; default now")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Newest objects returned")] = 100,
) -> Response:
    """The newest `limit` Production Data objects in `[start, end)`, **newest first**, rebuilt
    from the stored readings (one object per reading time). Before the source's oldest raw
    reading (raw readings are kept `GRIDPILOT_RETENTION_RAW_DAYS`), one object per bucket of the
    finest rollup that holds the time (`resolution` 1m/15m/1h/1d: bucket averages, the last
    register value as `lifetime`, `timestamp` the bucket start). `cumulative.today`/`thisMonth`
    are computed in the site's timezone up to each object's time; `recomputed` lists the figures
    recomputed on read (values a device sent in them are not kept)."""
    start_ms, end_ms = parse_period(start, end)
    asset, site = await service.get_source_asset(
        session=session, source_id=source_id, principal=principal
    )
    objects = await history.production_history(
        session=session,
        asset=asset,
        site=site,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
        max_points=settings.max_series_points,
        max_gap_s=settings.energy_max_gap_s,
    )
    return Response(PRODUCTION_LIST.dump_json(objects), media_type="application/json")


@router.get("/{source_id}/status", summary="Get operational status")
async def get_status(
    source_id: str, principal: Reader, session: SessionDep, settings: SettingsDep, request: Request
) -> SourceStatus:
    """`online` when the newest sign of life (reading, MQTT birth message) is at most
    `staleAfterSeconds` old (factor 3 x the asset's `expected_interval_s`, default 300 s: both
    settings), `offline` when older or when the device's MQTT Last Will said so and nothing
    arrived since, `unknown` without any. `statusReason`: lwt | stale | data | birth."""
    asset, _ = await service.get_source_asset(
        session=session, source_id=source_id, principal=principal
    )
    control = runtime_of(request.app).get(CONTROL)
    [view] = await control_status.read_statuses(
        session=session,
        assets=[(asset.id, asset.site_id, asset.expected_interval_s)],
        tracked=control.tracker.last_seen if control is not None else lambda _asset_id: None,
        policy=status_policy(settings),
        now_ms=now_ms(),
    )
    assert asset.source_id is not None
    return SourceStatus(
        sourceId=asset.source_id,
        status=view.status,
        lastSeen=from_ms(view.last_seen_ms) if view.last_seen_ms is not None else None,
        expectedIntervalSeconds=view.expected_interval_s,
        staleAfterSeconds=view.stale_after_s,
        checkedAt=from_ms(view.checked_ms),
        statusReason=view.reason,
        statusChangedAt=from_ms(view.changed_ms) if view.changed_ms is not None else None,
    )
