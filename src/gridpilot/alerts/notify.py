"""The notifier: delivers the outbox (webhooks and e-mail) with retries, one task per message.

Every ``notify_poll_interval_s`` (or at once when woken) it claims the due deliveries and sends
each in its own task (at most ``MAX_IN_FLIGHT`` at a time), so a slow or failing receiver never
holds up the others. Failures are retried after ``notify_retry_base_s`` x 2^(attempt-1) (capped at
``notify_retry_max_s``) until ``notify_max_attempts``, then marked ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.alerts import mailer, outbox, webhook
from gridpilot.alerts.models import NotificationChannel, NotificationDelivery
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import (
    cancel_all,
    cancel_and_wait,
    finish_then_cancel,
    reraise_if_stopping,
)
from gridpilot.core.timestamps import MS_PER_DAY, now_ms

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 20
_BATCH = 100
_KEEP_DAYS = 30


class Notifier:
    """Background delivery of ``notification_deliveries`` for one process."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        #: The SSRF guard of webhook deliveries (its resolver can be replaced).
        self.guard = webhook.Guard.from_settings(settings)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="gridpilot-notifier")

    def wake(self) -> None:
        """Scan the outbox now (after a commit that queued notifications)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop the loop (a claim in progress ends first), then the deliveries in flight
        (bounded: ``core.tasks.cancel_and_wait``)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await cancel_all(list(self._in_flight))

    async def _loop(self) -> None:
        last_prune = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.notify_poll_interval_s)
            self._wake.clear()
            try:
                await finish_then_cancel(self.dispatch_due())
                if now_ms() - last_prune > MS_PER_DAY // 24:
                    last_prune = now_ms()
                    await finish_then_cancel(self._prune())
            except Exception:
                reraise_if_stopping()
                log.exception("notification dispatch failed")

    async def _prune(self) -> None:
        """Drop settled deliveries older than ``_KEEP_DAYS``."""
        async with self.sessions() as session, session.begin():
            await outbox.prune(session=session, older_than_ms=now_ms() - _KEEP_DAYS * MS_PER_DAY)

    async def dispatch_due(self) -> int:
        """Claim the due deliveries and start sending them; returns how many were claimed."""
        lease_ms = round((self.settings.notify_timeout_s * 2 + 30) * 1000)
        claimed: list[int] = []
        async with self.sessions() as session, session.begin():
            for delivery_id, seen in await outbox.due_ids(
                session=session, now=now_ms(), limit=_BATCH
            ):
                if await outbox.claim(
                    session=session, delivery_id=delivery_id, seen_ms=seen, lease_ms=lease_ms
                ):
                    claimed.append(delivery_id)
        for delivery_id in claimed:
            task = asyncio.create_task(self._deliver(delivery_id), name="gridpilot-notify")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(claimed)

    async def _deliver(self, delivery_id: int) -> None:
        async with self._slots:
            try:
                await self._deliver_one(delivery_id)
            except Exception:
                log.exception("delivery %d failed unexpectedly", delivery_id)

    async def _deliver_one(self, delivery_id: int) -> None:
        settings = self.settings
        async with self.sessions() as session:
            delivery = await session.get(NotificationDelivery, delivery_id)
            channel = (
                await session.get(NotificationChannel, delivery.channel_id) if delivery else None
            )
            if delivery is None or channel is None:
                return
            payload, message_id = delivery.payload, delivery.message_id
            kind, url, secret = channel.kind, channel.url, channel.secret
            recipients, enabled = list(delivery.recipients or channel.recipients), channel.enabled
        if not enabled:
            error: str | None = "channel disabled"
        elif kind == "webhook" and url and secret:
            error = await webhook.post(
                url=url,
                secret=secret,
                message_id=message_id,
                body=orjson.dumps(payload),
                timeout_s=settings.notify_timeout_s,
                guard=self.guard,
            )
        elif kind == "email":
            error = await mailer.send(settings, recipients, payload)
        else:
            error = f"channel kind {kind!r} is not deliverable"
        async with self.sessions() as session, session.begin():
            row = await session.get(NotificationDelivery, delivery_id)
            if row is None:
                return
            if not enabled:
                row.state, row.last_error = "cancelled", error
                return
            await outbox.settle(
                session=session,
                delivery=row,
                error=error,
                retry_base_s=settings.notify_retry_base_s,
                retry_max_s=settings.notify_retry_max_s,
                max_attempts=settings.notify_max_attempts,
            )
        if error is not None:
            log.warning("notification %s to channel %d failed: %s", message_id, channel.id, error)
