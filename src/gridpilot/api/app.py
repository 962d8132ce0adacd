"""``create_app(settings)``: the FastAPI application with every router, built at the edge."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from gridpilot import __version__
from gridpilot.alerts import mailer
from gridpilot.alerts.channel_routes import router as alert_channels_router
from gridpilot.alerts.group_use import AlertRuleUsers
from gridpilot.alerts.levels import asset_alert_levels
from gridpilot.alerts.preference_routes import router as notification_preferences_router
from gridpilot.alerts.routes import router as alerts_router
from gridpilot.api.body_guard import BodyGuardMiddleware
from gridpilot.api.docs_ui import install_docs
from gridpilot.api.errors import install_error_handlers
from gridpilot.api.health import router as health_router
from gridpilot.api.lifespan import build_runtime, start_runtime, stop_runtime
from gridpilot.api.metrics_route import router as metrics_router
from gridpilot.api.middleware import RequestContextMiddleware
from gridpilot.api.openapi import install_openapi
from gridpilot.api.security_headers import SecurityHeadersMiddleware
from gridpilot.assets.routes import router as assets_router
from gridpilot.auth.password_reset import SEND_EMAIL
from gridpilot.auth.registration_routes import router as registration_router
from gridpilot.auth.routes import router as auth_router
from gridpilot.community.routes import router as community_router
from gridpilot.community.routes import seed_router as community_seed_router
from gridpilot.control.machine_status import ALERT_LEVELS
from gridpilot.control.routes import router as control_router
from gridpilot.core.bus import EventBus
from gridpilot.core.datadir import secure_data_dir
from gridpilot.core.errors import NotFound
from gridpilot.core.limits import Limiter, Limits
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.secrets import with_secrets
from gridpilot.core.settings import Settings
from gridpilot.dr.routes import router as dr_router
from gridpilot.dr.routes import seed_router as dr_seed_router
from gridpilot.firmware.routes import router as firmware_router
from gridpilot.fleet.routes import router as fleet_router
from gridpilot.flex.routes import router as flex_router
from gridpilot.gql.routes import router as graphql_router
from gridpilot.groups.routes import router as groups_router
from gridpilot.groups.usage import GROUP_USERS
from gridpilot.ingest.rejects_routes import router as ingest_rejects_router
from gridpilot.insights.anomalies.routes import router as anomalies_router
from gridpilot.insights.balance.routes import router as balance_router
from gridpilot.insights.baselines.routes import router as baselines_router
from gridpilot.insights.forecasts.routes import router as forecasts_router
from gridpilot.insights.kpis.routes import router as kpis_router
from gridpilot.live.redis_bus import make_bus
from gridpilot.live.routes import router as live_router
from gridpilot.openadr.routes import router as openadr_router
from gridpilot.privacy.routes import router as privacy_router
from gridpilot.reports.group_use import ReportUsers
from gridpilot.reports.routes import router as reports_router
from gridpilot.scheduling.group_use import ScheduleUsers
from gridpilot.scheduling.routes import router as command_schedules_router
from gridpilot.sim.routes import router as simulator_router
from gridpilot.telemetry.production_routes import router as production_router
from gridpilot.telemetry.query_routes import router as telemetry_query_router
from gridpilot.telemetry.routes import router as telemetry_router
from gridpilot.voice.routes import router as voice_router
from gridpilot.wia.routes import router as wia_router

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
#: The API-wide limiter's clients, closed after the lifespan (``core/runtime.py``).
API_LIMITS: Slot[Limits] = Slot("api_limits")

OPENAPI_TAGS = [
    {"name": "auth", "description": "OAuth2 token endpoint, users and API keys."},
    {"name": "sites", "description": "Facilities, plants, buildings and community locations."},
    {"name": "assets", "description": "Meters, machines, sources, batteries, chargers; metrics."},
    {"name": "telemetry", "description": "Ingest readings; series, latest values and energy."},
    {"name": "wia", "description": "WIA-ENE-004 Phase 1 compatibility surface (/sources)."},
    {"name": "ingest", "description": "Ingestion dead letters (MQTT and other channels)."},
    {"name": "operations", "description": "Health and Prometheus metrics."},
    {"name": "live", "description": "WebSocket stream WS /api/v1/live (docs/live.md)."},
    {"name": "control", "description": "Asset online/offline status and device commands."},
    {"name": "alerts", "description": "Alert rules, alerts, acknowledgement, notifications."},
    {"name": "forecasts", "description": "Load forecasts with 80 %/95 % intervals."},
    {"name": "baselines", "description": "ISO 50001 energy baselines, reports, EnPI, CUSUM."},
    {"name": "anomalies", "description": "Anomaly scans (z-score, Isolation Forest, trend)."},
    {"name": "kpis", "description": "KPIs, versioned tariffs and current demand vs contract."},
    {"name": "simulator", "description": "Control the built-in simulators (administrators)."},
    {"name": "flexibility", "description": "Flexible resources, schedules, peak shaving."},
    {"name": "demand response", "description": "DR events, baselines, utility webhook, OpenADR."},
    {"name": "community", "description": "Energy communities: members, shared energy, money."},
    {"name": "voice", "description": "Voice queries (OVOS contract) and the seed's sample routes."},
    {"name": "openadr", "description": "OpenADR 2.0b: VTN connections (VEN) and the fleet VTN."},
    {"name": "reports", "description": "Scheduled and on-demand PDF and CSV reports."},
    {"name": "groups", "description": "Device groups, static or dynamic (fleet-operations.md)."},
    {"name": "command-schedules", "description": "One-off and recurring (cron) device commands."},
    {"name": "graphql", "description": "One query, REST's credentials and scope (graphql.md)."},
    {"name": "firmware", "description": "Firmware images and staged roll-outs (firmware.md)."},
]


def build_api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(auth_router)
    api.include_router(registration_router)
    api.include_router(assets_router)
    api.include_router(telemetry_router)
    api.include_router(telemetry_query_router)
    api.include_router(production_router)  # the industrial seed's production data
    api.include_router(wia_router)
    api.include_router(ingest_rejects_router)
    api.include_router(live_router)
    api.include_router(control_router)
    api.include_router(alerts_router)
    api.include_router(fleet_router)
    api.include_router(graphql_router)
    api.include_router(alert_channels_router)
    api.include_router(notification_preferences_router)
    api.include_router(forecasts_router)
    api.include_router(baselines_router)
    api.include_router(anomalies_router)
    api.include_router(kpis_router)
    api.include_router(balance_router)
    api.include_router(simulator_router)
    api.include_router(flex_router)
    api.include_router(dr_router)
    api.include_router(community_router)
    api.include_router(voice_router)
    api.include_router(openadr_router)
    api.include_router(reports_router)
    api.include_router(privacy_router)
    api.include_router(groups_router)
    api.include_router(command_schedules_router)
    api.include_router(firmware_router)
    return api


def create_app(settings: Settings | None = None, *, bus: EventBus | None = None) -> FastAPI:
    """The gridpilot ASGI app. Nothing is connected until the lifespan starts."""
    settings = with_secrets(settings or Settings())
    secure_data_dir(settings.data_dir)  # 0700/0600: the database, secrets, dashboard storage

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:  # a failed start still stops what had started
            await start_runtime(app)
            yield
        finally:
            await stop_runtime(app)
            await runtime_of(app).require(API_LIMITS).stop()

    app = FastAPI(
        title="gridpilot",
        version=__version__,
        description="Open-source Energy Management System API.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served on local assets by install_docs
        redoc_url=None,
    )
    runtime = build_runtime(app, settings, bus or make_bus(settings))
    runtime.put(SEND_EMAIL, mailer.send_message)  # auth's password-reset e-mails
    runtime.put(GROUP_USERS, (AlertRuleUsers(), ScheduleUsers(), ReportUsers()))
    runtime.put(ALERT_LEVELS, asset_alert_levels)  # a machine's status (control/machine_status)
    install_error_handlers(app)
    install_openapi(app)  # the document's error answers; 400/404/405 in the error body
    app.include_router(health_router)
    install_docs(app)  # /docs and /redoc without a CDN
    # body caps, credentials before the body, JSON content type (inside the request context)
    app.add_middleware(
        BodyGuardMiddleware,
        max_request_body_bytes=settings.max_request_body_bytes,
        max_bulk_body_bytes=settings.max_body_bytes,
        max_json_values=settings.max_request_json_values,
    )
    # operations: request id, access log, latency histogram, rate limit; /metrics
    app.add_middleware(
        RequestContextMiddleware,
        metrics=runtime.metrics,
        limiter=api_limiter(app, settings),
        rate_limit_per_min=settings.api_rate_limit_per_min,
    )
    # X-Content-Type-Options, frame options, referrer policy, CSP (API and dashboard), HSTS
    app.add_middleware(SecurityHeadersMiddleware, tiles_url=settings.web_map_tiles_url)
    app.include_router(metrics_router)
    app.include_router(build_api_router())
    app.include_router(dr_seed_router)  # the facility seed's paths, outside /api/v1
    app.include_router(community_seed_router)  # the CER seed's paths, outside /api/v1
    if settings.web_enabled:
        mount_web(app, settings)
    return app


def api_limiter(app: FastAPI, settings: Settings) -> Limiter | None:
    """The API-wide per-client limiter (shared through Redis when configured); None when
    ``api_rate_limit_per_min`` is 0. Its Redis client is the runtime's ``API_LIMITS``."""
    enabled = settings.api_rate_limit_per_min > 0
    redis_url = settings.redis_url if enabled else None
    limits = runtime_of(app).put(API_LIMITS, Limits(redis_url, settings.redis_channel_prefix))
    if not enabled:
        return None
    return limits.limiter("api", settings.api_rate_limit_per_min)


def mount_web(app: FastAPI, settings: Settings) -> None:
    """The dashboard at ``/``; unknown ``/api`` paths still get the API's JSON 404."""
    from gridpilot.web.mount import mount_dashboard

    @app.api_route(
        "/api/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def unknown_api_path(rest: str) -> None:
        raise NotFound(f"no API endpoint /api/{rest}")

    mount_dashboard(app, settings)
