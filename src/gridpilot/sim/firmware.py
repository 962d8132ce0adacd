"""The simulator's devices take part in firmware roll-outs, so the demo can show one.

While the simulator runs, every ``interval_s`` each of its assets offered an image in a roll-out
moves one step, as a real device would report it: offered -> downloading -> installed with the
image's version (verified), or failed. Which devices fail is decided by the simulator's seed, the
roll-out and the asset (``fails``): the same run fails the same devices, about ``FAIL_SHARE`` of
them. Each step's events (``firmware.events``) are published on ``bus`` after its commit.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.bus import EventBus
from gridpilot.core.errors import GridpilotError
from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel, reraise_if_stopping
from gridpilot.firmware import events
from gridpilot.firmware import service as firmware
from gridpilot.firmware.schemas import DeviceReport
from gridpilot.sim.provision import SIMULATOR

log = logging.getLogger(__name__)

#: The share of simulated devices whose update fails (a checksum mismatch after download).
FAIL_SHARE = 0.05


def fails(seed: int, rollout_id: int, asset_id: int, share: float = FAIL_SHARE) -> bool:
    """Whether this device's update fails in this roll-out (seeded, so runs repeat)."""
    return random.Random(f"{seed}:{rollout_id}:{asset_id}").random() < share


class FirmwareParticipant:
    """Moves the simulated devices' updates on, one step per device per ``interval_s``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        served: Callable[[], Collection[int]],
        seed: int,
        share: float = FAIL_SHARE,
        interval_s: float = 2.0,
        bus: EventBus | None = None,
    ) -> None:
        self.sessions, self.served, self.seed = sessions, served, seed
        self.bus = bus
        self.share, self.interval_s = share, interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gridpilot-sim-firmware")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await finish_then_cancel(self.step())
            except Exception:
                reraise_if_stopping()
                log.exception("simulated firmware updates failed")

    def _next(self, rollout_id: int, asset_id: int, state: str, version: str) -> DeviceReport:
        if state == "offered":
            return DeviceReport(state="downloading")
        if fails(self.seed, rollout_id, asset_id, self.share):
            return DeviceReport(state="failed", error="checksum mismatch (simulated)")
        return DeviceReport(state="installed", version=version)

    async def step(self) -> int:
        """Move each served device one step; how many moved."""
        async with self.sessions() as session:
            steps = await firmware.open_steps(session=session, asset_ids=self.served())
        moved = 0
        for rollout_id, asset_id, state, version in steps:
            report = self._next(rollout_id, asset_id, state, version)
            try:
                async with self.sessions() as session, session.begin():
                    await firmware.report(
                        session=session,
                        principal=SIMULATOR,
                        rollout_id=rollout_id,
                        asset_id=asset_id,
                        data=report,
                    )
                if self.bus is not None:
                    await events.publish(self.bus, events.take(session))
                moved += 1
            except GridpilotError as error:  # moved on meanwhile (another process, a pause)
                log.info("simulated device %d in roll-out %d: %s", asset_id, rollout_id, error)
        return moved
