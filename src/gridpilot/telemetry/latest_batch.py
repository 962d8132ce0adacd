"""The newest value of one metric for many assets in two statements (status pages)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.telemetry.queries import DAY_STEP, LatestValue

_RAW = text(
    "SELECT r.asset_id, r.ts, r.value FROM readings r"
    " WHERE r.metric_id = :metric_id AND r.asset_id IN :ids AND r.ts = ("
    " SELECT MAX(x.ts) FROM readings x WHERE x.asset_id = r.asset_id"
    " AND x.metric_id = :metric_id)"
).bindparams(bindparam("ids", expanding=True))
_ROLLUP = text(
    'SELECT r.asset_id, r.last_ts, r."last" FROM rollups r'
    " WHERE r.metric_id = :metric_id AND r.step_ms = :step AND r.asset_id IN :ids"
    " AND r.bucket_ms = (SELECT MAX(x.bucket_ms) FROM rollups x WHERE x.asset_id = r.asset_id"
    " AND x.metric_id = :metric_id AND x.step_ms = :step)"
).bindparams(bindparam("ids", expanding=True))


async def latest_of_metric(
    *, session: AsyncSession, asset_ids: Sequence[int], metric_id: int
) -> dict[int, LatestValue]:
    """Per asset of ``asset_ids``, its newest reading of ``metric_id`` (raw, or the last value
    of its newest daily rollup once raw data is gone); assets without one are missing."""
    if not asset_ids:
        return {}
    params = {"metric_id": metric_id, "ids": list(asset_ids), "step": DAY_STEP}
    found: dict[int, LatestValue] = {}
    for statement in (_ROLLUP, _RAW):
        for asset_id, ts, value in await session.execute(statement, params):
            if ts is None or value is None:
                continue
            current = found.get(int(asset_id))
            if current is None or int(ts) >= current.ts_ms:
                found[int(asset_id)] = LatestValue(int(ts), float(value))
    return found
