"""The command scheduler: every ``command_schedules_interval_s`` (1 s) one ``step``: claim each
due occurrence, queue its commands, publish ``command.updated`` after the commit (the command
link then sends them to the online devices).

Safe with several processes: each occurrence is claimed by a compare-and-set and a unique run
row (``runs.claim_due``) in a transaction committed before any command is queued, so it runs
once whatever the number of processes. Tests call ``step(now_ms)`` with an explicit time.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control.events import publish_command_changes
from gridpilot.core.bus import EventBus
from gridpilot.core.periodic import Periodic, run_each_due
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.scheduling import runs
from gridpilot.scheduling.models import CommandSchedule, CommandScheduleRun

log = logging.getLogger(__name__)


class ScheduleRuntime:
    """Runs the command scheduler in the background of one process (``stop()`` ends it)."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.bus = bus
        self.periodic = Periodic(
            "command-schedules", settings.command_schedules_interval_s, self.step
        )

    def start(self) -> None:
        self.periodic.start()

    async def stop(self) -> None:
        await self.periodic.stop()

    async def step(self, now_ms: int | None = None) -> list[int]:
        """One round at ``now_ms`` (default: now); the ids of the runs this process made."""
        now = clock_ms() if now_ms is None else now_ms
        async with self.sessions() as session:
            due = await runs.due_schedules(session=session, now_ms=now)
        made = await run_each_due(due, lambda i: self.run_due(i, now), "command schedule")
        if due:
            async with self.sessions() as session, session.begin():
                await runs.interrupt_stale(session=session, now_ms=now)
        return made

    async def run_due(self, schedule_id: int, now_ms: int) -> int | None:
        """Claim and run one due occurrence; its run id (None: not ours)."""
        async with self.sessions() as session, session.begin():
            run = await runs.claim_due(session=session, schedule_id=schedule_id, now_ms=now_ms)
            if run is None:
                return None
            run_id, status = run.id, run.status
        if status != "running":
            return run_id  # skipped by policy
        async with self.sessions() as session, session.begin():
            schedule = await session.get(CommandSchedule, schedule_id)
            run = await session.get(CommandScheduleRun, run_id)
            assert schedule is not None and run is not None
            changes = await runs.execute(
                session=session,
                schedule=schedule,
                run=run,
                settings=self.settings,
                now_ms=clock_ms(),  # the commands are queued now, whatever the round's time
            )
        await publish_command_changes(self.bus, changes)
        return run_id


async def start_schedules(app: Any) -> ScheduleRuntime:
    """Build and start the command scheduler of ``app`` (``COMMAND_SCHEDULES``)."""
    runtime = ScheduleRuntime(
        runtime_of(app).settings, runtime_of(app).sessions, runtime_of(app).bus
    )
    runtime.start()
    return runtime


#: The app's command scheduler (``core/runtime.py``).
COMMAND_SCHEDULES: Slot[ScheduleRuntime] = Slot("command_schedules")
