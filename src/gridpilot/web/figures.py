"""Small figures the asset and site pages share: last-seen labels and asset statuses.

The fleet-wide figures (overview, site list) are in ``web.fleet_view``: set-based, one fleet
summary and one balance statement for any number of sites.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.control.status import StatusView, read_statuses
from gridpilot.control.tasks import CONTROL, status_policy
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms
from gridpilot.web.context import current


def since_label(ts_ms: int | None, now: int | None = None) -> str:
    """'12 s ago' style label of a last-seen time."""
    if ts_ms is None:
        return "never"
    seconds = max(0, ((now or now_ms()) - ts_ms) // 1000)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


async def statuses(assets: Sequence[Asset]) -> dict[int, StatusView]:
    """Online/offline/unknown of ``assets`` as ``GET /assets/{id}/status`` reports it."""
    async with current().session() as session:
        return await statuses_in(session, assets)


async def statuses_in(session: AsyncSession, assets: Sequence[Asset]) -> dict[int, StatusView]:
    """``statuses`` in the caller's session."""
    context = current()
    runtime = runtime_of(context.app).get(CONTROL)
    views = await read_statuses(
        session=session,
        assets=[(a.id, a.site_id, a.expected_interval_s) for a in assets],
        tracked=runtime.tracker.last_seen if runtime else (lambda _a: None),
        policy=status_policy(context.settings),
        now_ms=now_ms(),
    )
    return {view.asset_id: view for view in views}
