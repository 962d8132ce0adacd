"""Make, restore and prune backups of the configured database (keyword-only services).

- :func:`make_backup` writes ``gridpilot-<UTC time>.db`` (SQLite) or ``.pgdump`` (PostgreSQL)
  and its manifest into a directory, under an exclusive lock of that directory (one backup at
  a time across the processes of a host; PostgreSQL adds an advisory lock in the database);
- :func:`restore_backup` checks the manifest (checksum, migration head no newer than this
  gridpilot's) and refuses a non-empty database unless ``force``;
- :func:`prune` deletes backups (and manifests) older than the retention.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from gridpilot import __version__
from gridpilot.backup import postgres, sqlite
from gridpilot.backup.manifest import MANIFEST_SUFFIX, BackupError, Manifest, sha256_of
from gridpilot.core.settings import Settings
from gridpilot.db.migrate import alembic_config

log = logging.getLogger(__name__)

PREFIX = "gridpilot-"
SUFFIXES = {"sqlite": ".db", "postgresql": ".pgdump"}
LOCK_NAME = ".gridpilot-backup.lock"

#: ``progress(done, total)``: pages (SQLite) or tables (PostgreSQL).
Progress = Callable[[int, int], None]


def backend_of(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


def sqlite_path(settings: Settings) -> Path:
    """The SQLite database file of the settings (``sqlite:///FILE``)."""
    url = settings.resolved_database_url
    return Path(url.split(":///", 1)[1])


def plain_url(settings: Settings) -> str:
    """The PostgreSQL URL without the async driver (for libpq tools and asyncpg)."""
    return settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def backup_dir(settings: Settings) -> Path:
    return settings.backup_dir or settings.data_dir / "backups"


@contextmanager
def exclusive(directory: Path) -> Iterator[None]:
    """Hold the backup lock of ``directory``; ``BackupError`` when another process holds it."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(directory / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"another backup into {directory} is running; try again when it has finished"
            ) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def known_revision(revision: str | None) -> bool:
    """Whether this gridpilot's migrations know ``revision`` (else the backup is newer)."""
    if revision is None:
        return True
    try:
        ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
    except CommandError:
        return False
    return True


async def make_backup(
    *, settings: Settings, to_dir: Path | None = None, progress: Progress | None = None
) -> tuple[Path, Manifest]:
    """Back up the configured database into ``to_dir`` (default ``backup_dir``)."""
    directory = to_dir or backup_dir(settings)
    backend = backend_of(settings)
    started = time.perf_counter()
    created = dt.datetime.now(dt.UTC)
    name = f"{PREFIX}{created:%Y%m%dT%H%M%S%fZ}{SUFFIXES[backend]}"
    with exclusive(directory):
        target = directory / name
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            if backend == "sqlite":
                source = sqlite_path(settings)
                if not source.exists():
                    raise BackupError(f"no database at {source}: nothing to back up")
                counts, head = await asyncio.to_thread(
                    sqlite.backup_sqlite, source, partial, progress
                )
            else:
                url = plain_url(settings)
                counts, head = await postgres.backup_postgres(url, partial, progress)
            partial.chmod(0o600)
            digest = await asyncio.to_thread(sha256_of, partial)
            partial.rename(target)
        finally:
            partial.unlink(missing_ok=True)
        manifest = Manifest(
            gridpilot_version=__version__,
            backend=backend,
            migration_head=head,
            created_at=created.isoformat().replace("+00:00", "Z"),
            file=name,
            size_bytes=target.stat().st_size,
            sha256=digest,
            row_counts=counts,
            duration_s=round(time.perf_counter() - started, 3),
        )
        manifest.write(directory).chmod(0o600)
    log.info("backup %s written (%d bytes)", target, manifest.size_bytes)
    return target, manifest


async def restore_backup(
    *, settings: Settings, backup: Path, force: bool = False, progress: Progress | None = None
) -> tuple[Manifest, dict[str, int]]:
    """Restore ``backup`` into the configured database (the server stopped); the manifest and
    the row counts of the restored database. Refuses a corrupt file, a backup of another back
    end or of a newer migration head, and a database with data unless ``force``."""
    manifest = Manifest.for_backup(backup)
    backend = backend_of(settings)
    if manifest.backend != backend:
        raise BackupError(
            f"{backup.name} is a {manifest.backend} backup; the configured database is {backend}"
        )
    if not known_revision(manifest.migration_head):
        raise BackupError(
            f"{backup.name} was made at migration {manifest.migration_head}, newer than this "
            f"gridpilot ({__version__}) knows: upgrade gridpilot first"
        )
    if await asyncio.to_thread(sha256_of, backup) != manifest.sha256:
        raise BackupError(f"{backup.name} does not match its manifest's SHA-256: corrupt copy")
    if backend == "sqlite":
        database = sqlite_path(settings)
        if not force and await asyncio.to_thread(sqlite.has_data, database):
            raise BackupError(f"{database} holds data: restore into it only with --force")
        counts = await asyncio.to_thread(sqlite.restore_sqlite, backup, database, progress)
    else:
        url = plain_url(settings)
        if not force and await postgres.has_data(url):
            raise BackupError("the configured database holds data: restore only with --force")
        counts = await postgres.restore_postgres(backup, url, len(manifest.row_counts), progress)
    return manifest, counts


def backups_in(directory: Path) -> list[Path]:
    """The backup files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    files = [
        p
        for p in directory.iterdir()
        if p.name.startswith(PREFIX) and p.suffix in SUFFIXES.values()
    ]
    return sorted(files, key=lambda p: p.name)


def made_at(path: Path) -> dt.datetime | None:
    """When the backup ``path`` was made (from its name), None for a foreign name."""
    stamp = path.name.removeprefix(PREFIX).split(".", 1)[0]
    try:
        return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def prune(*, directory: Path, retention_days: int, now: dt.datetime | None = None) -> list[Path]:
    """Delete backups (with their manifests) made more than ``retention_days`` before ``now``;
    the deleted files. The newest backup is always kept."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=retention_days)
    deleted = []
    for path in backups_in(directory)[:-1]:
        when = made_at(path)
        if when is not None and when < cutoff:
            path.unlink()
            path.with_name(path.name + MANIFEST_SUFFIX).unlink(missing_ok=True)
            deleted.append(path)
    return deleted
