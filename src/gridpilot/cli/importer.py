"""``gridpilot import FILE.csv``: bulk-import readings with a progress bar.

Works on the embedded default (migrated first when needed) and on PostgreSQL
(``GRIDPILOT_DATABASE_URL``). Exit code 0 when every row was stored, 1 when some rows were
rejected (listed with ``--rejects FILE``), 2 when the file or the database cannot be used.
"""

from __future__ import annotations

import asyncio
import csv
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from sqlalchemy.exc import SQLAlchemyError

from gridpilot.cli.offline import offline_writer
from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.ingest.csv_import import ImportReport

console = Console(stderr=True)

REJECT_COLUMNS = ("row", "asset", "metric", "ts", "value", "unit", "reason")


def import_principal() -> Any:
    """The principal of a local import: an administrator (whoever can run the CLI owns the DB)."""
    from gridpilot.auth.permissions import Principal, Role

    return Principal(subject="cli:import", name="gridpilot import", role=Role.ADMINISTRATOR)


async def run_import(
    path: Path,
    *,
    settings: Settings,
    asset: str | None,
    metric: str | None,
    rejects: TextIO | None,
    chunk_size: int,
    progress: Progress | None = None,
    total_bytes: int | None = None,
) -> ImportReport:
    """Import ``path`` into the database of ``settings``; rejected rows go to ``rejects``."""
    from gridpilot.ingest.csv_import import import_csv_stream

    async with offline_writer(settings) as offline:
        writer = csv.writer(rejects) if rejects is not None else None
        if writer is not None:
            writer.writerow(REJECT_COLUMNS)

        def on_reject(row: int, reading: dict[str, Any], reason: str) -> None:
            if writer is not None:
                fields = [reading.get(c) for c in ("asset", "metric", "ts", "value", "unit")]
                writer.writerow([row, *("" if f is None else f for f in fields), reason])

        task = progress.add_task("importing", total=total_bytes) if progress else None

        def on_progress(done: int) -> None:
            if progress is not None and task is not None:
                progress.update(task, completed=done)

        with path.open("rb") as stream:
            report = await import_csv_stream(
                stream,
                runtime=offline.telemetry,
                principal=import_principal(),
                chunk_size=chunk_size,
                asset=asset,
                metric=metric,
                on_progress=on_progress,
                on_reject=on_reject,
            )
        await offline.telemetry.flush()  # stored, and the rollups of the imported ranges refreshed
        return report


def import_csv(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="CSV: asset,metric,ts,value[,unit]"
    ),
    asset: str | None = typer.Option(
        None, "--asset", help="Asset id or sourceId for rows without an asset column."
    ),
    metric: str | None = typer.Option(
        None, "--metric", help="Metric key for rows without a metric column (e.g. power_kw)."
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Write the rejected rows with their reason to this CSV file."
    ),
    chunk_size: int = typer.Option(5_000, "--chunk-size", min=1, max=50_000),
) -> None:
    """Bulk-import readings from a CSV file (header asset,metric,ts,value[,unit])."""
    settings = Settings()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with (
            Progress(*columns, console=console, transient=False) as progress,
            rejects.open("w", newline="") if rejects else nullcontext() as reject_file,
        ):
            report = asyncio.run(
                run_import(
                    path,
                    settings=settings,
                    asset=asset,
                    metric=metric,
                    rejects=reject_file,
                    chunk_size=chunk_size,
                    progress=progress,
                    total_bytes=path.stat().st_size,
                )
            )
    except (GridpilotError, SQLAlchemyError, csv.Error, UnicodeDecodeError, OSError) as exc:
        message = exc.message if isinstance(exc, GridpilotError) else str(exc)
        console.print(f"[red]import failed:[/] {message}")
        raise typer.Exit(2) from None
    colour = "green" if not report.rejected else "yellow"
    console.print(
        f"[{colour}]{report.stored:,} readings stored, {report.rejected:,} rejected[/]"
        f" ({report.rows:,} rows)"
    )
    if report.rejected and rejects:
        console.print(f"rejected rows written to {rejects}")
    elif report.rejected:
        console.print("use --rejects FILE to see the rejected rows and their reasons")
    raise typer.Exit(1 if report.rejected else 0)
