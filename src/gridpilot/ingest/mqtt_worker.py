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

Receiving: aiomqtt (over paho) keeps the connection, the session and the subscriptions; the
per-message work is ``gridpilot.ingest.mqtt_wire``'s (buffered socket reads, PUBLISH decoded
straight into this worker's inbox, one write for a batch's PUBACKs): paho's own per-message
path (three ``recv`` calls, an ``MQTTMessage`` and a v5 ``Properties`` object, a queued PUBACK
per message) cost more CPU than everything else the worker does.

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

import aiomqtt
from aiomqtt import MqttError, ProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.core.mqtt import MqttEndpoint
from gridpilot.core.settings import Settings
from gridpilot.core.tasks import cancel_and_wait
from gridpilot.core.timestamps import now_ms
from gridpilot.core.tls import mqtt_tls_context
from gridpilot.ingest.mqtt_assets import DeviceResolver
from gridpilot.ingest.mqtt_batch import BatchOutcome, BatchProcessor, Inbound
from gridpilot.ingest.mqtt_topics import subscription_filters
from gridpilot.ingest.mqtt_wire import buffer_reads, queue_pubacks, receive_publishes
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
        self._inbox = _Inbox()
        self._unsubscribe = bus.subscribe(
            catalogue.ASSET_CHANGED.name, self.resolver.on_asset_changed
        )

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
        self._inbox.wake()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=600 if retire else 30)
            except TimeoutError:
                await cancel_and_wait(task)
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
                if self.retire:
                    break
            except MqttError as exc:
                self.subscribed.clear()
                if self.stopping.is_set():
                    break
                pause = backoff * (0.5 + random.random())
                log.warning("MQTT connection lost or refused (%s); retrying in %.1f s", exc, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), pause)
                backoff = min(backoff * 2, self.settings.mqtt_reconnect_max_s)
            except Exception:  # a bug must not end the subscriber: log, reconnect, go on
                self.subscribed.clear()
                log.exception("the MQTT ingest worker failed; restarting it in %.1f s", backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                backoff = min(backoff * 2, self.settings.mqtt_reconnect_max_s)
        self.subscribed.clear()

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
            tls_context=mqtt_tls_context(self.settings, tls=endpoint.tls),
        )
        # aiomqtt has no manual acknowledgement of its own; its paho client does. Each
        # connection gets a new inbox: what an old one held was never acknowledged, so the
        # broker sends it again on the resumed session.
        paho = client._client
        paho.manual_ack_set(True)
        buffer_reads(paho)
        self._inbox = inbox = _Inbox()
        receive_publishes(paho, inbox.put)
        client._disconnected.add_done_callback(lambda _: inbox.wake())
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
        Raises ``MqttError`` when disconnected.

        The worker wakes once for the first message and once when the linger ends (or the
        batch is full), not for every message that arrives in between.
        """
        limit = self.settings.mqtt_batch_max_messages
        inbox = self._inbox
        if stoppable and self.stopping.is_set():
            return []
        _check_connected(client)
        if not inbox.messages:
            await inbox.wait(1, first_wait_s)
            _check_connected(client)
            if not inbox.messages or (stoppable and self.stopping.is_set()):
                return []
        linger_s = self.settings.mqtt_batch_linger_ms / 1000
        if linger_s > 0 and len(inbox.messages) < limit:
            await inbox.wait(limit, linger_s)
            _check_connected(client)
        return inbox.take(limit)

    async def _handle(
        self, client: aiomqtt.Client, batch: list[Inbound], previous: asyncio.Task[None] | None
    ) -> None:
        outcome = await self.processor.process_isolating(batch)
        if previous is not None:  # PUBACKs in receive order
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        queue_pubacks(client._client, [message.mid for message in batch if message.qos])
        totals = self.totals
        totals.messages += outcome.messages
        totals.stored += outcome.stored
        totals.rejects += outcome.rejects


class _Inbox:
    """Messages of one connection not yet taken into a batch (filled by the PUBLISH handler,
    which runs in the event loop's reader callback)."""

    __slots__ = ("messages", "waiter", "wake_at")

    def __init__(self) -> None:
        self.messages: list[Inbound] = []
        self.waiter: asyncio.Future[None] | None = None
        self.wake_at = 1

    def put(self, topic: bytes, payload: bytes, qos: int, mid: int) -> None:
        messages = self.messages
        messages.append(Inbound(topic.decode("utf-8", "replace"), payload, qos, mid, now_ms()))
        if self.waiter is not None and len(messages) >= self.wake_at:
            self.wake()

    def wake(self) -> None:
        """End the current ``wait`` (a message count reached, stopping, disconnected)."""
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, count: int, timeout_s: float | None) -> None:
        """Until ``count`` messages are in, ``wake()`` is called or ``timeout_s`` passed."""
        if len(self.messages) >= count:
            return
        self.wake_at = count
        self.waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            pass
        finally:
            self.waiter = None

    def take(self, limit: int) -> list[Inbound]:
        """Up to ``limit`` messages, oldest first."""
        messages = self.messages
        if len(messages) <= limit:
            self.messages = []
            return messages
        taken = messages[:limit]
        del messages[:limit]
        return taken


def _check_connected(client: aiomqtt.Client) -> None:
    disconnected = client._disconnected
    if disconnected.done():
        cause = None if disconnected.cancelled() else disconnected.exception()
        raise MqttError("disconnected during message iteration") from cause


def _refused(code: object) -> bool:
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80
