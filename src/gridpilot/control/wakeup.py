"""When a command sender should look for work: a command was queued or an asset came online."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from gridpilot.control.events import ASSET_STATUS, COMMAND_UPDATED
from gridpilot.control.service import QUEUED
from gridpilot.core.bus import EventBus


class CommandWakeup:
    """Set on ``command.updated`` to queued and on ``asset.status`` online, for the assets
    ``wanted(asset_id)`` accepts (all by default); senders also poll, for other processes."""

    def __init__(self, bus: EventBus, wanted: Callable[[Any], bool] | None = None) -> None:
        self.bus = bus
        self.wanted = wanted
        self.event = asyncio.Event()
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> None:
        self._unsubscribe = [
            self.bus.subscribe(COMMAND_UPDATED, self._on_command),
            self.bus.subscribe(ASSET_STATUS, self._on_status),
        ]

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    async def wait(self, timeout_s: float) -> None:
        """Until set or ``timeout_s`` [s] passed; clear it before looking for work."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout_s)

    def _wake_for(self, payload: dict[str, Any]) -> None:
        if self.wanted is None or self.wanted(payload.get("asset_id")):
            self.event.set()

    async def _on_command(self, topic: str, payload: dict[str, Any]) -> None:
        if payload.get("state") == QUEUED:
            self._wake_for(payload)

    async def _on_status(self, topic: str, payload: dict[str, Any]) -> None:
        if payload.get("status") == "online":
            self._wake_for(payload)
