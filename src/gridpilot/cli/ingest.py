"""``gridpilot ingest`` (the MQTT ingest worker as its own process) and ``gridpilot mqtt-auth``.

``gridpilot ingest`` connects to ``GRIDPILOT_MQTT_URL`` with its own telemetry runtime (writer,
lookup caches; rollups and retention stay with ``gridpilot serve``) and the event bus of
``gridpilot.live.redis_bus.make_bus`` (Redis when ``GRIDPILOT_REDIS_URL`` is set). SIGTERM/SIGINT
stop it gracefully: the batches in progress are stored and acknowledged, the writer drained,
the session left on the broker (what arrives meanwhile is queued for the next start).
SIGUSR1 retires the worker for good (scaling down): it leaves the ``$share`` group, stores what
the broker still sends it, and ends its session, so nothing stays queued for it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.settings import Settings

console = Console(stderr=True)
log = logging.getLogger(__name__)

mqtt_auth = typer.Typer(no_args_is_help=True)


async def run_worker(settings: Settings, *, client_id: str | None = None) -> None:
    """Run one ingest worker until SIGTERM/SIGINT (see the module doc)."""
    from gridpilot.assets.service import ensure_builtin_metrics
    from gridpilot.core.metrics import Metrics
    from gridpilot.db.engine import make_engine, make_sessionmaker
    from gridpilot.db.migrate import upgrade
    from gridpilot.ingest.mqtt_runtime import start_mqtt_ingest
    from gridpilot.live.redis_bus import make_bus, start_bus
    from gridpilot.telemetry.tasks import TelemetryRuntime

    engine = make_engine(settings)
    stop, retire = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def on_retire() -> None:
        retire.set()
        stop.set()

    loop.add_signal_handler(signal.SIGUSR1, on_retire)
    bus = make_bus(settings)
    bus_runtime = await start_bus(bus)
    try:
        if settings.should_auto_migrate:
            await upgrade(engine)
        sessions = make_sessionmaker(engine)
        try:
            async with sessions() as session, session.begin():
                await ensure_builtin_metrics(session=session)
        except Exception:  # another process seeded the catalogue at the same moment
            log.info("the metric catalogue was seeded concurrently")
        telemetry = TelemetryRuntime(settings, sessions, engine, bus, Metrics())
        await telemetry.start(loops=False)
        worker = await start_mqtt_ingest(
            settings=settings, telemetry=telemetry, sessions=sessions, bus=bus, client_id=client_id
        )
        try:
            ready = asyncio.ensure_future(worker.subscribed.wait())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if ready.done():
                typer.echo(f"gridpilot ingest: subscribed as {worker.client_id}", err=True)
            await stopped
            typer.echo(
                "gridpilot ingest: " + ("retiring" if retire.is_set() else "stopping"), err=True
            )
        finally:
            await worker.stop(retire=retire.is_set())
            await telemetry.stop()  # drains the writer
        totals = worker.totals
        typer.echo(
            f"gridpilot ingest: stopped after {totals.messages} messages, "
            f"{totals.stored} readings stored, {totals.rejects} dead letters",
            err=True,
        )
    finally:
        await bus_runtime.stop()
        await engine.dispose()


def ingest(
    client_id: str | None = typer.Option(
        None,
        "--client-id",
        help="MQTT client id (default GRIDPILOT_MQTT_CLIENT_ID); each worker needs its own.",
    ),
) -> None:
    """Run the MQTT ingest worker (scale out: start several with different --client-id).

    SIGTERM/SIGINT stop it (its broker session is kept for the next start); SIGUSR1 retires it
    (leaves the share group, drains, ends the session) when scaling down.
    """
    from gridpilot.core.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not settings.mqtt_url:
        console.print("[red]error:[/] GRIDPILOT_MQTT_URL is not set")
        raise typer.Exit(2)
    asyncio.run(run_worker(settings, client_id=client_id))


async def _export(settings: Settings) -> tuple[str, str, int, list[str]]:
    """(password file text, ACL file text, accounts exported, key ids skipped)."""
    from gridpilot.core.mqtt import MqttEndpoint
    from gridpilot.db.engine import make_engine, make_sessionmaker
    from gridpilot.ingest.mqtt_auth import acl_file, device_accounts, password_file

    prefix = settings.mqtt_topic_prefix
    service: tuple[str, str] | None = None
    if settings.mqtt_url:
        endpoint = MqttEndpoint.parse(settings.mqtt_url)
        if endpoint.username and endpoint.password:
            service = (endpoint.username, endpoint.password)
    engine = make_engine(settings)
    try:
        session: AsyncSession
        async with make_sessionmaker(engine)() as session:
            export = await device_accounts(session=session, prefix=prefix)
    finally:
        await engine.dispose()
    return (
        password_file(export.accounts, service),
        acl_file(export.accounts, service[0] if service else None, prefix),
        len(export.accounts),
        export.skipped,
    )


@mqtt_auth.command("export")
def export(
    passwords: Path = typer.Option(..., "--passwords", help="Mosquitto password_file to write."),
    acl: Path = typer.Option(..., "--acl", help="Mosquitto acl_file to write."),
) -> None:
    """Write Mosquitto password and ACL files from the device keys (and the service user of
    GRIDPILOT_MQTT_URL). Reload Mosquitto afterwards (SIGHUP)."""
    password_text, acl_text, count, skipped = asyncio.run(_export(Settings()))
    passwords.touch(mode=0o600)
    passwords.chmod(0o600)  # hashes only, but still nobody else's business
    passwords.write_text(password_text)
    acl.write_text(acl_text)
    console.print(f"[green]exported {count} device accounts[/] to {passwords} and {acl}")
    if skipped:
        console.print(
            f"[yellow]skipped {len(skipped)} device keys made before MQTT support "
            f"(no broker hash; create new keys):[/] {', '.join(skipped)}"
        )
