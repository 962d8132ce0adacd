"""``GET /health``: liveness and database status, no authentication."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gridpilot import __version__
from gridpilot.core.runtime import runtime_of

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    summary="Service and database health (no auth)",
    responses={503: {"description": "The database is down (the same body, status degraded)."}},
)
async def health(request: Request) -> JSONResponse:
    started = time.perf_counter()
    try:
        async with runtime_of(request.app).engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        database = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        status_code = 200
    except Exception as exc:  # any failure means "down"; the reason is reported
        database = {"status": "down", "error": type(exc).__name__}
        status_code = 503
    return JSONResponse(
        {
            "status": "ok" if status_code == 200 else "degraded",
            "version": __version__,
            "database": database,
            "backend": runtime_of(request.app).engine.dialect.name,
        },
        status_code=status_code,
    )
