"""One batch of MQTT messages: decode, store through the telemetry service, dead-letter the rest.

``BatchProcessor.process(messages)`` returns only when every message of the batch is accounted
for: its readings are committed (``telemetry.service.ingest(..., channel="mqtt")``), handed to
the control domain (status, ack), or recorded in ``ingest_rejects`` with the reason. Only then
may the worker acknowledge the messages to the broker. During a storage outage it retries
(with backoff) instead of returning, so an unstored message is never acknowledged. Any other
failure (``ingest.outages``) is a poison: ``process_isolating`` processes the batch's messages
one by one and dead-letters the one that fails, so ingestion goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.auth.permissions import Principal, Role
from gridpilot.control.inbound import handle_ack, handle_status
from gridpilot.core.bus import EventBus
from gridpilot.core.errors import GridpilotError, ValidationFailed
from gridpilot.ingest.decoders import PayloadError, RawReading, decode_telemetry, excerpt
from gridpilot.ingest.mqtt_assets import DeviceResolver
from gridpilot.ingest.mqtt_topics import TopicRef, parse_topic
from gridpilot.ingest.outages import is_outage
from gridpilot.ingest.rejects import RejectRecord, record_rejects
from gridpilot.telemetry.service import Rejection, ingest
from gridpilot.telemetry.tasks import TelemetryRuntime
from gridpilot.telemetry.validation import AssetTarget

log = logging.getLogger(__name__)

CHANNEL = "mqtt"
#: The principal MQTT readings are ingested as (devices are authenticated by the broker).
MQTT_PRINCIPAL = Principal(subject="service:mqtt-ingest", name="mqtt ingest", role=Role.SERVICE)
_RETRY_FIRST_S = 0.5
_RETRY_MAX_S = 10.0
_REASONS_SHOWN = 5
_MAX_TOPICS = 100_000
#: Dead-letter reason of a message whose processing failed (not for a storage outage).
PROCESSING_FAILED = "the message could not be processed"

ControlHandler = Callable[..., Awaitable[None]]


@dataclass(slots=True)
class Inbound:
    """One received message (``mid``/``qos`` are needed for its acknowledgement)."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    received_ms: int


@dataclass(slots=True)
class BatchOutcome:
    messages: int = 0
    stored: int = 0
    rejects: int = 0


def _summary(rejections: Sequence[Rejection], total: int) -> str:
    shown = "; ".join(r.described for r in rejections[:_REASONS_SHOWN])
    more = len(rejections) - _REASONS_SHOWN
    extra = f"; and {more} more" if more > 0 else ""
    return f"{len(rejections)} of {total} readings rejected: {shown}{extra}"


