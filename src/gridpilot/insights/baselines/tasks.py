"""Weekly refit of baselines with ``auto_refit`` (the seed: "Retraining: weekly").

Every ``settings.baseline_refit_check_s`` the runtime refits, each in its own transaction, the
baselines whose newest version is a week old or older, on the latest whole UTC days as long as
the previous period. A baseline whose data no longer fits (e.g. a driver without data) is
logged and tried again at the next check.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.errors import GridpilotError
from gridpilot.core.runtime import Slot
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.db.schedules import claimed_periodic
from gridpilot.insights.baselines import service
from gridpilot.insights.baselines.models import Baseline

log = logging.getLogger(__name__)
REFIT_ACTOR = "system:baseline-refit"


async def refit_due(sessions: async_sessionmaker[AsyncSession], *, now: int | None = None) -> int:
    """Refit every baseline due; returns how many got a new version."""
    current = now if now is not None else now_ms()
    async with sessions() as session:
        due = await service.due_for_refit(session=session, now=current)
    done = 0
    for baseline_id in due:
        try:
            async with sessions() as session, session.begin():
                baseline = await session.get(Baseline, baseline_id)
                if baseline is None:
                    continue
                await service.refit(
                    session=session,
                    baseline=baseline,
                    actor=REFIT_ACTOR,
                    end_ms=current // MS_PER_DAY * MS_PER_DAY,
                )
            done += 1
        except GridpilotError as exc:
            log.warning("weekly refit of baseline %d failed: %s", baseline_id, exc.message)
    return done


class BaselineRuntime:
    """The weekly-refit check of one process (``stop()`` ends it)."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        interval = settings.baseline_refit_check_s
        self.job = claimed_periodic(sessions, "baseline-refit", interval, self.check)

    async def check(self) -> int:
        count = await refit_due(self.sessions)
        if count:
            log.info("refitted %d baselines", count)
        return count

    def start(self) -> None:
        self.job.start()

    async def stop(self) -> None:
        await self.job.stop()


async def start_baselines(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> BaselineRuntime:
    runtime = BaselineRuntime(settings, sessions)
    runtime.start()
    return runtime


#: The app's baseline refits (``core/runtime.py``).
BASELINES: Slot[BaselineRuntime] = Slot("baselines")
