"""The app's typed runtime (``core/runtime.py::AppRuntime``), and the background work its lifespan
starts and stops: each domain's runtime, in an order where a runtime's inputs start before it.

``start_runtime`` puts each started runtime in its package's ``Slot`` and appends it to
``AppRuntime.runtimes``; ``stop_runtime`` stops them in reverse, so the telemetry writer (started
early) drains what the others wrote.

The code reads the runtime through ``runtime_of(app)`` and the slots only. The foundation
(settings, engine, sessions, bus, metrics, runtimes) and the few runtimes named in
``TEST_STATE`` are also put on ``app.state``, where tests still read them; see
docs/architecture.md section 7.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Collection
from typing import Any, TypeVar

from fastapi import FastAPI

from gridpilot.auth import audit
from gridpilot.auth.login_guard import login_guard
from gridpilot.balance.cache import BALANCE, CurrentBalanceCache
from gridpilot.balance.recent import RECENT_BALANCES, RecentBalances
from gridpilot.core.bus import EventBus
from gridpilot.core.metrics import Metrics
from gridpilot.core.runtime import AppRuntime, Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine, make_sessionmaker
from gridpilot.db.migrate import upgrade
from gridpilot.db.query_timing import time_queries
from gridpilot.live.redis_bus import start_bus

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The foundation's names on ``app.state`` (``build_runtime``), read by tests.
FOUNDATION = ("settings", "engine", "sessions", "bus", "metrics", "runtimes")
#: Runtimes also put on ``app.state`` as they start, for the tests that read them there (the
#: code reads their slots): telemetry 24 reads, MQTT ingest 5, control 5, balance 4, command
#: link 3.
TEST_STATE = frozenset({"telemetry", "mqtt_ingest", "control", "balance", "command_link"})


def build_runtime(app: FastAPI, settings: Settings, bus: EventBus) -> AppRuntime:
    """The runtime of a new app (``app.state.runtime``): engine, sessions, bus, metrics; nothing
    connected yet (the engine connects on first use, the bus in ``start_runtime``)."""
    engine = make_engine(settings)
    metrics = Metrics(data_dir=settings.data_dir)
    time_queries(engine, metrics.db_query_seconds)
    runtime = AppRuntime(settings, engine, make_sessionmaker(engine), bus, metrics)
    app.state.runtime = runtime
    for name in FOUNDATION:
        setattr(app.state, name, getattr(runtime, name))
    return runtime


def _started(app: FastAPI, slot: Slot[T], value: T) -> T:
    """``AppRuntime.started`` and, for ``TEST_STATE`` names, the same on ``app.state``."""
    runtime_of(app).started(slot, value)
    if slot.name in TEST_STATE:
        setattr(app.state, slot.name, value)
    return value


async def start_runtime(app: FastAPI) -> None:
    """Migrate (when configured), seed the catalogue and start background workers, in the
    order of docs/architecture.md section 1 ("One process at run time")."""
    from gridpilot.assets.service import ensure_builtin_metrics

    runtime = runtime_of(app)
    if runtime.settings.should_auto_migrate:
        await upgrade(runtime.engine)
    async with runtime.sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
    runtime.runtimes.clear()
    # the Redis bus connects first and closes last
    runtime.runtimes.append(await start_bus(runtime.bus))
    runtime.runtimes.append(login_guard(app))  # closes its Redis client, if any
    runtime.runtimes.append(audit.start_retention(app))
    await _start_data(app, runtime)
    await _start_control(app, runtime)
    await _start_domains(app, runtime)
    if runtime.settings.gc_tuning:
        tune_gc()


async def _start_data(app: FastAPI, runtime: AppRuntime) -> None:
    """Telemetry, the live hub, the balance caches and MQTT ingest (``readings.stored``)."""
    from gridpilot.live.hub import LIVE, start_live
    from gridpilot.telemetry.tasks import TELEMETRY, TelemetryRuntime

    settings, sessions, bus = runtime.settings, runtime.sessions, runtime.bus
    telemetry = TelemetryRuntime(settings, sessions, runtime.engine, bus, runtime.metrics)
    await telemetry.start()
    _started(app, TELEMETRY, telemetry)
    _started(app, LIVE, await start_live(app))
    refresh_ms = int(settings.balance_refresh_s * 1000)
    _started(app, BALANCE, CurrentBalanceCache(sessions, refresh_ms).start(bus))
    _started(app, RECENT_BALANCES, RecentBalances(sessions))  # its background refreshes
    if settings.mqtt_url and settings.mqtt_ingest_in_serve:  # MQTT ingest (docs/mqtt.md)
        from gridpilot.ingest.mqtt_runtime import MQTT_INGEST, start_mqtt_ingest

        worker = await start_mqtt_ingest(
            settings=settings, telemetry=telemetry, sessions=sessions, bus=bus
        )
        _started(app, MQTT_INGEST, worker)


async def _start_control(app: FastAPI, runtime: AppRuntime) -> None:
    """Status tracking, staleness, command expiry; the command link over MQTT."""
    from gridpilot.control.tasks import CONTROL, start_control
    from gridpilot.sim.runtime import SIMULATOR

    settings, sessions, bus = runtime.settings, runtime.sessions, runtime.bus
    _started(app, CONTROL, await start_control(settings, sessions, bus))
    if settings.mqtt_url:  # publishes queued commands to devices (docs/control.md)
        from gridpilot.ingest.command_link import COMMAND_LINK, start_command_link

        def simulated_assets() -> Collection[int]:
            """Assets of the in-process simulator: it follows their commands itself."""
            simulator = runtime.get(SIMULATOR)
            return simulator.served_asset_ids() if simulator is not None else ()

        link = await start_command_link(settings, sessions, bus, served_locally=simulated_assets)
        _started(app, COMMAND_LINK, link)


async def _start_domains(app: FastAPI, runtime: AppRuntime) -> None:
    """Alerts, insights, the wave-2 domains, the simulator and backups, each in its slot."""
    from gridpilot.alerts.evaluator import ALERTS, start_alerts
    from gridpilot.backup.tasks import BACKUPS, start_backups
    from gridpilot.dr.tasks import DR, start_dr
    from gridpilot.flex.shaving_runtime import PEAK_SHAVING, start_peak_shaving
    from gridpilot.flex.tasks import FLEX_RUNTIME, start_flex
    from gridpilot.insights.anomalies.tasks import ANOMALIES, start_anomalies
    from gridpilot.insights.baselines.tasks import BASELINES, start_baselines
    from gridpilot.insights.forecasts.tasks import FORECASTS, start_forecasts
    from gridpilot.openadr.tasks import OPENADR, start_openadr
    from gridpilot.reports.tasks import REPORTS, start_reports
    from gridpilot.scheduling.tasks import COMMAND_SCHEDULES, start_schedules
    from gridpilot.sim.runtime import SIMULATOR, start_simulator
    from gridpilot.telemetry.tasks import TELEMETRY
    from gridpilot.voice.tasks import VOICE, start_voice

    settings, sessions, bus = runtime.settings, runtime.sessions, runtime.bus
    _started(app, ALERTS, await start_alerts(app))  # rules on bus events; notifications
    _started(app, FORECASTS, await start_forecasts(app))  # every site's day-ahead, 15 min
    _started(app, BASELINES, await start_baselines(settings, sessions))  # weekly refits
    _started(app, ANOMALIES, await start_anomalies(settings, sessions, bus))
    _started(app, DR, await start_dr(app))  # event status, metered reduction, utilities
    _started(app, FLEX_RUNTIME, await start_flex(app))  # MPC re-planning and dispatch, 15 min
    _started(app, PEAK_SHAVING, await start_peak_shaving(app))  # set points from readings
    _started(app, OPENADR, await start_openadr(app))  # VEN connections, the fleet VTN
    _started(app, REPORTS, await start_reports(app))  # due runs, e-mail, prune
    _started(app, COMMAND_SCHEDULES, await start_schedules(app))  # due occurrences' commands
    _started(app, VOICE, await start_voice(app))  # the answer cache, the parser warm-up
    simulator = await start_simulator(  # idle unless GRIDPILOT_SIM_AUTOSTART names scenarios
        sessions=sessions, bus=bus, telemetry=runtime.require(TELEMETRY),
        autostart=settings.sim_autostart, seed=settings.sim_seed,
        command_check_interval_s=settings.command_check_interval_s,
    )  # fmt: skip
    _started(app, SIMULATOR, simulator)
    _started(app, BACKUPS, await start_backups(settings, sessions))  # daily, with retention


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
    """Stop every started runtime in reverse order (a failure is logged, the rest still stop),
    then dispose of the engine."""
    runtime = runtime_of(app)
    started: list[Any] = list(runtime.runtimes)
    for part in reversed(started):
        try:
            await part.stop()
        except Exception:
            log.exception("stopping %s failed", type(part).__name__)
    runtime.runtimes.clear()
    await runtime.engine.dispose()
