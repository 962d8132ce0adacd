"""``gridpilot simulate`` live mode: in-process ingest, MQTT devices or HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer
from rich.console import Console

from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings

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
    from gridpilot.core.metrics import Metrics
    from gridpilot.core.mqtt import MqttEndpoint
    from gridpilot.db.engine import make_engine, make_sessionmaker
    from gridpilot.db.migrate import upgrade
    from gridpilot.live.bus import make_bus, start_bus
    from gridpilot.sim.live import LiveSimulator
    from gridpilot.sim.mqtt_devices import MqttDevices
    from gridpilot.sim.provision import provision
    from gridpilot.sim.sinks import HttpSink, IngestSink
    from gridpilot.telemetry.tasks import TelemetryRuntime

    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    bus = make_bus(settings)
    runtime: TelemetryRuntime | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    bus_runtime = await start_bus(bus)
    try:
        if settings.should_auto_migrate:
            await upgrade(engine)
        async with sessions() as session, session.begin():
            await ensure_builtin_metrics(session=session)
        assets = await provision(sessions=sessions, bus=bus, scenarios=scenarios)
        devices: MqttDevices | None = None
        if via == "ingest":
            runtime = TelemetryRuntime(settings, sessions, engine, bus, Metrics())
            await runtime.start()
            sink: IngestSink | HttpSink | MqttDevices = IngestSink(runtime)
        elif via == "http":
            if not url or not api_key:
                raise typer.BadParameter("--via http needs --url and --api-key")
            sink = HttpSink(url, api_key)
        elif via == "mqtt":
            if not settings.mqtt_url:
                raise typer.BadParameter("--via mqtt needs GRIDPILOT_MQTT_URL (mqtt://host:1883)")
            devices = sink = MqttDevices(
                MqttEndpoint.parse(settings.mqtt_url), settings.mqtt_topic_prefix
            )
        else:
            raise typer.BadParameter(f"--via must be ingest, mqtt or http, not {via!r}")
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


def run_live_command(settings: Settings, scenarios: list[str], **options: object) -> None:
    try:
        asyncio.run(run_live(settings, scenarios, **options))  # type: ignore[arg-type]
    except GridpilotError as exc:
        console.print(f"[red]simulate failed:[/] {exc.message}")
        raise typer.Exit(2) from None
