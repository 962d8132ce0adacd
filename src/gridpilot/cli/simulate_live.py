"""``gridpilot simulate`` live mode: in-process ingest, MQTT devices or HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings

if TYPE_CHECKING:
    from gridpilot.sim.mqtt_devices import MqttDevices
    from gridpilot.sim.sinks import HttpSink, IngestSink
    from gridpilot.telemetry.tasks import TelemetryRuntime

console = Console(stderr=True)


async def run_live(
    settings: Settings,
    scenarios: list[str],
    *,
    seed: int,
    speed: float,
    via: str,
    url: str | None,
    api_key: str | None,
    duration_s: float | None,
) -> None:
    from gridpilot.assets.service import ensure_builtin_metrics
    from gridpilot.db.engine import make_engine, make_sessionmaker
    from gridpilot.db.migrate import upgrade
    from gridpilot.live.redis_bus import make_bus, start_bus
    from gridpilot.sim.mqtt_devices import MqttDevices
    from gridpilot.sim.provision import provision
    from gridpilot.sim.realtime import LiveSimulator
    from gridpilot.sim.sinks import HttpSink

    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    bus = make_bus(settings)
    runtime: TelemetryRuntime | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    _stop_on_signals(loop, stop)
    bus_runtime = await start_bus(bus)
    try:
        if settings.should_auto_migrate:
            await upgrade(engine)
        async with sessions() as session, session.begin():
            await ensure_builtin_metrics(session=session)
        assets = await provision(sessions=sessions, bus=bus, scenarios=scenarios)
        sink, runtime = await _sink(settings, sessions, engine, bus, via, url, api_key)
        devices = sink if isinstance(sink, MqttDevices) else None
        simulator = LiveSimulator(assets, sink=sink, seed=seed, speed=speed)
        await simulator.prime(runtime)
        if devices is not None:
            await devices.connect(simulator)
        console.print(
            f"[green]simulating {len(simulator.devices())} assets ({', '.join(scenarios)}) "
            f"via {via}, speed x{speed:g}; Ctrl-C stops[/]"
        )
        if duration_s is not None:
            loop.call_later(duration_s, stop.set)
        try:
            await simulator.run(stop)
        finally:
            if devices is not None:
                await devices.close()
            if isinstance(sink, HttpSink):
                await sink.close()
        console.print(f"stopped; {sum(a.sent for a in simulator.live.values()):,} samples sent")
    finally:
        if runtime is not None:
            await runtime.stop()
        await bus_runtime.stop()
        await engine.dispose()


def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (where the loop supports signal handlers)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


async def _sink(
    settings: Settings,
    sessions: Any,
    engine: Any,
    bus: Any,
    via: str,
    url: str | None,
    api_key: str | None,
) -> tuple[IngestSink | HttpSink | MqttDevices, TelemetryRuntime | None]:
    """Where the samples go (``--via``): the in-process ingest (its telemetry runtime, started,
    returned for the caller to stop), the HTTP API or MQTT devices."""
    from gridpilot.core.metrics import Metrics
    from gridpilot.core.mqtt import MqttEndpoint
    from gridpilot.sim.mqtt_devices import MqttDevices
    from gridpilot.sim.sinks import HttpSink, IngestSink
    from gridpilot.telemetry.tasks import TelemetryRuntime

    if via == "ingest":
        runtime = TelemetryRuntime(settings, sessions, engine, bus, Metrics())
        await runtime.start()
        return IngestSink(runtime), runtime
    if via == "http":
        if not url or not api_key:
            raise typer.BadParameter("--via http needs --url and --api-key")
        return HttpSink(url, api_key), None
    if via == "mqtt":
        if not settings.mqtt_url:
            raise typer.BadParameter("--via mqtt needs GRIDPILOT_MQTT_URL (mqtt://host:1883)")
        return MqttDevices(MqttEndpoint.parse(settings.mqtt_url), settings.mqtt_topic_prefix), None
    raise typer.BadParameter(f"--via must be ingest, mqtt or http, not {via!r}")


def run_live_command(settings: Settings, scenarios: list[str], **options: object) -> None:
    try:
        asyncio.run(run_live(settings, scenarios, **options))  # type: ignore[arg-type]
    except GridpilotError as exc:
        console.print(f"[red]simulate failed:[/] {exc.message}")
        raise typer.Exit(2) from None
