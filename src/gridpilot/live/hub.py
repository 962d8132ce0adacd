"""The live hub of one process: bus subscriptions fanned out to the connected WebSocket clients.

``start_live(app)`` subscribes the hub to every streamed topic (``protocol.EVENT_KINDS``); its
handler only filters and enqueues into each client's queues (``LiveClient.offer``), so neither
a slow client nor many clients slow the publisher (the telemetry writer, ingest workers...).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.assets.service import can_see_asset, find_asset_ref, get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import NotFound
from gridpilot.core.metrics import Metrics
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.live.client import LiveClient
from gridpilot.live.protocol import EVENT_KINDS, Subscription, kind_of
from gridpilot.telemetry.tasks import TELEMETRY

log = logging.getLogger(__name__)

#: Seconds ``stop`` gives clients to close before their tasks are cancelled.
STOP_GRACE_S = 2.0


class LiveHub:
    """Connected clients of this process and the bus handler feeding them."""

    def __init__(
        self,
        bus: EventBus,
        metrics: Metrics,
        sessions: async_sessionmaker[AsyncSession],
        asset_sites: Callable[[int], int | None] | None = None,
    ) -> None:
        self.bus = bus
        self.metrics = metrics
        self.sessions = sessions
        self.asset_sites = asset_sites  # a cache of asset id -> site id (telemetry lookups)
        self.clients: set[LiveClient] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: list[Callable[[], None]] = []

    async def start(self) -> None:
        patterns = sorted({pattern for pattern, _ in EVENT_KINDS.values()})
        self._unsubscribe = [self.bus.subscribe(p, self.on_event) for p in patterns]

    async def stop(self) -> None:
        """Close every client (1001 going away) and stop their senders."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for client in list(self.clients):
            client.request_close(1001, "server shutting down")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=STOP_GRACE_S)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def on_event(self, topic: str, payload: dict[str, Any]) -> None:
        """The bus handler: enqueue for every client (no I/O, never blocks; nothing to do
        without clients)."""
        if not self.clients:
            return
        kind = kind_of(topic)
        if kind is None:
            return
        for client in list(self.clients):
            try:
                client.offer(kind, topic, payload)
            except Exception:  # a malformed payload must not stop the fan-out
                log.exception("live: could not queue %s for a client", topic)

    def register(self, client: LiveClient) -> asyncio.Task[None]:
        """Add ``client`` and start its sender task."""
        self.clients.add(client)
        self.metrics.live_clients.set(len(self.clients))
        task = asyncio.create_task(client.run(), name="gridpilot-live-sender")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def unregister(self, client: LiveClient) -> None:
        self.clients.discard(client)
        self.metrics.live_clients.set(len(self.clients))

    async def check_scope(self, principal: Principal, subscription: Subscription) -> None:
        """``NotFound`` for a listed site or asset that is missing or out of scope."""
        async with self.sessions() as session:
            for site_id in sorted(subscription.sites or ()):
                await get_site(session=session, site_id=site_id, principal=principal)
            for asset_id in sorted(subscription.assets or ()):
                asset_site = self.asset_sites(asset_id) if self.asset_sites else None
                if asset_site is None:
                    ref = await find_asset_ref(session=session, ref=asset_id)
                    asset_site = ref.site_id if ref is not None else None
                if asset_site is None or not can_see_asset(principal, asset_id, asset_site):
                    raise NotFound(f"asset {asset_id} not found")


async def start_live(app: FastAPI) -> LiveHub:
    """The app's hub, subscribed to the bus (``LIVE``)."""
    runtime = runtime_of(app)
    telemetry = runtime.get(TELEMETRY)

    def asset_sites(asset_id: int) -> int | None:
        target = telemetry.lookups.assets.get(asset_id) if telemetry is not None else None
        return target.site_id if target is not None else None

    hub = LiveHub(runtime.bus, runtime.metrics, runtime.sessions, asset_sites)
    await hub.start()
    return hub


#: The app's hub (``core/runtime.py``), served at ``WS /api/v1/live``.
LIVE: Slot[LiveHub] = Slot("live")
