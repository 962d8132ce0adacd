"""Scheduled anomaly scans (off by default: ``settings.anomaly_scan_interval_s`` = 0).

Every interval each asset is scanned over the last 7 days at hourly buckets, in its own
transaction; new findings are published as ``anomaly.detected`` after the commit (findings
already stored are not repeated).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import asset_refs
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import GridpilotError
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.db.schedules import claimed_periodic
from gridpilot.insights.anomalies import service
from gridpilot.insights.anomalies.events import anomaly_event, publish_anomalies
from gridpilot.insights.data import SYSTEM

log = logging.getLogger(__name__)
SCAN_WINDOW_MS = 7 * MS_PER_DAY


async def scan_all(
    sessions: async_sessionmaker[AsyncSession], bus: EventBus, *, end_ms: int | None = None
) -> int:
    """Scan every asset over the 7 days before ``end_ms``; returns the new findings."""
    end = end_ms if end_ms is not None else now_ms()
    async with sessions() as session:
        asset_ids = [ref.id for ref in await asset_refs(session=session)]
    total = 0
    for asset_id in asset_ids:
        try:
            async with sessions() as session, session.begin():
                result = await service.scan_asset(
                    session=session, asset_id=asset_id, principal=SYSTEM,
                    start_ms=end - SCAN_WINDOW_MS, end_ms=end,
                )  # fmt: skip
                events = [anomaly_event(row) for row in result.stored]
        except GridpilotError as exc:
            log.warning("anomaly scan of asset %d failed: %s", asset_id, exc.message)
            continue
        await publish_anomalies(bus, events)
        total += len(events)
    return total


class AnomalyRuntime:
    """The scheduled-scan job of one process (``stop()`` ends it)."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        interval = settings.anomaly_scan_interval_s
        self.job = claimed_periodic(
            sessions, "anomaly-scan", interval, lambda: scan_all(sessions, bus)
        )

    def start(self) -> None:
        self.job.start()

    async def stop(self) -> None:
        await self.job.stop()


async def start_anomalies(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
) -> AnomalyRuntime:
    runtime = AnomalyRuntime(settings, sessions, bus)
    runtime.start()
    return runtime


#: The app's scheduled anomaly scans (``core/runtime.py``).
ANOMALIES: Slot[AnomalyRuntime] = Slot("anomalies")
