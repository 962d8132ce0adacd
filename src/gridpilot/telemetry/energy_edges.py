"""Register energy corrections shared by ``energy`` and the batch ``energies``.

* **Resets inside the hourly rollups.** Rollups keep no reset count, so a register read from
  them once said ``resets: 0`` where the raw readings had said 1. Per hourly row, with the
  previous row's last value ``L`` (rows of the day before ``a`` included, so the reading before
  the first rolled one is seen): a drop *into* the row is ``first < L`` (exact); a drop *inside*
  it shows as positive steps beyond the row's net change, ``energy_delta - max(first - L, 0) >
  last - first`` (a tolerance of 1e-12 x |max| x count for rounding), counted once per row (two
  drops in one hour count as one). The same figure before and after the refresh.
* **Interval-ending registers** (``assets.catalogue.interval_convention``): a reading exactly at
  ``start`` closes the interval before the period, one exactly at ``end`` the period's last, so
  the period holds the steps whose later reading lies in ``(start, end]``: the fold over
  ``[start, end)`` minus the step into a reading at ``start`` plus the step into one at ``end``
  (from raw readings; past the raw retention the edges are not moved).
"""

# SQL here is assembled only from constants and integer steps; values are bind parameters.

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import interval_convention

DAY_MS = 86_400_000

_ROLLED_RESETS = text(
    "SELECT asset_id, SUM(CASE WHEN prev_last IS NOT NULL AND first_v < prev_last THEN 1 ELSE 0"
    " END + CASE WHEN prev_last IS NOT NULL AND energy_delta - CASE WHEN first_v > prev_last"
    " THEN first_v - prev_last ELSE 0 END > last_v - first_v + 1e-12 * (ABS(max_v) + 1) * n"
    ' THEN 1 ELSE 0 END) FROM (SELECT asset_id, bucket_ms, energy_delta, "first" AS first_v,'
    ' "last" AS last_v, "max" AS max_v, "count" AS n, LAG("last") OVER (PARTITION BY asset_id'
    " ORDER BY bucket_ms) AS prev_last FROM rollups WHERE metric_id = :metric AND step_ms ="
    " :step AND asset_id IN :ids AND bucket_ms >= :lo AND bucket_ms < :b) r"
    " WHERE bucket_ms >= :a GROUP BY asset_id"
).bindparams(bindparam("ids", expanding=True))

_EDGE_STEPS = text(
    "SELECT r.asset_id, r.ts, r.value, (SELECT p.value FROM readings p WHERE p.asset_id ="
    " r.asset_id AND p.metric_id = :metric AND p.ts < r.ts ORDER BY p.ts DESC LIMIT 1)"
    " FROM readings r WHERE r.metric_id = :metric AND r.asset_id IN :ids AND r.ts IN (:t0, :t1)"
).bindparams(bindparam("ids", expanding=True))

_CONVENTIONS = text("SELECT id, attributes FROM assets WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)


async def rolled_resets(
    session: AsyncSession, metric_id: int, asset_ids: Sequence[int], a: int, b: int, step: int
) -> dict[int, int]:
    """Resets per asset in its hourly rollup rows ``[a, b)`` (see the module)."""
    if not asset_ids or a >= b:
        return {}
    params = {"metric": metric_id, "ids": list(asset_ids), "a": a, "b": b, "lo": a - DAY_MS}
    rows = await session.execute(_ROLLED_RESETS, {**params, "step": step})
    return {int(asset): int(count or 0) for asset, count in rows}


async def ending_assets(session: AsyncSession, asset_ids: Sequence[int]) -> set[int]:
    """The assets of ``asset_ids`` whose interval convention is ``ending`` (the default)."""
    if not asset_ids:
        return set()
    rows = await session.execute(_CONVENTIONS, {"ids": list(asset_ids)})
    found = set()
    for asset_id, attributes in rows:
        if isinstance(attributes, str):  # raw SQL hands JSON back as text on some back ends
            attributes = json.loads(attributes)
        if interval_convention(attributes) == "ending":
            found.add(int(asset_id))
    return found


async def edge_shifts(
    session: AsyncSession, metric_id: int, asset_ids: Sequence[int], start_ms: int, end_ms: int
) -> dict[int, tuple[float, int]]:
    """Per interval-ending asset: (energy [kWh], resets) to add to its ``[start, end)`` fold:
    minus the step into a reading at ``start``, plus the step into one at ``end``."""
    if not asset_ids:
        return {}
    params = {"metric": metric_id, "ids": list(asset_ids), "t0": start_ms, "t1": end_ms}
    out: dict[int, tuple[float, int]] = {}
    for asset_id, ts, value, previous in await session.execute(_EDGE_STEPS, params):
        if previous is None:
            continue
        sign = -1 if int(ts) == start_ms else 1
        step = float(value) - float(previous)
        energy, resets = out.get(int(asset_id), (0.0, 0))
        if step >= 0:
            out[int(asset_id)] = (energy + sign * step, resets)
        else:
            out[int(asset_id)] = (energy, resets + sign)
    return out
