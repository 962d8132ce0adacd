"""``create_app(settings)``: the FastAPI application with every router, built at the edge."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import APIRouter, FastAPI

from gridpilot import __version__
from gridpilot.alerts import mailer
from gridpilot.alerts.channel_routes import router as alert_channels_router
from gridpilot.alerts.group_use import AlertRuleUsers
from gridpilot.alerts.preference_routes import router as notification_preferences_router
from gridpilot.alerts.routes import router as alerts_router
from gridpilot.api.body_guard import BodyGuardMiddleware
from gridpilot.api.docs_ui import install_docs
from gridpilot.api.errors import install_error_handlers
from gridpilot.api.health import router as health_router
from gridpilot.api.metrics_route import router as metrics_router
from gridpilot.api.middleware import RequestContextMiddleware
from gridpilot.api.openapi import install_openapi
from gridpilot.api.security_headers import SecurityHeadersMiddleware
from gridpilot.assets.routes import router as assets_router
from gridpilot.auth import audit
from gridpilot.auth.login_guard import login_guard
from gridpilot.auth.registration_routes import router as registration_router
from gridpilot.auth.routes import router as auth_router
from gridpilot.balance.cache import CurrentBalanceCache
from gridpilot.balance.recent import RecentBalances
from gridpilot.community.routes import router as community_router
from gridpilot.community.routes import seed_router as community_seed_router
from gridpilot.control.routes import router as control_router
from gridpilot.core.bus import EventBus
from gridpilot.core.datadir import secure_data_dir
from gridpilot.core.errors import NotFound
from gridpilot.core.limits import Limiter, Limits
from gridpilot.core.metrics import Metrics
from gridpilot.core.secrets import with_secrets
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine, make_sessionmaker
from gridpilot.db.migrate import upgrade
from gridpilot.db.query_timing import time_queries
from gridpilot.dr.routes import router as dr_router
from gridpilot.dr.routes import seed_router as dr_seed_router
from gridpilot.firmware.routes import router as firmware_router
from gridpilot.fleet.routes import router as fleet_router
from gridpilot.flex.routes import router as flex_router
from gridpilot.gql.routes import router as graphql_router
from gridpilot.groups.routes import router as groups_router
from gridpilot.ingest.rejects_routes import router as ingest_rejects_router
from gridpilot.insights.anomalies.routes import router as anomalies_router
from gridpilot.insights.balance.routes import router as balance_router
from gridpilot.insights.baselines.routes import router as baselines_router
from gridpilot.insights.forecasts.routes import router as forecasts_router
from gridpilot.insights.kpis.routes import router as kpis_router
from gridpilot.live.bus import make_bus, start_bus
from gridpilot.live.routes import router as live_router
from gridpilot.openadr.routes import router as openadr_router
from gridpilot.privacy.routes import router as privacy_router
from gridpilot.reports.group_use import ReportUsers
from gridpilot.reports.routes import router as reports_router
from gridpilot.scheduling.group_use import ScheduleUsers
from gridpilot.scheduling.routes import router as command_schedules_router
from gridpilot.sim.routes import router as simulator_router
from gridpilot.telemetry.query_routes import router as telemetry_query_router
from gridpilot.telemetry.routes import router as telemetry_router
from gridpilot.voice.routes import router as voice_router
from gridpilot.wia.routes import router as wia_router

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"

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


class Runtime(Protocol):
    """A domain's background work for one process (loops, subscriptions, connections)."""

    async def stop(self) -> None: ...


