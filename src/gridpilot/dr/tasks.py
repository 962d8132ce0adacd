"""The DR loop: every ``dr_interval_s`` (30 s), or at once when woken (a utility notification
was accepted), one ``step``: turn pending utility notifications into events, then bring every
started open event up to now (``lifecycle.advance``: start, measure, end; the status changes
and the intervals measured are published), then dispatch
(``dispatch.tick``: plan and send at the start, fall back, alert, restore after the end).

Each event and each notification is handled in its own transaction; the bus events are
published after the commit. Safe with several processes: transitions are compare-and-set and a
notification is claimed before it is processed. Tests call ``step(now_ms)`` with an explicit
time instead of running the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.alerts.lifecycle import event_payload
from gridpilot.control.events import publish_command_changes
from gridpilot.core.bus import EventBus
from gridpilot.core.events import ALERT_RAISED, DrEventChanged
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_and_wait, finish_then_cancel, reraise_if_stopping
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.dr import dispatch, events, lifecycle, utilities, webhook

log = logging.getLogger(__name__)


class DrRuntime:
    """Runs the DR loop in the background of one process (``stop()`` ends it)."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], bus: EventBus
    ) -> None:
        self.settings = settings
        self.interval_s = settings.dr_interval_s
        self.sessions = sessions
        self.bus = bus
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="gridpilot-dr")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def wake(self) -> None:
        """Run a step now (a notification is waiting)."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await finish_then_cancel(self.step())
            except Exception:
                reraise_if_stopping()
                log.exception("DR step failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            self._wake.clear()

    async def step(self, now_ms: int | None = None) -> list[DrEventChanged]:
        """One round at ``now_ms`` (default: now); the published changes."""
        now = clock_ms() if now_ms is None else now_ms
        published: list[DrEventChanged] = []
        published += await self.process_notifications(now)
        async with self.sessions() as session:
            due = await lifecycle.due_events(session=session, now_ms=now)
        for event_id in due:
            try:
                async with self.sessions() as session, session.begin():
                    progress = await lifecycle.advance(
                        session=session, event_id=event_id, now_ms=now
                    )
            except Exception:
                log.exception("DR event %d could not be advanced", event_id)
                continue
            await events.publish(self.bus, progress.changes)
            await events.publish_performance(self.bus, progress.performance)
            published += progress.changes
        await self.dispatch(now)
        return published

    async def dispatch(self, now_ms: int) -> None:
        """``dispatch.tick`` for every event to dispatch, each in its own transaction; the
        command changes and raised alerts are published after the commit."""
        async with self.sessions() as session:
            due = await dispatch.due(session=session, now_ms=now_ms)
        for event_id in due:
            try:
                async with self.sessions() as session, session.begin():
                    out = await dispatch.tick(
                        session=session, event_id=event_id, now_ms=now_ms, settings=self.settings
                    )
                    raised = [event_payload(alert) for alert in out.alerts]
            except Exception:
                log.exception("DR event %d could not be dispatched", event_id)
                continue
            await publish_command_changes(self.bus, out.commands)
            for payload in raised:
                await self.bus.publish(ALERT_RAISED.name, payload)

    async def process_notifications(self, now_ms: int) -> list[DrEventChanged]:
        """Turn pending utility notifications into events (``webhook.process_delivery``),
        each in its own transaction; delete old handled ones."""
        async with self.sessions() as session:
            pending = await utilities.pending_deliveries(session=session)
        published: list[DrEventChanged] = []
        for delivery_id in pending:
            try:
                async with self.sessions() as session, session.begin():
                    delivery = await utilities.claim_delivery(
                        session=session, delivery_id=delivery_id
                    )
                    if delivery is None:
                        continue  # another process has it
                    changes = await webhook.process_delivery(
                        session=session, delivery=delivery, now_ms=now_ms
                    )
            except Exception:
                log.exception("utility notification %d could not be processed", delivery_id)
                continue
            await events.publish(self.bus, changes)
            published += changes
        async with self.sessions() as session, session.begin():
            await utilities.prune_deliveries(session=session, now_ms=now_ms)
        return published


DR: Slot[DrRuntime] = Slot("dr")


async def start_dr(app: Any) -> DrRuntime:
    """Build and start the DR loop of ``app`` (its ``DR`` slot)."""
    shared = runtime_of(app)
    runtime = DrRuntime(shared.settings, shared.sessions, shared.bus)
    runtime.start()
    return runtime
