"""Energy of many assets over one period in a few statements: ``energy`` of each, batched.

``energies`` gives every asset the ``EnergyResult`` of ``energy_queries.energy`` for the same
period: for the ``energy_kwh`` register, the hourly rollups of the whole hours and the raw
readings at the edges are read for all assets at once (four statements for any number: the
pending ranges, the rollups with the reading before each asset's first rolled one, and the two
edges' readings with the reading before each edge), then folded per asset exactly as ``energy``
folds them. Each asset the batch does not cover is asked of ``energy`` itself: one whose
rollups are pending inside the period, a period without a whole hour, an edge of a page or more
of readings, or no register reading in the period (its power integral, else no data).

The energy is the same up to the order in which the database adds the rollup hours (1e-12
relative), the method, coverage and resets the same.
"""

# SQL here is assembled only from constants and integer steps; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import find_metric_ref
from gridpilot.core.errors import ValidationFailed
from gridpilot.telemetry.energy import register_energy
from gridpilot.telemetry.energy_edges import edge_shifts, ending_assets, rolled_resets
from gridpilot.telemetry.energy_queries import (
    ENERGY_ROLLUP_STEP,
    PAGE_ROWS,
    REGISTER_METRIC,
    EnergyResult,
    Segment,
    energy,
    register_result,
    shifted,
)
from gridpilot.telemetry.rollups import floor_to

_BEFORE = (
    "(SELECT MAX(x.ts) FROM readings x WHERE x.asset_id = {a} AND x.metric_id = :metric"
    " AND x.ts < {lo})"
)
_PENDING = text(
    "SELECT asset_id, start_ms FROM rollup_pending WHERE metric_id = :metric AND asset_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_ROLLED = text(
    "SELECT g.asset_id, g.energy, g.first_ts, g.last_ts, "
    + _BEFORE.format(a="g.asset_id", lo="g.first_ts")
    + f" FROM (SELECT asset_id, SUM(energy_delta) AS energy, MIN(first_ts) AS first_ts,"
    f" MAX(last_ts) AS last_ts FROM rollups WHERE metric_id = :metric AND step_ms ="
    f" {ENERGY_ROLLUP_STEP} AND asset_id IN :ids AND bucket_ms >= :a AND bucket_ms < :b"
    " GROUP BY asset_id) g"
).bindparams(bindparam("ids", expanding=True))
#: The newest reading before ``lo`` of each asset: a column of it, one index probe (its own
#: statement part, so the range below keeps constant bounds and PostgreSQL prunes partitions).
_LAST_BEFORE = (
    "(SELECT x.{col} FROM readings x WHERE x.asset_id = e.id AND x.metric_id = :metric"
    " AND x.ts < :{lo} ORDER BY x.ts DESC LIMIT 1)"
)
_EDGE = (
    "SELECT {part} AS part, r.asset_id, r.ts, r.value FROM readings r"
    " WHERE r.metric_id = :metric AND r.asset_id IN :ids AND r.ts >= :{lo} AND r.ts < :{hi}"
    " UNION ALL SELECT {part}, e.id, "
    + _LAST_BEFORE.format(col="ts", lo="{lo}")
    + ", "
    + _LAST_BEFORE.format(col="value", lo="{lo}")
    + " FROM assets e WHERE e.id IN :ids"
)
_EDGES = text(
    _EDGE.format(part=0, lo="start", hi="a")
    + " UNION ALL "
    + _EDGE.format(part=1, lo="b", hi="end")
    + " ORDER BY 1, 2, 3"
).bindparams(bindparam("ids", expanding=True))


async def energies(
    *,
    session: AsyncSession,
    asset_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    max_gap_s: float,
) -> dict[int, EnergyResult]:
    """``energy_queries.energy`` of each of ``asset_ids`` over ``[start_ms, end_ms)`` [kWh]."""
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    ids = list(dict.fromkeys(asset_ids))
    found = await _registers(session, ids, start_ms, end_ms) if ids else {}
    for asset_id in ids:
        if asset_id not in found:
            found[asset_id] = await energy(
                session=session, asset_id=asset_id, start_ms=start_ms, end_ms=end_ms,
                max_gap_s=max_gap_s,
            )  # fmt: skip
    return {asset_id: found[asset_id] for asset_id in ids}


async def _registers(
    session: AsyncSession, ids: list[int], start_ms: int, end_ms: int
) -> dict[int, EnergyResult]:
    """The register energy of the assets the batch covers (see the module)."""
    metric = await find_metric_ref(session=session, key=REGISTER_METRIC)
    step = ENERGY_ROLLUP_STEP
    a, b = -(-start_ms // step) * step, floor_to(end_ms, step)
    if metric is None or a >= b:
        return {}
    params = {"metric": metric.id, "ids": ids}
    pending = {int(r[0]): int(r[1]) for r in await session.execute(_PENDING, params)}
    batch = [i for i in ids if i not in pending or floor_to(pending[i], step) >= b]
    if not batch:
        return {}
    params = {"metric": metric.id, "ids": batch, "a": a, "b": b, "start": start_ms, "end": end_ms}
    rolled = {int(r[0]): tuple(r[1:]) for r in await session.execute(_ROLLED, params)}
    edges: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for part, asset_id, ts, value in await session.execute(_EDGES, params):
        if ts is not None:  # an asset with no reading before the edge
            edges[(int(part), int(asset_id))].append((int(ts), float(value)))
    resets = await rolled_resets(session, metric.id, batch, a, b, step)
    out: dict[int, EnergyResult] = {}
    for asset_id in batch:
        head, tail = edges.get((0, asset_id), []), edges.get((1, asset_id), [])
        if len(head) >= PAGE_ROWS or len(tail) >= PAGE_ROWS:
            continue  # ``energy`` folds it page by page
        first = _fold(head, start_ms, a)
        total, first_rolled, last_rolled, before = rolled.get(asset_id, (None,) * 4)
        if first_rolled is not None and first[1] is None:
            first_rolled = before if before is not None else first_rolled
        segments = [
            first,
            (float(total or 0.0), first_rolled, last_rolled, resets.get(asset_id, 0)),
        ]
        segments.append(_fold(tail, b, end_ms))
        result = register_result(segments, start_ms, end_ms)
        if result is not None:
            out[asset_id] = result
    ending = await ending_assets(session, list(out))
    shifts = await edge_shifts(session, metric.id, sorted(ending), start_ms, end_ms)
    return {i: shifted(r, shifts.get(i)) if i in ending else r for i, r in out.items()}


def _fold(readings: list[tuple[int, float]], lo: int, hi: int) -> Segment:
    fold = register_energy(readings, lo, hi)
    return fold.energy_kwh, fold.first_ts, fold.last_ts, fold.resets