async def start_runtime(app: FastAPI) -> None:
    """Migrate (when configured), seed the catalogue and start background workers.

    Domain runtimes are appended to ``app.state.runtimes`` in start order and stopped in
    reverse order, so the telemetry writer (first) stops last and drains what others wrote.
    """
    from gridpilot.assets.service import ensure_builtin_metrics
    from gridpilot.live.hub import start_live
    from gridpilot.telemetry.tasks import TelemetryRuntime

    settings: Settings = app.state.settings

    def simulated_assets() -> Collection[int]:
        """Assets of the in-process simulator: it follows their commands itself."""
        simulator = getattr(app.state, "simulator", None)
        return simulator.served_asset_ids() if simulator is not None else ()

    if settings.should_auto_migrate:
        await upgrade(app.state.engine)
    async with app.state.sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
    app.state.runtimes = []
    # the Redis bus connects first and closes last
    app.state.runtimes.append(await start_bus(app.state.bus))
    app.state.runtimes.append(login_guard(app))  # closes its Redis client, if any
    app.state.runtimes.append(audit.start_retention(app))
    runtime = TelemetryRuntime(
        settings, app.state.sessions, app.state.engine, app.state.bus, app.state.metrics
    )
    await runtime.start()
    app.state.telemetry = runtime
    app.state.runtimes.append(runtime)
    app.state.live = await start_live(app)
    app.state.runtimes.append(app.state.live)
    refresh_ms = int(settings.balance_refresh_s * 1000)
    app.state.balance = CurrentBalanceCache(app.state.sessions, refresh_ms).start(app.state.bus)
    app.state.runtimes.append(app.state.balance)
    app.state.recent_balances = RecentBalances(app.state.sessions)
    app.state.runtimes.append(app.state.recent_balances)  # its background refreshes
    if settings.mqtt_url and settings.mqtt_ingest_in_serve:  # MQTT ingest (docs/mqtt.md)
        from gridpilot.ingest.mqtt_runtime import start_mqtt_ingest

        app.state.mqtt_ingest = await start_mqtt_ingest(
            settings=settings, telemetry=runtime, sessions=app.state.sessions, bus=app.state.bus
        )
        app.state.runtimes.append(app.state.mqtt_ingest)
    # status tracking, staleness, command expiry; the command link over MQTT
    from gridpilot.control.tasks import start_control

    app.state.control = await start_control(settings, app.state.sessions, app.state.bus)
    app.state.runtimes.append(app.state.control)
    if settings.mqtt_url:  # publishes queued commands to devices (docs/control.md)
        from gridpilot.ingest.command_link import start_command_link

        app.state.command_link = await start_command_link(
            settings, app.state.sessions, app.state.bus, served_locally=simulated_assets
        )
        app.state.runtimes.append(app.state.command_link)
    # alert rule evaluation on bus events and a schedule; notifications
    from gridpilot.alerts.evaluator import start_alerts

    app.state.alerts = await start_alerts(app)
    app.state.runtimes.append(app.state.alerts)
    # the 15-minute day-ahead forecast job of every site (docs/forecasting.md)
    from gridpilot.insights.forecasts.tasks import start_forecasts

    app.state.forecasts = await start_forecasts(app)
    app.state.runtimes.append(app.state.forecasts)
    # weekly baseline refits, optional scheduled anomaly scans
    from gridpilot.insights.anomalies.tasks import start_anomalies
    from gridpilot.insights.baselines.tasks import start_baselines

    app.state.baselines = await start_baselines(settings, app.state.sessions)
    app.state.runtimes.append(app.state.baselines)
    app.state.anomalies = await start_anomalies(settings, app.state.sessions, app.state.bus)
    app.state.runtimes.append(app.state.anomalies)
    # demand response: event status, metered reduction, utility notifications
    from gridpilot.dr.tasks import start_dr

    app.state.dr = await start_dr(app)
    app.state.runtimes.append(app.state.dr)
    # flexibility: re-plan and dispatch auto-dispatched resources every 15 min (MPC)
    from gridpilot.flex.tasks import start_flex

    app.state.flex = await start_flex(app)
    app.state.runtimes.append(app.state.flex)
    # real-time peak shaving: battery set points from live grid-import readings (bus)
    from gridpilot.flex.shaving_runtime import start_peak_shaving

    app.state.peak_shaving = await start_peak_shaving(app)
    app.state.runtimes.append(app.state.peak_shaving)
    # OpenADR 2.0b: VEN connections under leases, the fleet VTN if enabled (docs/openadr.md)
    from gridpilot.openadr.tasks import start_openadr

    app.state.openadr = await start_openadr(app)
    app.state.runtimes.append(app.state.openadr)
    # scheduled reports: run when due, e-mail, prune (docs/reports.md)
    from gridpilot.reports.tasks import start_reports

    app.state.reports = await start_reports(app)
    app.state.runtimes.append(app.state.reports)
    # scheduled commands: queue each due occurrence's commands (docs/fleet-operations.md)
    from gridpilot.scheduling.tasks import start_schedules

    app.state.command_schedules = await start_schedules(app)
    app.state.runtimes.append(app.state.command_schedules)
    # voice queries: the answer cache, the parser built in the background (docs/voice.md)
    from gridpilot.voice.tasks import start_voice

    app.state.voice = await start_voice(app)
    app.state.runtimes.append(app.state.voice)
    # the simulator: idle unless GRIDPILOT_SIM_AUTOSTART names scenarios (the demo)
    from gridpilot.sim.runtime import start_simulator

    app.state.simulator = await start_simulator(
        sessions=app.state.sessions, bus=app.state.bus, telemetry=app.state.telemetry,
        autostart=settings.sim_autostart, seed=settings.sim_seed,
        command_check_interval_s=settings.command_check_interval_s,
    )  # fmt: skip
    app.state.runtimes.append(app.state.simulator)
    # the daily backup with retention (docs/operations.md)
    from gridpilot.backup.tasks import start_backups

    app.state.backups = await start_backups(settings, app.state.sessions)
    app.state.runtimes.append(app.state.backups)
    if settings.gc_tuning:
        tune_gc()


