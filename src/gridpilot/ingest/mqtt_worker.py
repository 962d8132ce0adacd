"""The MQTT ingest worker: subscribe, gather messages into batches, acknowledge after storing.

Delivery guarantee (QoS 1, at least once, no loss):

* MQTT v5 with a fixed client id (``settings.mqtt_client_id``), ``clean_start=False`` and a
  session expiry (``settings.mqtt_session_expiry_s``): the broker keeps the subscriptions and
  queues messages while the worker is away (restart, crash, network loss).
* Manual acknowledgement: a message's PUBACK is sent only after ``BatchProcessor.process``
  returned, i.e. after its readings were committed (or it was dead-lettered or handed to the
  control domain). A worker killed before that never acknowledged the message, so the broker
  sends it again when the session resumes; storage is an upsert keyed by (asset, metric, ts),
  so a redelivered reading is stored once. PUBACKs go out in receive order, as MQTT requires.
* ``settings.mqtt_receive_maximum`` bounds the unacknowledged messages in flight (memory) and
  is the backpressure: while the database is slow the broker queues, not the worker.

Batching: after the first message, everything already received is taken at once and the batch
waits up to ``mqtt_batch_linger_ms`` for more, until ``mqtt_batch_max_messages``; up to
``PIPELINE`` batches are processed at once (the telemetry writer merges them into one COPY).
Scale-out: with ``mqtt_share_group`` the filters are ``$share/<group>/...`` and the broker
spreads messages over every worker of the group (each needs its own client id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from typing import Any

import aiomqtt
from aiomqtt import MqttError, ProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.bus import EventBus
from gridpilot.core.mqtt import MqttEndpoint
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms
from gridpilot.ingest.mqtt_assets import DeviceResolver
from gridpilot.ingest.mqtt_batch import BatchOutcome, BatchProcessor, Inbound
from gridpilot.ingest.mqtt_topics import subscription_filters
from gridpilot.telemetry.tasks import TelemetryRuntime

log = logging.getLogger(__name__)

#: Batches processed at once (acknowledged in order).
PIPELINE = 2
#: A retiring worker ends its session after this long without a message (seconds).
RETIRE_QUIET_S = 1.0
_FIRST_BACKOFF_S = 0.5


class MqttIngestWorker:
    """Runs the subscriber until ``stop()``; reconnects with backoff when the broker goes away."""

    def __init__(
        self,
        *,
        settings: Settings,
        runtime: TelemetryRuntime,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        client_id: str | None = None,
    ) -> None:
        if not settings.mqtt_url:
            raise ValueError("the MQTT ingest worker needs settings.mqtt_url")
        self.settings = settings
        self.endpoint = MqttEndpoint.parse(settings.mqtt_url)
        self.client_id = client_id or settings.mqtt_client_id
        self.stopping = asyncio.Event()
        self.resolver = DeviceResolver(runtime.lookups, sessions)
        self.processor = BatchProcessor(
            runtime=runtime,
            sessions=sessions,
            bus=bus,
            resolver=self.resolver,
            topic_prefix=settings.mqtt_topic_prefix,
            stopping=self.stopping,
        )
        self.bus = bus
        #: Set while subscribed (tests and health wait on it).
        self.subscribed = asyncio.Event()
        self.totals = BatchOutcome()
        self.retire = False
        self._task: asyncio.Task[None] | None = None
        self._receive: asyncio.Future[aiomqtt.Message] | None = None
        self._unsubscribe = bus.subscribe("asset.changed", self.resolver.on_asset_changed)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="gridpilot-mqtt-ingest")

    async def stop(self, *, retire: bool = False) -> None:
        """Finish and acknowledge the batches in progress, then disconnect.

        The session stays on the broker (a restarted worker resumes it), unless ``retire``:
        then the worker leaves for good: it unsubscribes (the broker stops giving it a share),
        stores what the broker still sends it until ``RETIRE_QUIET_S`` pass without a message,
        and ends its session. Use it when scaling down, or its share of a ``$share`` group
        would be queued for it until the session expires.
        """
        self.retire = retire
        self.stopping.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=600 if retire else 30)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._unsubscribe()

    async def run(self) -> None:
        """Connect, consume, and reconnect with exponential backoff until stopped."""
        backoff = _FIRST_BACKOFF_S
        while not self.stopping.is_set():
            try:
                async with self._client() as client:
                    await self._subscribe(client)
                    backoff = _FIRST_BACKOFF_S
                    await self._consume(client)
                self._drop_receive()
                if self.retire:
                    break
            except MqttError as exc:
                self.subscribed.clear()
                self._drop_receive()
                if self.stopping.is_set():
                    break
                pause = backoff * (0.5 + random.random())
                log.warning("MQTT connection lost or refused (%s); retrying in %.1f s", exc, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), pause)
                backoff = min(backoff * 2, self.settings.mqtt_reconnect_max_s)
            except Exception:  # a bug must not end the subscriber: log, reconnect, go on
                self.subscribed.clear()
                self._drop_receive()
                log.exception("the MQTT ingest worker failed; restarting it in %.1f s", backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                backoff = min(backoff * 2, self.settings.mqtt_reconnect_max_s)
        self.subscribed.clear()

    def _drop_receive(self) -> None:
        """Forget the queue read of a closed connection (its messages were never acknowledged,
        so the broker sends them again on the resumed session)."""
        if self._receive is not None:
            self._receive.cancel()
            self._receive = None

    # --- connection -----------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        settings = self.settings
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = settings.mqtt_session_expiry_s
        properties.ReceiveMaximum = settings.mqtt_receive_maximum
        endpoint = self.endpoint
        client = aiomqtt.Client(
            endpoint.hostname,
            endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            identifier=self.client_id,
            protocol=ProtocolVersion.V5,
            clean_start=False,  # resume the session: nothing queued or unacknowledged is lost
            properties=properties,
            keepalive=30,
            tls_params=aiomqtt.TLSParameters() if endpoint.tls else None,
        )
        # aiomqtt has no manual acknowledgement of its own; its paho client does.
        client._client.manual_ack_set(True)
        return client

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        settings = self.settings
        filters = subscription_filters(
            settings.mqtt_topic_prefix, settings.mqtt_share_group or None
        )
        granted = await client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])
        refused = [f for f, code in zip(filters, granted, strict=False) if _refused(code)]
        if refused:
            log.error("the broker refused the subscriptions %s", refused)
        log.info("MQTT ingest %s subscribed to %d filters", self.client_id, len(filters))
        self.subscribed.set()

    # --- consuming ------------------------------------------------------------------------

    async def _consume(self, client: aiomqtt.Client) -> None:
        pending: deque[asyncio.Task[None]] = deque()
        try:
            while True:
                batch = await self._gather(client)
                if not batch:
                    break
                previous = pending[-1] if pending else None
                pending.append(asyncio.create_task(self._handle(client, batch, previous)))
                while pending and (pending[0].done() or len(pending) >= PIPELINE):
                    await pending.popleft()
            if self.retire:
                await self._leave(client, pending)
        finally:
            # finish what was taken (acknowledging it while the connection lasts)
            results = await asyncio.gather(*pending, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, MqttError):
                    log.error("an MQTT batch failed: %r", result)

    async def _leave(self, client: aiomqtt.Client, pending: deque[asyncio.Task[None]]) -> None:
        """Retire: unsubscribe, store what still arrives, then end the session."""
        settings = self.settings
        filters = subscription_filters(
            settings.mqtt_topic_prefix, settings.mqtt_share_group or None
        )
        await client.unsubscribe(filters)
        while True:
            batch = await self._gather(client, first_wait_s=RETIRE_QUIET_S, stoppable=False)
            if not batch:
                break
            previous = pending[-1] if pending else None
            pending.append(asyncio.create_task(self._handle(client, batch, previous)))
            while len(pending) >= PIPELINE:
                await pending.popleft()
        await asyncio.gather(*pending)
        pending.clear()
        properties = Properties(PacketTypes.DISCONNECT)
        properties.SessionExpiryInterval = 0  # end the session now
        client._client.disconnect(properties=properties)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(client._disconnected), 10)
        log.info("MQTT ingest %s retired: unsubscribed, drained, session ended", self.client_id)

    async def _gather(
        self, client: aiomqtt.Client, *, first_wait_s: float | None = None, stoppable: bool = True
    ) -> list[Inbound]:
        """The next batch; empty when stopping (or nothing came within ``first_wait_s``).
        Raises ``MqttError`` when disconnected."""
        settings = self.settings
        limit = settings.mqtt_batch_max_messages
        batch: list[Inbound] = []
        first = await self._next(client, first_wait_s, stoppable=stoppable)
        if first is None:
            return batch
        batch.append(first)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.mqtt_batch_linger_ms / 1000
        queue = client._queue  # aiomqtt's queue of received messages
        while len(batch) < limit:
            while not queue.empty() and len(batch) < limit:
                batch.append(_inbound(queue.get_nowait()))
            remaining = deadline - loop.time()
            if len(batch) >= limit or remaining <= 0:
                break
            more = await self._next(client, remaining, stoppable=stoppable)
            if more is None:
                break
            batch.append(more)
        return batch

    async def _next(
        self, client: aiomqtt.Client, wait_s: float | None, *, stoppable: bool = True
    ) -> Inbound | None:
        """The next message, or None on timeout or stop; ``MqttError`` when disconnected.

        The pending queue read survives a timeout (it is reused by the next call), so a
        message is never taken from the queue and then dropped by a cancellation.
        """
        if self._receive is None:
            self._receive = asyncio.ensure_future(client._queue.get())
        receive = self._receive
        stop = asyncio.ensure_future(self.stopping.wait() if stoppable else asyncio.sleep(1e9))
        disconnected = client._disconnected  # aiomqtt's future, done when the connection ends
        waiters: set[asyncio.Future[Any]] = {receive, stop, disconnected}
        try:
            await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if receive.done():
            self._receive = None
            return _inbound(receive.result())
        if disconnected.done():
            cause = None if disconnected.cancelled() else disconnected.exception()
            raise MqttError("disconnected during message iteration") from cause
        return None

    async def _handle(
        self, client: aiomqtt.Client, batch: list[Inbound], previous: asyncio.Task[None] | None
    ) -> None:
        outcome = await self.processor.process_isolating(batch)
        if previous is not None:  # PUBACKs in receive order
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        paho = client._client
        for message in batch:
            if message.qos > 0:
                paho.ack(message.mid, message.qos)
        totals = self.totals
        totals.messages += outcome.messages
        totals.stored += outcome.stored
        totals.rejects += outcome.rejects


def _inbound(message: aiomqtt.Message) -> Inbound:
    payload = message.payload
    if not isinstance(payload, bytes | bytearray):
        payload = str(payload).encode() if payload is not None else b""
    return Inbound(
        topic=message.topic.value,
        payload=bytes(payload),
        qos=message.qos,
        mid=message.mid,
        received_ms=now_ms(),
    )


def _refused(code: object) -> bool:
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80
