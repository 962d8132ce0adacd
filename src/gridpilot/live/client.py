"""One WebSocket client's outbound side: filtered, conflated queues and the sender task.

The bus handler only calls ``offer`` (filter + enqueue, no I/O), so a slow client can never
slow the publisher or other clients. Queues:

- readings: the latest value per (asset, metric) not sent yet; a newer value replaces an
  unsent older one (conflation), so memory is bounded by the assets and metrics in scope;
- other events (status, alerts, commands...): a FIFO of at most ``max_events``; when full the
  oldest is dropped and the client gets ``{"type": "dropped", "count", "events": {kind: n}}``
  at that point of the stream;
- control replies (``ready``, ``subscribed``, ``error``, ``pong``) go first.

The sender task sends control replies, then events, then the pending readings (up to
``READINGS_PER_MESSAGE`` assets per message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from gridpilot.auth.permissions import Principal
from gridpilot.core.metrics import Metrics
from gridpilot.live.protocol import EVENT_KINDS, Subscription, visible, visible_sites

log = logging.getLogger(__name__)

READINGS_PER_MESSAGE = 500
#: Control replies waiting before the client is considered abusive and closed.
MAX_CONTROL = 256

Send = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]


class LiveClient:
    """Subscription, scope and outbound queues of one connection."""

    def __init__(
        self,
        principal: Principal,
        *,
        send: Send,
        close: Close,
        max_events: int,
        expires_at: float | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.principal = principal
        self.expires_at = expires_at  # epoch s of the credential's expiry (None: no expiry)
        self.subscription: Subscription | None = None
        self.max_events = max_events
        self.metrics = metrics
        self._send = send
        self._close = close
        self._values: dict[int, dict[str, Any]] = {}  # asset id -> pending readings entry
        self._events: deque[tuple[str, dict[str, Any]]] = deque()  # (kind, message)
        self._control: deque[dict[str, Any]] = deque()
        self._dropped: dict[str, int] = {}
        self._close_request: tuple[int, str] | None = None
        self._wakeup = asyncio.Event()

    # --- called by the hub's bus handler and the receive loop (no I/O) ---------------------

    def offer(self, kind: str, topic: str, payload: dict[str, Any]) -> None:
        """Enqueue the part of a bus event this client subscribed to and may see."""
        subscription = self.subscription
        if subscription is None or kind not in subscription.events:
            return
        if kind == "readings":
            self._offer_readings(payload, subscription)
            return
        if "site_ids" in payload:  # over several sites (a firmware roll-out)
            if not visible_sites(self.principal, payload["site_ids"]):
                return
        elif not visible(self.principal, payload.get("site_id"), payload.get("asset_id")):
            return
        if not subscription.matches_event(payload):
            return
        if "metric" in payload and not subscription.wants_metric(payload["metric"]):
            return
        message = {**payload, "type": EVENT_KINDS[kind][1], "topic": topic}
        if len(self._events) >= self.max_events:
            dropped_kind, _ = self._events.popleft()
            self._dropped[dropped_kind] = self._dropped.get(dropped_kind, 0) + 1
            if self.metrics is not None:
                self.metrics.live_events_dropped_total.inc()
        self._events.append((kind, message))
        self._wakeup.set()

    def _offer_readings(self, payload: dict[str, Any], subscription: Subscription) -> None:
        conflated = 0
        for entry in payload.get("assets") or ():
            asset_id, site_id = entry.get("asset_id"), entry.get("site_id")
            if not visible(self.principal, site_id, asset_id):
                continue
            if not subscription.matches(site_id, asset_id):
                continue
            latest = {
                key: value
                for key, value in (entry.get("latest") or {}).items()
                if subscription.wants_metric(key)
            }
            if not latest:
                continue
            pending = self._values.get(asset_id)
            if pending is None:
                self._values[asset_id] = {
                    "asset_id": asset_id,
                    "site_id": site_id,
                    "count": entry.get("count", 0),
                    "latest": latest,
                }
                continue
            pending["count"] += entry.get("count", 0)
            conflated += _conflate(pending["latest"], latest)
        if conflated and self.metrics is not None:
            self.metrics.live_values_conflated_total.inc(conflated)
        if self._values:
            self._wakeup.set()

    def reply(self, message: dict[str, Any]) -> None:
        """Queue a control reply; a client that never reads them is closed (1008)."""
        if len(self._control) >= MAX_CONTROL:
            self.request_close(1008, "too many unanswered requests")
            return
        self._control.append(message)
        self._wakeup.set()

    def resubscribe(self, subscription: Subscription | None) -> None:
        """Replace the subscription and forget pending data it no longer covers."""
        self.subscription = subscription
        if subscription is None:
            self._values.clear()
            self._events.clear()
            return
        if "readings" not in subscription.events:
            self._values.clear()
        for asset_id, entry in list(self._values.items()):
            kept = {k: v for k, v in entry["latest"].items() if subscription.wants_metric(k)}
            if not kept or not subscription.matches(entry["site_id"], asset_id):
                del self._values[asset_id]
            else:
                entry["latest"] = kept
        self._events = deque(
            (kind, message)
            for kind, message in self._events
            if kind in subscription.events and subscription.matches_event(message)
        )

    def request_close(self, code: int, reason: str) -> None:
        """Ask the sender to close the connection (after the message being sent)."""
        if self._close_request is None:
            self._close_request = (code, reason)
        self._wakeup.set()

    @property
    def pending(self) -> int:
        """Messages' worth of data waiting: events, control replies and assets with values."""
        return len(self._events) + len(self._control) + len(self._values)

    # --- the sender task -----------------------------------------------------------------

    async def run(self) -> None:
        """Send queued messages until closed; ends (quietly) when the connection fails."""
        try:
            while True:
                if self._close_request is not None:
                    code, reason = self._close_request
                    with contextlib.suppress(Exception):
                        await self._close(code, reason)
                    return
                message = self._next_message()
                if message is None:
                    self._wakeup.clear()
                    if not await self._wait():
                        self.request_close(4401, "credentials expired")
                    continue
                await self._send(orjson.dumps(message).decode())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection went away while sending
            log.debug("live client sender stopped: %s", exc)

    async def _wait(self) -> bool:
        """Wait for work; False when the credentials expired first."""
        if self.expires_at is None:
            await self._wakeup.wait()
            return True
        remaining = self.expires_at - time.time()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(self._wakeup.wait(), remaining)
        except TimeoutError:
            return self.expires_at - time.time() > 0  # renewed by a new auth message meanwhile
        return True

    def _next_message(self) -> dict[str, Any] | None:
        if self._control:
            return self._control.popleft()
        if self._dropped:
            dropped, self._dropped = self._dropped, {}
            return {"type": "dropped", "count": sum(dropped.values()), "events": dropped}
        if self._events:
            return self._events.popleft()[1]
        if self._values:
            return self._take_readings()
        return None

    def _take_readings(self) -> dict[str, Any]:
        if len(self._values) <= READINGS_PER_MESSAGE:
            entries = list(self._values.values())
            self._values = {}
        else:
            keys = list(self._values)[:READINGS_PER_MESSAGE]
            entries = [self._values.pop(key) for key in keys]
        return {
            "type": "readings",
            "count": sum(entry["count"] for entry in entries),
            "assets": entries,
        }


def _newer_or_same(value: Any, old: Any) -> bool:
    try:
        return bool(value["ts"] >= old["ts"])
    except (KeyError, TypeError):
        return True


def _conflate(values: dict[str, Any], latest: dict[str, Any]) -> int:
    """Merge ``latest`` (metric -> point) into the pending ``values``, the newer point of a
    metric winning; how many points were conflated (a metric already pending)."""
    conflated = 0
    for key, value in latest.items():
        old = values.get(key)
        if old is None:
            values[key] = value
            continue
        conflated += 1
        if _newer_or_same(value, old):
            values[key] = value
    return conflated
