"""``gridpilot import FILE.csv`` (being built: see issue #3)."""

from __future__ import annotations

from pathlib import Path

import typer


def import_csv(path: Path = typer.Argument(..., exists=True, readable=True)) -> None:
    """Bulk-import readings from a CSV file."""
    raise typer.Exit(1)
