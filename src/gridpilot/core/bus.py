"""The event bus: publish/subscribe of named events (``readings.stored``, ``alert.*``...).

In-process by default; a Redis implementation joins when ``GRIDPILOT_REDIS_URL`` is set.
Handlers must be quick and must not raise into the publisher: errors are logged and dropped.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
log = logging.getLogger(__name__)


class EventBus(Protocol):
    async def publish(self, topic: str, payload: dict[str, Any]) -> None: ...

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for topics matching the glob ``pattern``; returns an unsubscribe."""
        ...


class InProcessBus:
    """A bus for one process: handlers are awaited in publish order."""

    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        for pattern, handler in list(self._handlers):
            if fnmatch.fnmatchcase(topic, pattern):
                try:
                    await handler(topic, payload)
                except Exception:
                    log.exception("event handler for %s failed", topic)

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        entry = (pattern, handler)
        self._handlers.append(entry)

        def unsubscribe() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)

        return unsubscribe
