"""Background work of the telemetry domain: the batched writer, rollups and retention.

(Being built: see issue #3.)
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridpilot.core.bus import EventBus
from gridpilot.core.metrics import Metrics
from gridpilot.core.settings import Settings


class TelemetryRuntime:
    """Owns the writer and the periodic rollup/retention loops of one process."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        engine: AsyncEngine,
        bus: EventBus,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.engine = engine
        self.bus = bus
        self.metrics = metrics

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
