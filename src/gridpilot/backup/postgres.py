"""PostgreSQL backups with ``pg_dump --format=custom`` and ``pg_restore``.

The dump and the manifest's row counts see one snapshot: a connection opens a REPEATABLE READ
transaction, exports its snapshot (``pg_export_snapshot``), counts the rows, and ``pg_dump
--snapshot`` dumps exactly that state while the transaction stays open. The same connection
holds an advisory lock, so two backups of one database never run at once, whichever hosts
they run on. The password goes to the tools in ``PGPASSWORD``, never on their command line.

References: PostgreSQL 15 docs, pg_dump (--snapshot, --format=custom), pg_restore, "Snapshot
Synchronization Functions".
"""

# ruff: noqa: S608  (table names come from the catalogue, quoted with quote_ident)

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from gridpilot.backup.manifest import DATA_TABLES, BackupError, quote_ident

#: pg_advisory_lock key of backups: "gpbackup" read as an integer.
ADVISORY_KEY = 0x6770_6261_636B_7570 & 0x7FFF_FFFF_FFFF_FFFF
_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
"""
_DUMPING = re.compile(r'dumping contents of table "?(?:public\.)?([^"\s]+)"?')
_RESTORING = re.compile(r"processing data for table \"?(?:public\.)?([^\"\s]+)\"?")

#: ``progress(done, total)`` in tables.
Progress = Callable[[int, int], None]


def tool(name: str) -> str:
    """The path of ``pg_dump``/``pg_restore``; ``BackupError`` naming it when it is missing."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"`{name}` was not found on PATH: PostgreSQL backups need the PostgreSQL client "
            f"tools (e.g. apt install postgresql-client, of the server's major version or newer)"
        )
    return path


def connection_args(url: str) -> tuple[list[str], dict[str, str], dict[str, object]]:
    """libpq arguments, environment (PGPASSWORD) and asyncpg keywords of a database URL."""
    parsed = make_url(url)
    args = ["--host", parsed.host or "127.0.0.1", "--port", str(parsed.port or 5432)]
    args += ["--username", parsed.username or "postgres", "--dbname", parsed.database or ""]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    keywords: dict[str, object] = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password,
        "database": parsed.database,
    }
    return args, env, keywords


async def row_counts(connection: asyncpg.Connection) -> dict[str, int]:
    names = [row["relname"] for row in await connection.fetch(_TABLES)]
    return {
        name: int(await connection.fetchval(f"SELECT COUNT(*) FROM public.{quote_ident(name)}"))
        for name in names
    }


async def revision(connection: asyncpg.Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    value = await connection.fetchval("SELECT version_num FROM alembic_version")
    return str(value) if value is not None else None


async def _run_tool(
    command: list[str], env: dict[str, str], pattern: re.Pattern[str], on_table: Callable[[], None]
) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    errors: list[str] = []
    async for raw in process.stderr:
        line = raw.decode(errors="replace").rstrip()
        if pattern.search(line):
            on_table()
        elif "error" in line.lower() or "fatal" in line.lower():
            errors.append(line)
    if await process.wait() != 0:
        name = Path(command[0]).name
        raise BackupError(f"{name} failed: " + ("; ".join(errors[-5:]) or "see its output"))


async def backup_postgres(
    url: str, target: Path, progress: Progress | None = None
) -> tuple[dict[str, int], str | None]:
    """Dump the database of ``url`` to ``target`` (custom format); row counts and revision."""
    pg_dump = tool("pg_dump")
    args, env, keywords = connection_args(url)
    connection = await asyncpg.connect(**keywords)
    try:
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY):
            raise BackupError("another backup of this database is running; try again later")
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await connection.fetchval("SELECT pg_export_snapshot()")
            counts = await row_counts(connection)
            head = await revision(connection, counts)
            done = [0]

            def on_table() -> None:
                done[0] += 1
                if progress is not None:
                    progress(min(done[0], len(counts)), len(counts))

            command = [pg_dump, *args, "--format=custom", "--verbose", "--no-owner"]
            command += ["--snapshot", str(snapshot), "--file", str(target)]
            await _run_tool(command, env, _DUMPING, on_table)
    finally:
        await connection.close()  # ends the advisory lock too
    return counts, head


async def has_data(url: str) -> bool:
    """Whether the database holds users, sites, assets or readings."""
    _, _, keywords = connection_args(url)
    connection = await asyncpg.connect(**keywords)
    try:
        present = {row["relname"] for row in await connection.fetch(_TABLES)}
        for table in DATA_TABLES:
            if table in present and await connection.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM public.{quote_ident(table)})"
            ):
                return True
        return False
    finally:
        await connection.close()


async def restore_postgres(
    backup: Path, url: str, tables: int, progress: Progress | None = None
) -> dict[str, int]:
    """Replace the ``public`` schema of the database of ``url`` by a custom-format dump: the
    schema is dropped and made again, then ``pg_restore`` loads the dump in one transaction
    (``--clean`` cannot drop partitions' inherited keys); the row counts afterwards."""
    pg_restore = tool("pg_restore")
    args, env, keywords = connection_args(url)
    connection = await asyncpg.connect(**keywords)
    try:
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()
    done = [0]

    def on_table() -> None:
        done[0] += 1
        if progress is not None:
            progress(min(done[0], tables), tables)

    command = [pg_restore, *args, "--no-owner", "--verbose", "--single-transaction"]
    command += ["--exit-on-error", str(backup)]
    await _run_tool(command, env, _RESTORING, on_table)
    connection = await asyncpg.connect(**keywords)
    try:
        return await row_counts(connection)
    finally:
        await connection.close()