class BatchProcessor:
    """Turns batches of ``Inbound`` messages into stored readings and dead letters."""

    def __init__(
        self,
        *,
        runtime: TelemetryRuntime,
        sessions: async_sessionmaker[AsyncSession],
        bus: EventBus,
        resolver: DeviceResolver,
        topic_prefix: str = "",
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.runtime = runtime
        self.sessions = sessions
        self.bus = bus
        self.resolver = resolver
        self.prefix = topic_prefix
        self.stopping = stopping or asyncio.Event()
        self.max_readings = runtime.settings.max_batch_readings
        self._topics: dict[str, TopicRef | None] = {}  # parse_topic cache
        #: topic -> (ref, asset) of telemetry topics that resolved (dropped on asset changes)
        self._routes: dict[str, tuple[TopicRef, AssetTarget]] = {}
        self._routes_version = resolver.version

    async def process_isolating(self, messages: Sequence[Inbound]) -> BatchOutcome:
        """``process`` that survives a poison message: when the batch fails for anything but a
        storage outage (those are retried inside), its messages are processed one by one and
        one that still fails becomes a dead letter (reason ``PROCESSING_FAILED``)."""
        try:
            return await self.process(messages)
        except Exception:
            if len(messages) == 1:
                return await self._process_alone(messages[0])
            log.exception("an MQTT batch of %d messages failed; retrying one by one", len(messages))
        outcome = BatchOutcome()
        for message in messages:
            single = await self._process_alone(message)
            outcome.messages += single.messages
            outcome.stored += single.stored
            outcome.rejects += single.rejects
        return outcome

    async def _process_alone(self, message: Inbound) -> BatchOutcome:
        try:
            return await self.process([message])
        except Exception as exc:
            log.exception("MQTT message on %s cannot be processed", message.topic)
            reason = f"{PROCESSING_FAILED} ({type(exc).__name__})"
            route = self._routes.get(message.topic)  # the asset, when the topic was resolved
            await self._record([self._reject(message, reason, route[1] if route else None)])
            return BatchOutcome(messages=1, rejects=1)

    async def process(self, messages: Sequence[Inbound]) -> BatchOutcome:
        """Store, hand over or dead-letter every message of ``messages`` (see the module doc)."""
        rejects: list[RejectRecord] = []
        readings: list[RawReading] = []
        owners: list[int] = []  # message index of each reading
        targets: dict[int, AssetTarget] = {}
        controls: list[tuple[int, TopicRef, AssetTarget]] = []
        routes = self._current_routes()
        for index, message in enumerate(messages):
            route = routes.get(message.topic)
            if route is None:
                found = await self._route(message)
                if isinstance(found, RejectRecord):
                    rejects.append(found)
                    continue
                ref, target = found
                if ref.kind != "telemetry":
                    targets[index] = target
                    controls.append((index, ref, target))
                    continue
            else:
                ref, target = route
            decoded = self._decode(message, ref, target)
            if isinstance(decoded, RejectRecord):
                rejects.append(decoded)
                continue
            targets[index] = target
            readings += decoded
            owners += [index] * len(decoded)
        outcome = BatchOutcome(messages=len(messages))
        rejected_by_message = await self._store(readings, owners, outcome)
        if rejected_by_message:
            per_message = Counter(owners)
            for index, rejections in rejected_by_message.items():
                summary = _summary(rejections, per_message[index])
                rejects.append(self._reject(messages[index], summary, targets[index]))
        rejects += await self._hand_over_all(messages, controls)
        if rejects:
            await self._record(rejects)
        outcome.rejects = len(rejects)
        return outcome

    async def _hand_over_all(
        self, messages: Sequence[Inbound], controls: list[tuple[int, TopicRef, AssetTarget]]
    ) -> list[RejectRecord]:
        """Hand the control messages (index, topic, asset) over; the dead letters of those
        refused."""
        refused = []
        for index, ref, target in controls:
            refusal = await self._hand_over(messages[index], ref, target)
            if refusal is not None:
                refused.append(self._reject(messages[index], refusal, target))
        return refused

    def _current_routes(self) -> dict[str, tuple[TopicRef, AssetTarget]]:
        """The topic -> (what it names, its asset) cache, emptied when the devices changed."""
        if self._routes_version != self.resolver.version:
            self._routes.clear()
            self._routes_version = self.resolver.version
        return self._routes

    def _decode(
        self, message: Inbound, ref: TopicRef, target: AssetTarget
    ) -> list[RawReading] | RejectRecord:
        """The readings of a telemetry message, stamped with its asset, or its dead letter (a
        bad payload, more than ``max_readings``)."""
        try:
            decoded = decode_telemetry(ref, message.payload, received_ms=message.received_ms)
        except PayloadError as exc:
            return self._reject(message, str(exc), target)
        if len(decoded) > self.max_readings:
            reason = f"{len(decoded)} readings in one message; the limit is {self.max_readings}"
            return self._reject(message, reason, target)
        asset_id = target.id
        for reading in decoded:
            reading["asset"] = asset_id
        return decoded

    async def _route(self, message: Inbound) -> tuple[TopicRef, AssetTarget] | RejectRecord:
        """What ``message``'s topic names (cached for telemetry topics), or its dead letter."""
        topics = self._topics
        topic = message.topic
        if topic in topics:
            ref = topics[topic]
        else:
            ref = parse_topic(topic, self.prefix)
            if len(topics) >= _MAX_TOPICS:
                topics.clear()
            topics[topic] = ref
        if ref is None:
            return self._reject(message, "unknown topic")
        version = self.resolver.version
        target = await self._retrying("resolving a device", lambda: self.resolver.resolve(ref))
        if isinstance(target, str):
            return self._reject(message, target)
        if ref.kind == "telemetry" and version == self.resolver.version:
            if len(self._routes) >= _MAX_TOPICS:
                self._routes.clear()
            self._routes[topic] = (ref, target)
        return ref, target

    def _reject(
        self, message: Inbound, reason: str, target: AssetTarget | None = None
    ) -> RejectRecord:
        return RejectRecord(
            channel=CHANNEL,
            topic=message.topic,
            payload_excerpt=excerpt(message.payload),
            reason=reason,
            asset_id=target.id if target else None,
            site_id=target.site_id if target else None,
        )

    async def _store(
        self, readings: list[RawReading], owners: list[int], outcome: BatchOutcome
    ) -> dict[int, list[Rejection]]:
        """Ingest ``readings`` in chunks; returns the rejections grouped by message index."""
        rejected: dict[int, list[Rejection]] = defaultdict(list)
        for start in range(0, len(readings), self.max_readings):
            chunk = readings[start : start + self.max_readings]
            result = await self._retrying(
                "storing readings",
                lambda chunk=chunk: ingest(  # type: ignore[misc]
                    chunk, principal=MQTT_PRINCIPAL, runtime=self.runtime, channel=CHANNEL
                ),
            )
            outcome.stored += result.stored
            for rejection in result.rejected:
                rejected[owners[start + rejection.index]].append(rejection)
        return rejected

    async def _hand_over(self, message: Inbound, ref: TopicRef, target: AssetTarget) -> str | None:
        """Give a status/ack message to the control domain; the dead-letter reason or None."""
        handler = handle_status if ref.kind == "status" else handle_ack
        try:
            await handler(
                sessions=self.sessions,
                bus=self.bus,
                asset_id=target.id,
                site_id=target.site_id,
                payload=message.payload,
                received_ms=message.received_ms,
            )
        except ValidationFailed as exc:
            return exc.message
        except GridpilotError as exc:
            log.warning("%s message on %s failed: %s", ref.kind, message.topic, exc)
            return f"{ref.kind} handling failed: {exc.message}"
        except Exception as exc:  # a bug in a handler must not stop the subscriber
            log.exception("%s handler failed on %s", ref.kind, message.topic)
            return f"{ref.kind} handling failed: {type(exc).__name__}"
        return None

    async def _record(self, rejects: list[RejectRecord]) -> None:
        async def write() -> None:
            async with self.sessions() as session, session.begin():
                await record_rejects(session=session, rejects=rejects)

        try:
            await self._retrying("recording dead letters", write)
        except Exception:  # the database refuses these rows: the log is the last record
            log.exception("could not record %d dead letters: %r", len(rejects), rejects)

    async def _retrying(self, what: str, action: Callable[[], Awaitable[Any]]) -> Any:
        """``await action()`` until it stops failing for a storage outage; any other error
        propagates (the caller isolates the message that causes it)."""
        delay = _RETRY_FIRST_S
        while True:
            try:
                return await action()
            except Exception as exc:
                if not await is_outage(exc, self.sessions):
                    raise
                log.warning("%s failed (%s); retrying in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_S)
