"""The reports scheduler: every ``reports_interval_s`` (60 s) one ``step``: run each due
scheduled report, deliver it, and prune runs past ``reports_retention_days``.

Safe with several processes: a due run is claimed by a compare-and-set on the definition's
``next_run_ms`` and by the run row's unique ``schedule_key`` (``service.claim_due``), each in a
transaction committed before the report is built, so a period is reported once whatever the
number of processes. A process that was down catches the latest missed period up once. Tests
call ``step(now_ms)`` with an explicit time instead of running the loop.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.periodic import Periodic, run_each_due
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.reports import delivery, service
from gridpilot.reports.models import ReportDefinition, ReportRun

log = logging.getLogger(__name__)


class ReportsRuntime:
    """Runs the scheduler in the background of one process (``stop()`` ends it)."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.periodic = Periodic(
            "reports", settings.reports_interval_s, self.step, first_delay_s=5.0
        )

    def start(self) -> None:
        self.periodic.start()

    async def stop(self) -> None:
        await self.periodic.stop()

    async def step(self, now_ms: int | None = None) -> list[int]:
        """One round at ``now_ms`` (default: now); the ids of the runs this process made."""
        now = clock_ms() if now_ms is None else now_ms
        async with self.sessions() as session:
            due = await service.due_definitions(session=session, now_ms=now)
        made = await run_each_due(due, lambda i: self.run_due(i, now), "scheduled report")
        async with self.sessions() as session, session.begin():
            await service.prune(
                session=session, now_ms=now, retention_days=self.settings.reports_retention_days
            )
        return made

    async def run_due(self, definition_id: int, now_ms: int) -> int | None:
        """Claim, build and deliver one due report; its run id (None: not ours)."""
        async with self.sessions() as session, session.begin():
            claimed = await service.claim_due(
                session=session, definition_id=definition_id, now_ms=now_ms
            )
            if claimed is None:
                return None
            run_id = claimed[1].id
        async with self.sessions() as session, session.begin():
            definition, run = await self._load(session, definition_id, run_id)
            principal = service.system_principal(definition)
            await service.execute(
                session=session,
                principal=principal,
                definition=definition,
                run=run,
                settings=self.settings,
            )
            done = run.status == "done"
        if done and definition.recipients:
            async with self.sessions() as session, session.begin():
                definition, run = await self._load(session, definition_id, run_id)
                await delivery.deliver(
                    session=session, settings=self.settings, definition=definition, run=run
                )
        return run_id

    @staticmethod
    async def _load(
        session: AsyncSession, definition_id: int, run_id: int
    ) -> tuple[ReportDefinition, ReportRun]:
        definition = await session.get(ReportDefinition, definition_id)
        run = await session.get(ReportRun, run_id)
        assert definition is not None and run is not None
        return definition, run


REPORTS: Slot[ReportsRuntime] = Slot("reports")


async def start_reports(app: Any) -> ReportsRuntime:
    """Build and start the reports scheduler of ``app`` (its ``REPORTS`` slot)."""
    shared = runtime_of(app)
    runtime = ReportsRuntime(shared.settings, shared.sessions)
    runtime.start()
    return runtime
