"""The scheduled backup of ``serve``: every ``backup_interval_s`` (a day by default) one process
of an installation (``db.schedules`` claim) backs the database up into ``backup_dir`` and deletes
backups older than ``backup_retention_days``. A backup already running (``gridpilot backup`` by
hand, another host on the same directory) makes the round skip, logged."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.backup import service
from gridpilot.backup.manifest import BackupError
from gridpilot.core.periodic import Periodic
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.db.schedules import claimed_periodic

log = logging.getLogger(__name__)
JOB = "backup"


async def scheduled_backup(settings: Settings) -> None:
    """One round: back up, then prune (a failed backup prunes nothing)."""
    try:
        path, manifest = await service.make_backup(settings=settings)
    except BackupError as exc:
        log.error("scheduled backup failed: %s", exc.message)
        return
    deleted = service.prune(directory=path.parent, retention_days=settings.backup_retention_days)
    log.info(
        "scheduled backup %s (%d bytes, %.1f s); %d old backups deleted",
        path.name, manifest.size_bytes, manifest.duration_s, len(deleted),
    )  # fmt: skip


async def start_backups(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Periodic:
    """The started backup job (off when ``backup_interval_s`` is 0)."""
    interval = settings.backup_interval_s
    job = claimed_periodic(sessions, JOB, interval, lambda: scheduled_backup(settings))
    job.start()
    return job


#: The app's scheduled backup job (``core/runtime.py``).
BACKUPS: Slot[Periodic] = Slot("backups")
