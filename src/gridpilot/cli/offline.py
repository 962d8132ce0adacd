"""The telemetry path of a command that writes data without a server (import, backfill)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gridpilot.core.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from gridpilot.core.bus import InProcessBus
    from gridpilot.telemetry.tasks import TelemetryRuntime


@dataclass
class OfflineWriter:
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus
    telemetry: TelemetryRuntime


@asynccontextmanager
async def offline_writer(settings: Settings) -> AsyncIterator[OfflineWriter]:
    """Open the database of ``settings`` (migrated when it migrates itself, metric catalogue
    seeded) with a telemetry runtime without background loops; stops and closes it all after."""
    from gridpilot.assets.service import ensure_builtin_metrics
    from gridpilot.core.bus import InProcessBus
    from gridpilot.core.metrics import Metrics
    from gridpilot.db.engine import make_engine, make_sessionmaker
    from gridpilot.db.migrate import upgrade
    from gridpilot.telemetry.tasks import TelemetryRuntime

    engine = make_engine(settings)
    try:
        if settings.should_auto_migrate:
            await upgrade(engine)
        sessions = make_sessionmaker(engine)
        async with sessions() as session, session.begin():
            await ensure_builtin_metrics(session=session)
        bus = InProcessBus()
        runtime = TelemetryRuntime(settings, sessions, engine, bus, Metrics())
        await runtime.start(loops=False)
        try:
            yield OfflineWriter(sessions, bus, runtime)
        finally:
            await runtime.stop()
    finally:
        await engine.dispose()
