"""Retention: delete raw readings and rollups past their horizon, or of a deleted asset.

``settings.retention_{raw,1m,15m,1h,1d}_days`` (None keeps forever). Cutoffs are floored to UTC
midnight, so a bucket of any level (all divide a day) and a daily partition of ``readings`` is
either kept or removed whole. On PostgreSQL whole daily partitions are dropped (cheap, no bloat);
rows left older than the cutoff (other back ends, stray rows) are deleted.

The balance's stored energy of a level (``telemetry/series_energy.py``) goes with its rollups,
and each series' first remaining bucket is recomputed.

Pending rollup ranges are refreshed first, so no raw reading is removed before it has been rolled
up; should a writer add a pending range older than the cutoff meanwhile, the raw cutoff moves back
to that range's day and the data waits for the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY
from gridpilot.core.timestamps import now_ms as current_ms
from gridpilot.telemetry.partitions import drop_partitions_before
from gridpilot.telemetry.rollups import STEPS_MS, floor_to, lock_refresh, refresh_pending
from gridpilot.telemetry.series_energy import after_retention

log = logging.getLogger(__name__)


@dataclass
class RetentionReport:
    """What one retention run removed. Cutoffs are epoch ms (None: that data is kept forever)."""

    raw_cutoff_ms: int | None = None
    raw_rows_deleted: int = 0
    partitions_dropped: list[str] = field(default_factory=list)
    rollup_cutoffs_ms: dict[str, int | None] = field(default_factory=dict)
    rollups_deleted: dict[str, int] = field(default_factory=dict)
    series_refreshed: int = 0

    @property
    def removed_anything(self) -> bool:
        return bool(
            self.raw_rows_deleted or self.partitions_dropped or any(self.rollups_deleted.values())
        )


def retention_cutoff(days: int | None, now_ms: int) -> int | None:
    """Start of the oldest UTC day kept when keeping ``days`` days (None: keep everything)."""
    if days is None:
        return None
    return floor_to(now_ms - days * MS_PER_DAY, MS_PER_DAY)


def rollup_retention_days(settings: Settings) -> dict[str, int | None]:
    return {
        "1m": settings.retention_1m_days,
        "15m": settings.retention_15m_days,
        "1h": settings.retention_1h_days,
        "1d": settings.retention_1d_days,
    }


async def _raw_cutoff(session: AsyncSession, cutoff: int) -> int:
    """``cutoff`` moved back to the day of the oldest pending rollup range, if older."""
    oldest = await session.scalar(text("SELECT MIN(start_ms) FROM rollup_pending"))
    if oldest is not None and int(oldest) < cutoff:
        return floor_to(int(oldest), MS_PER_DAY)
    return cutoff


async def apply_retention(
    *, sessions: async_sessionmaker[AsyncSession], settings: Settings, now_ms: int | None = None
) -> RetentionReport:
    """Remove raw readings and rollups past their horizon; returns what was removed.

    Raw data goes in its own short transaction (dropping partitions locks ``readings``), then
    each rollup level. After partitions are dropped, a PostgreSQL writer that caches known
    partitions should forget them (``report.partitions_dropped`` non-empty).
    """
    now = current_ms() if now_ms is None else now_ms
    report = RetentionReport()
    report.series_refreshed = await refresh_pending(sessions=sessions, settings=settings)
    raw_cutoff = retention_cutoff(settings.retention_raw_days, now)
    if raw_cutoff is not None:
        async with sessions() as session, session.begin():
            raw_cutoff = await _raw_cutoff(session, raw_cutoff)
            connection = await session.connection()
            if connection.dialect.name == "postgresql":
                report.partitions_dropped = await drop_partitions_before(connection, raw_cutoff)
            deleted = await session.execute(
                text("DELETE FROM readings WHERE ts < :cutoff"), {"cutoff": raw_cutoff}
            )
            report.raw_rows_deleted = max(0, int(getattr(deleted, "rowcount", 0) or 0))
        report.raw_cutoff_ms = raw_cutoff
    for level, days in rollup_retention_days(settings).items():
        cutoff = retention_cutoff(days, now)
        report.rollup_cutoffs_ms[level] = cutoff
        if cutoff is None:
            report.rollups_deleted[level] = 0
            continue
        async with sessions() as session, session.begin():
            await lock_refresh(session)  # no refresh batch rewrites these series meanwhile
            deleted = await session.execute(
                text("DELETE FROM rollups WHERE step_ms = :step AND bucket_ms < :cutoff"),
                {"step": STEPS_MS[level], "cutoff": cutoff},
            )
            await after_retention(session, STEPS_MS[level], cutoff)
        report.rollups_deleted[level] = max(0, int(getattr(deleted, "rowcount", 0) or 0))
    if report.removed_anything:
        log.info(
            "retention removed %d raw rows, %d partitions, rollups %s",
            report.raw_rows_deleted,
            len(report.partitions_dropped),
            report.rollups_deleted,
        )
    return report


_DELETE_ASSET_SQL = (
    "DELETE FROM readings WHERE asset_id = :asset_id",
    "DELETE FROM rollups WHERE asset_id = :asset_id",
    "DELETE FROM rollup_pending WHERE asset_id = :asset_id",
    "DELETE FROM balance_energy WHERE asset_id = :asset_id",
    "DELETE FROM balance_energy_series WHERE asset_id = :asset_id",
)


async def delete_asset_telemetry(*, session: AsyncSession, asset_id: int) -> int:
    """Delete every reading, rollup and pending range of ``asset_id`` (a deleted asset).

    Returns the number of rows removed.
    """
    removed = 0
    for sql in _DELETE_ASSET_SQL:
        result = await session.execute(text(sql), {"asset_id": asset_id})
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed
