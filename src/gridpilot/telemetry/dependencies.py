"""FastAPI dependencies of the telemetry domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gridpilot.core.errors import Unavailable
from gridpilot.core.runtime import runtime_of
from gridpilot.telemetry.tasks import TELEMETRY, TelemetryRuntime


async def get_runtime(request: Request) -> TelemetryRuntime:
    """The app's telemetry runtime (writer, lookup caches), started by the lifespan.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    thread pool, a thread hand-off per request on the ingest hot path.
    """
    runtime: TelemetryRuntime | None = runtime_of(request.app).get(TELEMETRY)
    if runtime is None:
        raise Unavailable("telemetry is not running")
    return runtime


RuntimeDep = Annotated[TelemetryRuntime, Depends(get_runtime)]