#: Allocations (net) between two young-generation collections; Python's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Keep the cyclic garbage collector off the request path.

    An ingest batch allocates thousands of short-lived containers (one dict per reading), so with
    Python's defaults a young collection runs several times per request and the survivors push
    frequent full collections over the whole heap (SQLAlchemy, FastAPI, the dashboard: several
    100,000 objects), 10-15% of the server's CPU during ingest. After start-up the heap built so
    far is moved out of the collector's reach (``gc.freeze``: it lives as long as the process) and
    young collections run every ``GC_YOUNG_THRESHOLD`` allocations, by when most of a finished
    request's objects are gone. Cycles are still collected, except among the frozen objects:
    a process that builds and drops many apps (the tests) sets ``GRIDPILOT_GC_TUNING=false``.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, gen1, gen2)


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
    secure_data_dir(settings.data_dir)  # 0700/0600: the database, secrets, dashboard storage

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:  # a failed start still stops what had started
            await start_runtime(app)
            yield
        finally:
            await stop_runtime(app)
            await app.state.api_limits.stop()

    app = FastAPI(
        title="gridpilot",
        version=__version__,
        description="Open-source Energy Management System API.",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        docs_url=None,  # served on local assets by install_docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.send_email = mailer.send_message  # auth's password-reset e-mails
    app.state.engine = make_engine(settings)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.bus = bus or make_bus(settings)
    app.state.group_users = (AlertRuleUsers(), ScheduleUsers(), ReportUsers())  # groups/usage.py
    app.state.metrics = Metrics(data_dir=settings.data_dir)
    time_queries(app.state.engine, app.state.metrics.db_query_seconds)
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
        metrics=app.state.metrics,
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
    ``api_rate_limit_per_min`` is 0. Its Redis client is ``app.state.api_limits``."""
    enabled = settings.api_rate_limit_per_min > 0
    redis_url = settings.redis_url if enabled else None
    app.state.api_limits = Limits(redis_url, settings.redis_channel_prefix)
    if not enabled:
        return None
    return app.state.api_limits.limiter("api", settings.api_rate_limit_per_min)


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
