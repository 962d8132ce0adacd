"""Background work of the control domain for one process.

``ControlRuntime`` subscribes the ``StatusTracker`` to ``readings.stored``/``asset.status``/
``asset.changed`` and runs three loops: recording assets that come online, the staleness check
with last-seen saves (every ``status_check_interval_s``), and the command expiry sweep (every
``command_check_interval_s``). Sending commands over MQTT is the command link's job
(``gridpilot.ingest.command_link``), started next to it when ``GRIDPILOT_MQTT_URL`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control import service
from gridpilot.control.events import ASSET_STATUS, CommandChange, publish_command_changes
from gridpilot.control.status import StatusPolicy
from gridpilot.control.tracker import StatusTracker
from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_all, finish_then_cancel, reraise_if_stopping
from gridpilot.core.timestamps import now_ms

log = logging.getLogger(__name__)


def status_policy(settings: Settings) -> StatusPolicy:
    return StatusPolicy(
        factor=settings.status_stale_factor,
        default_interval_s=settings.status_default_interval_s,
        min_stale_s=settings.status_min_stale_s,
    )


class ControlRuntime:
    """Status tracking, staleness checks and command expiry (``stop()`` ends them)."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.bus = bus
        self.tracker = StatusTracker(sessions, bus, status_policy(settings))
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self, *, loops: bool = True) -> None:
        self._unsubscribe = [
            self.bus.subscribe(catalogue.READINGS_STORED.name, self.tracker.on_readings_stored),
            self.bus.subscribe(ASSET_STATUS, self.tracker.on_status),
            self.bus.subscribe(catalogue.ASSET_CHANGED.name, self.tracker.on_asset_changed),
        ]
        if loops:
            self._tasks = [
                asyncio.create_task(self.tracker.run(), name="gridpilot-status-record"),
                asyncio.create_task(
                    self._every(self.settings.status_check_interval_s, self.check_staleness),
                    name="gridpilot-status-staleness",
                ),
                asyncio.create_task(
                    self._every(self.settings.command_check_interval_s, self.expire_commands),
                    name="gridpilot-command-expiry",
                ),
            ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_all(tasks)  # a job in progress ends first (bounded)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        with contextlib.suppress(Exception):
            await self.tracker.flush()

    async def check_staleness(self, now: int | None = None) -> None:
        await self.tracker.check_staleness(now)

    async def expire_commands(self, now: int | None = None) -> list[CommandChange]:
        """Expire every open command past its TTL; the changes made."""
        now = now_ms() if now is None else now
        async with self.sessions() as session, session.begin():
            changes = await service.expire_due(session=session, now_ms=now)
        await publish_command_changes(self.bus, changes)
        return changes

    @staticmethod
    async def _every(interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await finish_then_cancel(job())
            except Exception:
                reraise_if_stopping()
                log.exception("control job %s failed", getattr(job, "__name__", job))


async def start_control(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
) -> ControlRuntime:
    runtime = ControlRuntime(settings, sessions, bus)
    await runtime.start()
    return runtime


#: The app's status tracker, staleness and expiry loops (``core/runtime.py``).
CONTROL: Slot[ControlRuntime] = Slot("control")
