"""``create_app(settings)``: the FastAPI application with every router, built at the edge."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import APIRouter, FastAPI

from gridpilot import __version__
from gridpilot.api.errors import install_error_handlers
from gridpilot.api.health import router as health_router
from gridpilot.api.metrics_route import router as metrics_router
from gridpilot.api.middleware import RequestContextMiddleware
from gridpilot.assets.routes import router as assets_router
from gridpilot.auth.routes import router as auth_router
from gridpilot.core.bus import EventBus, InProcessBus
from gridpilot.core.metrics import Metrics
from gridpilot.core.secrets import with_secrets
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine, make_sessionmaker
from gridpilot.db.migrate import upgrade
from gridpilot.telemetry.query_routes import router as telemetry_query_router
from gridpilot.telemetry.routes import router as telemetry_router
from gridpilot.wia.routes import router as wia_router

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

OPENAPI_TAGS = [
    {"name": "auth", "description": "OAuth2 token endpoint, users and API keys."},
    {"name": "sites", "description": "Facilities, plants, buildings and community locations."},
    {"name": "assets", "description": "Meters, machines, sources, batteries, chargers; metrics."},
    {"name": "telemetry", "description": "Ingest readings; series, latest values and energy."},
    {"name": "wia", "description": "WIA-ENE-004 Phase 1 compatibility surface (/sources)."},
    {"name": "operations", "description": "Health and Prometheus metrics."},
]


def build_api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth_router)
    api.include_router(assets_router)
    api.include_router(telemetry_router)
    api.include_router(telemetry_query_router)
    api.include_router(wia_router)
    return api


class Runtime(Protocol):
    """A domain's background work for one process (loops, subscriptions, connections)."""

    async def stop(self) -> None: ...


async def start_runtime(app: FastAPI) -> None:
    """Migrate (when configured), seed the catalogue and start background workers.

    Domain runtimes are appended to ``app.state.runtimes`` in start order and stopped in
    reverse order, so the telemetry writer (first) stops last and drains what others wrote.
    """
    from gridpilot.assets.service import ensure_builtin_metrics
    from gridpilot.telemetry.tasks import TelemetryRuntime

    settings: Settings = app.state.settings
    if settings.should_auto_migrate:
        await upgrade(app.state.engine)
    async with app.state.sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
    runtime = TelemetryRuntime(
        settings, app.state.sessions, app.state.engine, app.state.bus, app.state.metrics
    )
    app.state.runtimes = []
    await runtime.start()
    app.state.telemetry = runtime
    app.state.runtimes.append(runtime)
    # Further domains: one block each, ``app.state.<domain> = await start_<domain>(app)``
    # followed by ``app.state.runtimes.append(app.state.<domain>)``.


async def stop_runtime(app: FastAPI) -> None:
    for runtime in reversed(getattr(app.state, "runtimes", [])):
        try:
            await runtime.stop()
        except Exception:
            log.exception("stopping %s failed", type(runtime).__name__)
    app.state.runtimes = []
    await app.state.engine.dispose()


def create_app(settings: Settings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    """The gridpilot ASGI app. Nothing is connected until the lifespan starts."""
    settings = with_secrets(settings or Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await start_runtime(app)
        try:
            yield
        finally:
            await stop_runtime(app)

    app = FastAPI(
        title="gridpilot",
        version=__version__,
        description="Open-source Energy Management System API.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.bus = bus or InProcessBus()
    app.state.metrics = Metrics()
    install_error_handlers(app)
    app.include_router(health_router)
    # operations (helper OPS): request id, access log, latency histogram, rate limit; /metrics
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        rate_limit_per_min=settings.api_rate_limit_per_min,
    )
    app.include_router(metrics_router)
    app.include_router(build_api_router())
    return app
