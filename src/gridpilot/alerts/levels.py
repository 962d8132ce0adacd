"""An asset's current alert level for its status (``control/machine_status.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.lifecycle import OPEN_STATES
from gridpilot.alerts.models import Alert

#: Severity -> the status's alert level (an ``info`` alert leaves a machine ``normal``).
LEVEL_OF = {"info": "normal", "warning": "warning", "critical": "critical"}
_RANK = {"normal": 0, "warning": 1, "critical": 2}


async def asset_alert_levels(session: AsyncSession, asset_ids: Sequence[int]) -> dict[int, str]:
    """The highest level among the open (active or acknowledged) alerts of each asset of
    ``asset_ids``, in one statement; assets without an open alert are missing (normal)."""
    if not asset_ids:
        return {}
    query = (
        select(Alert.asset_id, Alert.severity)
        .where(Alert.asset_id.in_(list(asset_ids)), Alert.state.in_(OPEN_STATES))
        .distinct()
    )
    levels: dict[int, str] = {}
    for asset_id, severity in await session.execute(query):
        level = LEVEL_OF.get(str(severity), "normal")
        if asset_id is not None and _RANK[level] > _RANK[levels.get(asset_id, "normal")]:
            levels[asset_id] = level
    return levels
