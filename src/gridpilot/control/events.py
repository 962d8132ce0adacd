"""Events the control domain publishes on the bus (after the transaction committed).

``asset.status``: ``{"asset_id", "site_id", "status": "online"|"offline", "previous": ...|null,
"reason": "lwt"|"stale"|"data"|"birth"|"stopped"|"error", "last_seen_ms", "changed_ms"}``.
``command.updated``: ``{"command_id", "asset_id", "site_id", "kind", "state", "previous",
"updated_ms", "detail"}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus

ASSET_STATUS = catalogue.ASSET_STATUS.name
COMMAND_UPDATED = catalogue.COMMAND_UPDATED.name


@dataclass(frozen=True, slots=True)
class StatusChange:
    """An asset's online/offline status changed (``previous`` None: first status known)."""

    asset_id: int
    site_id: int
    status: str
    previous: str | None
    reason: str
    last_seen_ms: int | None
    changed_ms: int


@dataclass(frozen=True, slots=True)
class CommandChange:
    """A command moved from ``previous`` (None when it was created) to ``state``."""

    command_id: int
    asset_id: int
    site_id: int
    kind: str
    state: str
    previous: str | None
    updated_ms: int
    detail: str | None


async def publish_status_changes(bus: EventBus, changes: Iterable[StatusChange]) -> None:
    for change in changes:
        await bus.publish(ASSET_STATUS, asdict(change))


async def publish_command_changes(bus: EventBus, changes: Iterable[CommandChange]) -> None:
    for change in changes:
        await bus.publish(COMMAND_UPDATED, asdict(change))
