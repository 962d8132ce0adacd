"""The ``gridpilot`` command."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from gridpilot import __version__
from gridpilot.cli.lazy import Lazy, LazyGroup

if TYPE_CHECKING:
    from gridpilot.core.settings import Settings

# Every subcommand not defined below, imported only when it runs (docs/architecture.md). Add a
# command here: name -> Lazy("module:function" or "module:typer_app", its line of --help).
COMMANDS = {
    "import": Lazy("gridpilot.cli.importer:import_csv", "Bulk-import readings from a CSV file."),
    "demo": Lazy(
        "gridpilot.cli.demo:demo",
        "Simulated factory, building, portfolio and community with history; then serve the API.",
        docstring=True,
    ),
    "ingest": Lazy(
        "gridpilot.cli.ingest:ingest",
        "Run the MQTT ingest worker (scale out: start several with different --client-id).",
        docstring=True,
    ),
    "simulate": Lazy(
        "gridpilot.cli.simulate:simulate",
        "Simulate a factory, an office building, a PV/wind/battery portfolio or a community.",
        docstring=True,
    ),
    "backup": Lazy(
        "gridpilot.cli.backup:backup",
        "Back the database up while gridpilot runs: a consistent copy plus a manifest.",
        docstring=True,
    ),
    "restore": Lazy(
        "gridpilot.cli.backup:restore",
        "Restore a backup into the configured database. Stop gridpilot first.",
        docstring=True,
    ),
    "forecast": Lazy(
        "gridpilot.cli.forecast:forecast", "Forecast a CSV time series with 80 %/95 % intervals."
    ),
}
GROUPS = {
    "user": Lazy("gridpilot.cli.user_group:app", "Create and manage users."),
    "apikey": Lazy("gridpilot.cli.keys:app", "Create, list and revoke service API keys."),
    "audit": Lazy("gridpilot.cli.audit:app", "The security audit trail."),
    "flex": Lazy("gridpilot.cli.flex:app", "Flexible resources and schedules of a site."),
    "secrets": Lazy("gridpilot.cli.secrets:app", "Secrets stored encrypted: status, rotation."),
    "mqtt-auth": Lazy(
        "gridpilot.cli.ingest:mqtt_auth", "Mosquitto password/ACL files from device keys."
    ),
}


class GridpilotGroup(LazyGroup):
    """The ``gridpilot`` group: :data:`COMMANDS` and :data:`GROUPS` load on first use."""

    lazy_commands = COMMANDS
    lazy_groups = GROUPS


app = typer.Typer(
    name="gridpilot",
    help="gridpilot: an open-source Energy Management System.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=GridpilotGroup,
)
console = Console(stderr=True)


def main() -> None:
    """Console entry point: configuration errors end with a clear message, not a traceback."""
    from pydantic import ValidationError

    from gridpilot.core.errors import ConfigurationError

    try:
        app()
    except (ConfigurationError, ValidationError) as exc:
        console.print(f"[red]configuration error:[/] {exc}")
        raise SystemExit(2) from None


@app.command()
def version() -> None:
    """Print gridpilot's version."""
    typer.echo(__version__)


@app.command("graphql-schema")
def graphql_schema() -> None:
    """Print the GraphQL schema (SDL) of POST /api/v1/graphql (docs/graphql.md)."""
    from gridpilot.gql.schema import sdl

    typer.echo(sdl(), nl=False)


@app.command()
def migrate(revision: str = typer.Option("head", help="Alembic revision to migrate to.")) -> None:
    """Create or upgrade the database schema (GRIDPILOT_DATABASE_URL)."""
    import asyncio

    from gridpilot.core.settings import Settings
    from gridpilot.db.engine import make_engine
    from gridpilot.db.migrate import current_revision, upgrade

    settings = Settings()

    async def run() -> str | None:
        engine = make_engine(settings)
        try:
            await upgrade(engine, revision)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    current = asyncio.run(run())
    where = settings.resolved_database_url.split("@")[-1]
    console.print(f"[green]database at revision {current}[/] ({where})")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address (default GRIDPILOT_HOST)."),
    port: int | None = typer.Option(None, help="Port (default GRIDPILOT_PORT)."),
    workers: int = typer.Option(1, help="Uvicorn worker processes (PostgreSQL only)."),
    tls_cert: Path | None = typer.Option(
        None,
        help="PEM certificate chain (leaf first): serve HTTPS only, TLS 1.3 (default "
        "GRIDPILOT_TLS_CERT). Turns on HSTS and the dashboard's Secure cookie. Needs --tls-key.",
    ),
    tls_key: Path | None = typer.Option(
        None, help="PEM private key of --tls-cert (default GRIDPILOT_TLS_KEY)."
    ),
) -> None:
    """Serve the API (and dashboard). Migrates the embedded SQLite database automatically.

    With --tls-cert/--tls-key it speaks HTTPS only: TLS 1.3 (GRIDPILOT_TLS_ALLOW_TLS12=true adds
    TLS 1.2 with AES-256-GCM/ChaCha20-Poly1305 only). Or terminate TLS in a reverse proxy
    (docs/tls.md)."""
    import uvicorn

    from gridpilot.core.datadir import private_umask
    from gridpilot.core.logging import configure_logging, logging_config
    from gridpilot.core.settings import Settings

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("--tls-cert and --tls-key go together")
    if tls_cert is not None and tls_key is not None:  # every worker reads the settings again
        os.environ["GRIDPILOT_TLS_CERT"] = str(tls_cert.resolve())
        os.environ["GRIDPILOT_TLS_KEY"] = str(tls_key.resolve())
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if workers > 1 and settings.is_sqlite:
        raise typer.BadParameter("several workers need PostgreSQL (GRIDPILOT_DATABASE_URL)")
    if workers > 1 and settings.mqtt_url and settings.mqtt_ingest_in_serve:
        raise typer.BadParameter(
            "the in-process MQTT ingest worker has one broker session: with several workers set "
            "GRIDPILOT_MQTT_INGEST_IN_SERVE=false and run `gridpilot ingest` (docs/mqtt.md)"
        )
    private_umask()  # files the server creates (database, dashboard storage) are owner-only
    trusted = trusted_proxies(settings)
    uvicorn.run(
        "gridpilot.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=logging_config(settings.log_level, json=settings.log_json),  # every worker
        access_log=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        **tls_options(settings),
    )


def tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS keywords for ``settings`` (none without a certificate). The files are
    loaded once here so a wrong path or a key of another certificate ends ``serve`` with a
    clear message before it binds the port."""
    if settings.tls_cert is None or settings.tls_key is None:
        return {}
    from gridpilot.core.tls import server_context, uvicorn_context_factory

    server_context(settings.tls_cert, settings.tls_key, allow_tls12=settings.tls_allow_tls12)
    return {
        "ssl_certfile": str(settings.tls_cert),
        "ssl_keyfile": str(settings.tls_key),
        "ssl_context_factory": functools.partial(
            uvicorn_context_factory, allow_tls12=settings.tls_allow_tls12
        ),
    }


def trusted_proxies(settings: Settings) -> str:
    """uvicorn's ``forwarded_allow_ips``: ``X-Forwarded-For``/``-Proto`` are believed only from
    ``GRIDPILOT_TRUSTED_PROXIES``; "" (the default) turns proxy headers off, where uvicorn's own
    default would believe any process on 127.0.0.1."""
    return ",".join(p.strip() for p in settings.trusted_proxies.split(",") if p.strip())
