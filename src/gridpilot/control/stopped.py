"""Sources stopped on purpose: a silence that is no outage.

When the simulator feeding some assets stops (``POST /simulator/stop``, the server shutting
down), their data stops because someone stopped it, not because a device failed. Their stored
status becomes offline with reason ``stopped`` (``asset.status`` announces it): the staleness
check leaves them alone (it only turns online assets offline) and the alert evaluator expects
nothing from them, so no "offline" alert is raised, until their data comes again, which brings
them online as any fresh data does (``tracker.StatusTracker``).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.control import status
from gridpilot.control.events import StatusChange, publish_status_changes
from gridpilot.core.bus import EventBus
from gridpilot.core.timestamps import now_ms

#: The reason of an offline status whose source was stopped on purpose.
STOPPED = "stopped"


async def record_stopped(
    *, session: AsyncSession, sources: Mapping[int, int], at_ms: int
) -> list[StatusChange]:
    """Assets (asset id -> site id) online or never seen -> offline, reason ``stopped``; the
    changes made. Assets already offline keep their status and reason."""
    changes = []
    for asset_id, site_id in sorted(sources.items()):
        _, change = await status.record_transition(
            session=session, asset_id=asset_id, site_id=site_id, status=status.OFFLINE,
            reason=STOPPED, at_ms=at_ms, last_seen_ms=None,
            from_states=(None, status.ONLINE),
        )  # fmt: skip
        if change is not None:
            changes.append(change)
    return changes


async def sources_stopped(
    sessions: async_sessionmaker[AsyncSession], bus: EventBus, sources: Mapping[int, int]
) -> list[StatusChange]:
    """``record_stopped`` in its own transaction, then ``asset.status`` for each change."""
    if not sources:
        return []
    async with sessions() as session, session.begin():
        changes = await record_stopped(session=session, sources=sources, at_ms=now_ms())
    await publish_status_changes(bus, changes)
    return changes
