"""``gridpilot backup`` and ``gridpilot restore`` (docs/operations.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from gridpilot.core.settings import Settings

console = Console(stderr=True)


def _bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def backup(
    to: Path | None = typer.Option(
        None,
        "--to",
        help="Directory for the backup (default GRIDPILOT_BACKUP_DIR, else DATA_DIR/backups).",
    ),
) -> None:
    """Back the database up while gridpilot runs: a consistent copy plus a manifest.

    SQLite: SQLite's online backup (writers go on). PostgreSQL: pg_dump --format=custom on one
    snapshot (needs pg_dump on PATH). Writes gridpilot-<UTC time>.db/.pgdump and
    <file>.manifest.json (version, migration head, rows per table, SHA-256). One backup per
    directory at a time."""
    from gridpilot.backup.manifest import BackupError
    from gridpilot.backup.service import make_backup

    settings = Settings()
    with _bar() as bar:
        task = bar.add_task("backing up", total=None)
        try:
            path, manifest = asyncio.run(
                make_backup(
                    settings=settings,
                    to_dir=to,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            )
        except BackupError as exc:
            console.print(f"[red]backup failed:[/] {exc.message}")
            raise typer.Exit(1) from None
    rows = sum(manifest.row_counts.values())
    console.print(
        f"[green]backup written[/] {path} ({manifest.size_bytes:,} bytes, {rows:,} rows, "
        f"migration {manifest.migration_head}, {manifest.duration_s:.1f} s)"
    )


def restore(
    file: Path = typer.Argument(..., help="A backup file (its .manifest.json beside it)."),
    force: bool = typer.Option(
        False, "--force", help="Overwrite a database that already holds data."
    ),
) -> None:
    """Restore a backup into the configured database. Stop gridpilot first.

    Checks the backup's SHA-256, refuses a backup made at a migration newer than this gridpilot
    knows and, without --force, a database that holds users, sites, assets or readings. Then
    compares the restored rows per table with the manifest. An older backup is migrated by
    `gridpilot migrate` (or `serve` on SQLite)."""
    from gridpilot.backup.manifest import BackupError
    from gridpilot.backup.service import restore_backup

    settings = Settings()
    with _bar() as bar:
        task = bar.add_task(f"restoring {file.name}", total=None)
        try:
            manifest, counts = asyncio.run(
                restore_backup(
                    settings=settings,
                    backup=file,
                    force=force,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            )
        except BackupError as exc:
            console.print(f"[red]restore refused:[/] {exc.message}")
            raise typer.Exit(1) from None
    differ = {t: (n, counts.get(t)) for t, n in manifest.row_counts.items() if counts.get(t) != n}
    if differ:
        console.print(f"[red]restored, but rows differ from the manifest:[/] {differ}")
        raise typer.Exit(1)
    console.print(
        f"[green]restored[/] {file.name} ({sum(counts.values()):,} rows in {len(counts)} tables, "
        f"migration {manifest.migration_head})"
    )
