"""A background job run every N seconds in one task of this process, until ``stop()``.

A failing run is logged and the next one still happens: a scheduled job never dies of one bad
run. A run in progress when ``stop()`` is called ends first (``core/tasks.py``: at most
``STOP_GRACE_S``, then it is cancelled). An interval of 0 (or less) means the job is off. With
a ``claim`` (``db.schedules``), a round runs only when the claim succeeds: one process of
several runs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel, reraise_if_stopping

log = logging.getLogger(__name__)


class Periodic:
    """Run ``job`` every ``interval_s`` seconds, the first time after ``first_delay_s``
    (default: one interval)."""

    def __init__(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[object]],
        *,
        first_delay_s: float | None = None,
        claim: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.job = job
        self.claim = claim
        self.runs = 0  # rounds this process ran (claimed ones only)
        self.first_delay_s = interval_s if first_delay_s is None else first_delay_s
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"gridpilot-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        await asyncio.sleep(self.first_delay_s)
        while True:
            await self.run_round()
            await asyncio.sleep(self.interval_s)

    async def run_round(self) -> bool:
        """Run the job once if the claim allows it; whether it ran (failures are logged)."""
        try:
            if self.claim is not None and not await self.claim():
                log.debug("scheduled job %s: another process runs this round", self.name)
                return False
            self.runs += 1
            await finish_then_cancel(self.job())
        except Exception:
            reraise_if_stopping()
            log.exception("scheduled job %s failed", self.name)
        return True


async def run_each_due(
    due: list[int], run_one: Callable[[int], Awaitable[int | None]], what: str
) -> list[int]:
    """``run_one`` for each due id in turn; a failing one is logged (``what`` names it) and the
    next runs. Returns the run ids made (``run_one`` answers None for one another process took)."""
    made: list[int] = []
    for item in due:
        try:
            run_id = await run_one(item)
        except Exception:
            reraise_if_stopping()
            log.exception("%s %d failed", what, item)
            continue
        if run_id is not None:
            made.append(run_id)
    return made
