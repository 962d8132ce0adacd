"""The DR events on the bus, published after the commit: ``dr_event.updated`` (an event was
created or changed status; streamed on the live WebSocket as ``dr_event``) and
``dr_event.performance`` (intervals of an event were measured: ``dr_performance``), both to
clients that may see the site."""

from __future__ import annotations

from collections.abc import Iterable

from gridpilot.core import events as catalogue
from gridpilot.core.bus import EventBus
from gridpilot.dr.models import DrEvent


def changed(event: DrEvent, previous: str | None, at_ms: int) -> catalogue.DrEventChanged:
    """The payload of ``event`` now that it went from ``previous`` (None: created)."""
    return {
        "event_id": event.id,
        "site_id": event.site_id,
        "status": event.status,
        "previous": previous,
        "start_ms": event.start_ms,
        "end_ms": event.end_ms,
        "target_reduction_kw": event.target_reduction_kw,
        "achieved_reduction_kw": event.achieved_reduction_kw,
        "performance_pct": event.performance_pct,
        "reason": event.status_reason,
        "changed_ms": at_ms,
    }


async def publish(bus: EventBus, changes: Iterable[catalogue.DrEventChanged]) -> None:
    for payload in changes:
        await bus.publish(catalogue.DR_EVENT_UPDATED.name, dict(payload))


async def publish_performance(bus: EventBus, payload: catalogue.DrEventPerformance | None) -> None:
    if payload is not None:
        await bus.publish(catalogue.DR_EVENT_PERFORMANCE.name, dict(payload))
