"""Device commands for the simulator running inside the API process (the demo).

Simulated devices of ``gridpilot simulate --via mqtt`` receive commands over MQTT; the
in-process simulator has no MQTT connection, so ``LocalCommandLink`` does what the MQTT command
link and a device do together, through the same control services: it claims each queued,
unexpired command of a simulated asset that is online (queued -> sent, a compare-and-set, as
the MQTT link does), hands the device message (``control.topics.command_message``) to the
simulator, and records the simulated device's acknowledgements (``acknowledged``, then
``succeeded`` or ``failed``) as if they had arrived on ``{base}/commands/ack``.

It wakes on ``command.updated`` (a new queued command) and ``asset.status`` (an asset came
online), and polls every ``GRIDPILOT_COMMAND_CHECK_INTERVAL_S`` for commands queued by other
processes. The MQTT command link of the same process leaves these assets alone.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control import service
from gridpilot.control.events import (
    publish_command_changes,
)
from gridpilot.control.inbound import handle_ack
from gridpilot.control.models import Command
from gridpilot.control.topics import command_message
from gridpilot.control.wakeup import CommandWakeup
from gridpilot.core.bus import EventBus
from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel, reraise_if_stopping
from gridpilot.core.timestamps import now_ms
from gridpilot.sim.realtime import LiveSimulator

log = logging.getLogger(__name__)

ACTOR = "system:simulator"


class LocalCommandLink:
    """Delivers the commands of ``simulator``'s assets until ``stop()``."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        simulator: LiveSimulator,
        interval_s: float,
    ) -> None:
        self.sessions = sessions
        self.bus = bus
        self.simulator = simulator
        self.interval_s = interval_s
        self.delivered = 0  # commands handed to the simulator
        self.wakeup = CommandWakeup(bus, wanted=lambda asset_id: asset_id in simulator.live)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.wakeup.start()
        self._task = asyncio.create_task(self._run(), name="gridpilot-sim-commands")

    async def stop(self) -> None:
        self.wakeup.stop()
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            self.wakeup.event.clear()
            try:
                await finish_then_cancel(self.deliver_pending())
            except Exception:
                reraise_if_stopping()
                log.exception("simulator commands: delivery failed")
            await self.wakeup.wait(self.interval_s)

    async def deliver_pending(self) -> int:
        """Deliver every sendable command of the simulated assets; how many were delivered."""
        async with self.sessions() as session:
            pending = await service.sendable(
                session=session, now_ms=now_ms(), only_assets=list(self.simulator.live)
            )
        delivered = 0
        for command, _ in pending:
            if await self._deliver(command):
                delivered += 1
        self.delivered += delivered
        return delivered

    async def _deliver(self, command: Command) -> bool:
        async with self.sessions() as session, session.begin():
            claimed = await service.transition(
                session=session,
                command_id=command.id,
                to=service.SENT,
                at_ms=now_ms(),
                actor=ACTOR,
                condition=Command.expires_ms > now_ms(),
            )
        if claimed is None:
            return False  # another process sent it, or it expired meanwhile
        await publish_command_changes(self.bus, [claimed])
        for ack in self.simulator.acknowledge(command.asset_id, command_message(command)):
            await handle_ack(
                sessions=self.sessions,
                bus=self.bus,
                asset_id=command.asset_id,
                site_id=command.site_id,
                payload=json.dumps(ack).encode(),
                received_ms=now_ms(),
            )
        return True
