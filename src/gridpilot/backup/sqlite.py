"""SQLite backups through SQLite's online backup API (``sqlite3.Connection.backup``).

The source connection holds one read transaction for the whole copy: in WAL mode the server
keeps writing meanwhile, and the copy is the database as of the transaction's start (no restart
of the backup on concurrent writes, no writer blocked). Rows are counted inside the same
transaction, so the manifest's counts are those of the copy.

References: https://www.sqlite.org/backup.html; https://www.sqlite.org/wal.html (snapshot
isolation of readers).
"""

# ruff: noqa: S608  (table names come from the catalogue, quoted with quote_ident)

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from gridpilot.backup.manifest import DATA_TABLES, quote_ident

#: Pages copied per step (4 KiB pages: 4 MiB per step); a progress callback runs after each.
PAGES_PER_STEP = 1024

#: ``progress(done, total)`` in pages.
Progress = Callable[[int, int], None]


def _tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [name for (name,) in rows]


def row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows of every table (names come from sqlite_master, quoted)."""
    return {
        name: int(connection.execute(f"SELECT COUNT(*) FROM {quote_ident(name)}").fetchone()[0])
        for name in _tables(connection)
    }


def revision(connection: sqlite3.Connection) -> str | None:
    if "alembic_version" not in _tables(connection):
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else None


def backup_sqlite(
    source: Path, target: Path, progress: Progress | None = None
) -> tuple[dict[str, int], str | None]:
    """Copy the live database ``source`` to the new file ``target``; the row counts per table
    and the migration revision of the copy."""
    with (
        closing(sqlite3.connect(source, isolation_level=None, timeout=30)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.execute("BEGIN")  # one snapshot for the copy and the counts
        try:
            counts, head = row_counts(src), revision(src)

            def step(_status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        finally:
            src.execute("COMMIT")
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (no -wal beside it)
    return counts, head


def has_data(database: Path) -> bool:
    """Whether ``database`` exists and holds users, sites, assets or readings."""
    if not database.exists():
        return False
    with closing(sqlite3.connect(database, timeout=30)) as connection:
        present = set(_tables(connection))
        return any(
            connection.execute(f"SELECT 1 FROM {quote_ident(table)} LIMIT 1").fetchone() is not None
            for table in DATA_TABLES
            if table in present
        )


def restore_sqlite(
    backup: Path, database: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Overwrite ``database`` with the backup file's pages (SQLite's backup API, the other way
    round); the row counts of the restored database. The server must be stopped."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(database, timeout=30)) as dst,
    ):

        def step(_status: int, remaining: int, total: int) -> None:
            if progress is not None:
                progress(total - remaining, total)

        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        dst.execute("PRAGMA journal_mode=WAL")
        return row_counts(dst)
