"""The event bus across processes: ``make_bus(settings)`` and the Redis pub/sub implementation.

Without ``settings.redis_url`` the bus is ``core.bus.InProcessBus`` (one process). With it,
``RedisBus`` delivers every event once to the local handlers and once to the handlers of every
other process connected to the same Redis:

- ``publish`` never waits for Redis or for a handler: it puts the event on the local dispatch
  queue and on the outbound queue and returns. One dispatcher task awaits the handlers in
  publish order; one publisher task sends the outbound queue to Redis in pipelined batches.
- Channel of topic ``t``: ``{redis_channel_prefix}.{t}``; message: orjson of
  ``{"o": origin, "t": topic, "p": payload}``. The subscriber (``PSUBSCRIBE {prefix}.*``) skips
  messages whose origin is this bus (they were delivered locally already): no double delivery.
- Both connections reconnect with back-off after Redis restarts. Redis pub/sub keeps nothing:
  events published while a subscriber is disconnected do not reach it (at most once across an
  outage). Events published while the *publisher* is disconnected wait in the bounded outbound
  queue (``MAX_PENDING``) and are sent after the reconnection; a batch that failed while being
  sent is dropped (not resent, so never delivered twice). Drops are logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import re
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gridpilot.core.bus import EventBus, Handler, InProcessBus
from gridpilot.core.settings import Settings

log = logging.getLogger(__name__)

#: Events waiting for the dispatcher (local handlers) or for Redis before the oldest is dropped.
MAX_PENDING = 100_000
#: Events sent to Redis in one pipeline.
PUBLISH_BATCH = 500
#: Seconds ``start`` waits for the first subscription before going on in the background.
START_TIMEOUT_S = 5.0
#: Seconds ``stop`` lets the tasks finish (send what is queued) before cancelling them.
STOP_TIMEOUT_S = 2.0
_BACKOFF_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
_REDIS_GLOB = re.compile(r"([*?\[\]\\])")


def make_bus(settings: Settings) -> EventBus:
    """``RedisBus`` when ``settings.redis_url`` is set, else an ``InProcessBus``."""
    if settings.redis_url:
        return RedisBus(settings.redis_url, settings.redis_channel_prefix)
    return InProcessBus()


class _NoRuntime:
    async def stop(self) -> None:
        return None


async def start_bus(bus: EventBus) -> Any:
    """Start ``bus`` when it has background work; returns a runtime whose ``stop`` closes it."""
    if isinstance(bus, RedisBus):
        await bus.start()
        return bus
    return _NoRuntime()


class RedisBus:
    """Local dispatch plus Redis pub/sub fan-out to the other processes (see module doc)."""

    def __init__(self, url: str, channel_prefix: str = "gridpilot") -> None:
        self.url = url
        self.channel_prefix = channel_prefix
        self.origin = uuid.uuid4().hex
        self._handlers: list[tuple[str, Handler]] = []
        self._inbox: deque[tuple[str, dict[str, Any]]] = deque()
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._inbox_ready = asyncio.Event()
        self._outbox_ready = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._reconnect_publisher = False  # set when the subscriber saw Redis come back
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.dropped = 0  # events dropped (queues full, failed batches)

    # --- EventBus -------------------------------------------------------------------------

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for the local handlers and for Redis; returns at once."""
        self._push(self._inbox, (topic, payload), "local dispatch")
        self._inbox_ready.set()
        try:
            data = orjson.dumps({"o": self.origin, "t": topic, "p": payload})
        except orjson.JSONEncodeError as exc:  # a publisher bug: the other processes miss it
            log.error("event %s is not JSON-serialisable (%s); delivered locally only", topic, exc)
            return
        self._push(self._outbox, (f"{self.channel_prefix}.{topic}", data), "Redis")
        self._outbox_ready.set()

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        entry = (pattern, handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the subscriber is subscribed on Redis."""
        return self._subscribed.is_set()

    async def start(self) -> None:
        """Start the tasks; waits (at most ``START_TIMEOUT_S``) until subscribed on Redis."""
        if self._tasks:
            return
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._dispatch_loop(), name="gridpilot-bus-dispatch"),
            asyncio.create_task(self._publish_loop(), name="gridpilot-bus-publish"),
            asyncio.create_task(self._subscribe_loop(), name="gridpilot-bus-subscribe"),
        ]
        try:
            await asyncio.wait_for(self._subscribed.wait(), START_TIMEOUT_S)
        except TimeoutError:
            log.warning("Redis bus not subscribed yet (%s); retrying in the background", self.url)

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the subscriber is subscribed; False after ``timeout_s``."""
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Deliver and send what is queued (at most ``STOP_TIMEOUT_S``), then stop the tasks."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        self._stopping = True
        self._inbox_ready.set()
        self._outbox_ready.set()
        _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
        for task in pending:
            task.cancel()
        if pending:  # a task swallowing its cancellation must not hang the shutdown
            await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)
        self._subscribed.clear()

    # --- internals ------------------------------------------------------------------------

    def _push(self, queue: deque[Any], item: Any, where: str) -> None:
        if len(queue) >= MAX_PENDING:
            queue.popleft()
            self._drop(1, f"{where} queue full")
        queue.append(item)

    def _drop(self, count: int, why: str) -> None:
        self.dropped += count
        if self.dropped == count or self.dropped % 1000 < count:  # log the first and every 1000th
            log.error("event bus dropped %d event(s) (%s); %d so far", count, why, self.dropped)

    async def _dispatch_loop(self) -> None:
        while True:
            if not self._inbox:
                if self._stopping:
                    return
                self._inbox_ready.clear()
                await self._inbox_ready.wait()
                continue
            topic, payload = self._inbox.popleft()
            for pattern, handler in list(self._handlers):
                if fnmatch.fnmatchcase(topic, pattern):
                    try:
                        await handler(topic, payload)
                    except Exception:
                        log.exception("event handler for %s failed", topic)

    def _client(self, **options: Any) -> Redis:
        # no automatic command retry: a retried PUBLISH could deliver an event twice
        return Redis.from_url(self.url, retry=Retry(NoBackoff(), 0), **options)

    async def _publish_loop(self) -> None:
        failures = 0
        client = self._client()
        try:
            while True:
                if not self._outbox:
                    if self._stopping:
                        return
                    self._outbox_ready.clear()
                    await self._outbox_ready.wait()
                    continue
                if self._reconnect_publisher:  # its pooled connection is probably stale too
                    self._reconnect_publisher = False
                    await client.connection_pool.disconnect()
                batch = [
                    self._outbox.popleft() for _ in range(min(PUBLISH_BATCH, len(self._outbox)))
                ]
                try:
                    async with client.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
                    failures = 0
                except (RedisError, OSError) as exc:
                    self._drop(len(batch), f"publishing to Redis failed: {exc}")
                    await asyncio.sleep(_BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)])
                    failures += 1
        finally:
            await client.aclose()

    async def _subscribe_loop(self) -> None:
        pattern = _REDIS_GLOB.sub(r"\\\1", self.channel_prefix) + ".*"
        failures = 0
        while not self._stopping:
            client = self._client(socket_timeout=None, health_check_interval=10)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                while not self._subscribed.is_set():  # the server confirms the subscription
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "psubscribe":
                        self._subscribed.set()
                if failures:
                    log.info("Redis bus subscribed again after %d attempt(s)", failures)
                    self._reconnect_publisher = True
                failures = 0
                while not self._stopping:
                    message = await pubsub.get_message(timeout=0.5)
                    if message is not None and message.get("type") == "pmessage":
                        self._receive(message["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                if failures == 0:
                    log.warning("Redis bus subscriber disconnected (%s); reconnecting", exc)
                await asyncio.sleep(_BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)])
                failures += 1
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()

    def _receive(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            origin, topic, payload = message["o"], message["t"], message["p"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("ignored a malformed event bus message (%d bytes)", len(data))
            return
        if origin == self.origin or not isinstance(payload, dict) or not isinstance(topic, str):
            return
        self._push(self._inbox, (topic, payload), "local dispatch")
        self._inbox_ready.set()
