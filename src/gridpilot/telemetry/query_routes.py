"""HTTP routes that read telemetry: series, latest values, energy (READ permission, site-scoped).

Times in queries are ISO-8601 (UTC when no offset) or epoch milliseconds; answers use ISO-8601
UTC. Another site's asset answers 404, like a missing one.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from functools import lru_cache
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Path, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gridpilot.assets.catalogue import METRIC_KEY_PATTERN
from gridpilot.assets.service import get_asset, metric_refs
from gridpilot.auth.dependencies import Reader
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, iso, parse_period
from gridpilot.db.dependencies import SessionDep
from gridpilot.telemetry.queries import energy, latest_values, require_asset, series
from gridpilot.telemetry.tasks import TELEMETRY

router = APIRouter(tags=["telemetry"])

#: Asset ids are 32-bit integers in the database; larger ones cannot exist (404, not a DB error).
AssetId = Annotated[int, Path(ge=1, le=2**31 - 1)]

_RESOLUTION = re.compile(r"^(\d{1,6})(s|m|h|d)$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": MS_PER_DAY}


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=8192)
def iso_cached(ms: int) -> str:
    """``core.timestamps.iso(ms)`` for 1970..9999, about twice as fast, and cached: a series
    answer formats the same bucket starts again and again."""
    days, rest = divmod(ms, MS_PER_DAY)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    day = date.fromordinal(_EPOCH_ORDINAL + days).isoformat()
    if millis:
        return f"{day}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"
    return f"{day}T{hours:02d}:{minutes:02d}:{seconds:02d}Z"


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for reads; autocommit on PostgreSQL (no BEGIN/COMMIT round trips)."""
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


async def metric_unit(
    app: FastAPI, connection: AsyncConnection, key: str
) -> tuple[int, str, str] | None:
    """``(id, key, unit)`` of catalogue metric ``key`` (None: unknown), from the telemetry
    runtime's lookup cache (evicted on ``metric.changed``), else from the database."""
    runtime = runtime_of(app).get(TELEMETRY)
    target = runtime.lookups.metrics.get(key) if runtime is not None else None
    if target is not None:
        return int(target.id), str(target.key), str(target.unit)
    if not re.fullmatch(METRIC_KEY_PATTERN, key):
        return None
    query = text("SELECT id, key, unit FROM metrics WHERE key = :key")
    row = (await connection.execute(query, {"key": key})).first()
    return (int(row[0]), str(row[1]), str(row[2])) if row is not None else None


def parse_resolution(value: str | None) -> int | None:
    """Bucket width [ms] of ``1m``, ``5m``, ``15m``, ``30m``, ``1h``, ``1d``... (None: raw)."""
    if value is None or value.strip().lower() in ("", "raw"):
        return None
    match = _RESOLUTION.match(value.strip().lower())
    step = int(match.group(1)) * _UNIT_MS[match.group(2)] if match else 0
    if step <= 0:
        raise ValidationFailed(
            f"resolution {value!r} is not understood: use raw, 1m, 5m, 15m, 30m, 1h or 1d"
        )
    return step


@router.get(
    "/assets/{asset_id}/series",
    summary="Time series of one metric of an asset",
    response_model=dict[str, Any],
)
async def get_series(
    asset_id: AssetId,
    request: Request,
    principal: Reader,
    metric: str,
    start: str | None = None,
    end: str | None = None,
    resolution: str | None = None,
    agg: str = "avg",
) -> Response:
    """Points ``{"ts", "value"}``; ``source`` tells which rollup level (or raw) they came from.

    A query that could return more than the configured cap of points answers 413, saying how
    many and which resolution would fit. Another site's (or a missing) asset answers 404 before
    any other error.
    """
    app = request.app
    settings: Settings = runtime_of(app).settings
    async with read_connection(runtime_of(app).engine) as connection:
        try:
            ref = await metric_unit(app, connection, metric)
            if ref is None:
                raise ValidationFailed(f"unknown metric {metric!r}")
            step_ms = parse_resolution(resolution)
            start_ms, end_ms = parse_period(start, end)
        except ValidationFailed:
            await require_asset(session=connection, asset_id=asset_id, principal=principal)
            raise
        result = await series(
            session=connection,
            asset_id=asset_id,
            metric_id=ref[0],
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
            agg=agg,
            max_points=settings.max_series_points,
            principal=principal,
        )
    body = {
        "asset_id": asset_id,
        "metric": ref[1],
        "unit": ref[2],
        "resolution": "raw" if step_ms is None else (resolution or "").strip().lower(),
        "agg": agg,
        "source": result.source,
        "start": iso(start_ms),
        "end": iso(end_ms),
        "points": [{"ts": iso_cached(p.ts_ms), "value": p.value} for p in result.points],
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.get("/assets/{asset_id}/latest", summary="Latest value of each metric of an asset")
async def get_latest(
    asset_id: AssetId, principal: Reader, session: SessionDep, metric: str | None = None
) -> dict[str, Any]:
    """``{metric: {"ts", "value", "unit"}}`` (every metric when ``metric`` is omitted)."""
    await get_asset(session=session, asset_id=asset_id, principal=principal)
    units = {m.key: m.unit for m in await metric_refs(session=session)}
    if metric is not None and metric not in units:
        raise ValidationFailed(f"unknown metric {metric!r}")
    values = await latest_values(
        session=session, asset_id=asset_id, metric_keys=[metric] if metric else None
    )
    return {
        key: {"ts": iso(value.ts_ms), "value": value.value, "unit": units.get(key)}
        for key, value in values.items()
    }


@router.get("/assets/{asset_id}/energy", summary="Energy of an asset over a period")
async def get_energy(
    asset_id: AssetId,
    request: Request,
    principal: Reader,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """``{"energy_kwh", "method", "coverage", "start", "end"}``: register deltas (reset-aware)
    when the asset has an ``energy_kwh`` register, else the power integral; ``coverage`` is the
    fraction of the period the figure accounts for."""
    settings: Settings = runtime_of(request.app).settings
    await get_asset(session=session, asset_id=asset_id, principal=principal)
    start_ms, end_ms = parse_period(start, end)
    result = await energy(
        session=session,
        asset_id=asset_id,
        start_ms=start_ms,
        end_ms=end_ms,
        max_gap_s=settings.energy_max_gap_s,
    )
    return {
        "energy_kwh": result.energy_kwh,
        "method": result.method,
        "coverage": result.coverage,
        "start": iso(start_ms),
        "end": iso(end_ms),
        "resets": result.resets,
    }
