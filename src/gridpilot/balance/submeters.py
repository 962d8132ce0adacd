"""The unmetered remainder of every parent meter: what it measured beyond its direct sub-meters
[kWh per interval], in the parent's own direction (docs/site-energy.md).

Every asset's flow is taken in the load convention of the main meter: ``import - export +
consumption + charge - discharge - generation`` (what it draws). The remainder of a parent is
its flow minus the sum of its children's, negated for a producer parent (so that it counts
produced energy no sub-meter explains). It is unknown (NaN) in an interval where the parent or a
child is; a negative remainder means the sub-meters claim more than the parent (a fault).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import FloatArray, unmetered_remainder
from gridpilot.assets.models import Asset
from gridpilot.balance import stored_sql
from gridpilot.balance.grid import Grid
from gridpilot.balance.queries import meters_sql
from gridpilot.balance.rows import intervals, runs

#: Sign of each term in an asset's flow (load convention: + drawn from the connection point).
DRAW: dict[str, float] = {
    "import": 1.0,
    "export": -1.0,
    "consumption": 1.0,
    "charge": 1.0,
    "discharge": -1.0,
    "generation": -1.0,
}


@dataclass(frozen=True)
class Remainder:
    """A parent meter's energy beyond its direct sub-meters [kWh per interval, NaN unknown]."""

    parent_id: int
    role: str
    children: tuple[int, ...]
    kwh: FloatArray


def flows(rows: Any, grid: Grid) -> dict[int, FloatArray]:
    """Each asset's flow per interval from ``meters_sql`` rows: NaN where a term the asset
    reported in the period is missing."""
    terms: dict[int, dict[str, FloatArray]] = defaultdict(dict)
    for (_site_id, asset_id, term), index, (kwh,) in runs(rows, grid, 1):
        series = terms[asset_id].setdefault(term, np.full(grid.n, np.nan))
        ok = index >= 0
        series[index[ok]] = kwh[ok]
    return _drawn(terms)


def flows_of_arrays(rows: Any, grid: Grid) -> dict[int, FloatArray]:
    """The same from the rows of ``meters_sql(..., arrays=True)`` (PostgreSQL)."""
    terms: dict[int, dict[str, FloatArray]] = defaultdict(dict)
    for _site_id, _node, term, asset_id, buckets, kwh in rows:
        series = terms[int(asset_id)].setdefault(str(term), np.full(grid.n, np.nan))
        index = intervals(grid, np.asarray(buckets, dtype=np.int64))
        ok = index >= 0
        series[index[ok]] = np.asarray(kwh, dtype=np.float64)[ok]
    return _drawn(terms)


def _drawn(terms: dict[int, dict[str, FloatArray]]) -> dict[int, FloatArray]:
    """Each asset's flow: its terms signed by ``DRAW``, summed in the terms' name order."""
    return {
        asset_id: np.sum([DRAW[t] * by_term[t] for t in sorted(by_term)], axis=0)
        for asset_id, by_term in terms.items()
    }


def remainder_of(
    parent: tuple[int, str], children: list[int], flow: Mapping[int, FloatArray], n: int
) -> Remainder:
    """The remainder of ``parent`` (id, role) over its ``children``' flows."""
    unknown = np.full(n, np.nan)
    parent_id, role = parent
    rest = unmetered_remainder(
        flow.get(parent_id, unknown), [flow.get(c, unknown) for c in children]
    )
    sign = -1.0 if role == "producer" else 1.0
    return Remainder(parent_id, role, tuple(children), sign * rest)


async def remainders(
    session: AsyncSession, grid: Grid, params: Mapping[str, Any]
) -> dict[int, list[Remainder]]:
    """Per site of ``params["site_ids"]``, the remainder of each parent meter (by parent id)."""
    links = await session.execute(
        select(Asset.id, Asset.site_id, Asset.role, Asset.parent_asset_id).where(
            Asset.site_id.in_(list(params["site_ids"]))
        )
    )
    role: dict[int, tuple[int, str]] = {}
    children: dict[int, list[int]] = defaultdict(list)
    for asset_id, site_id, asset_role, parent_id in links:
        role[int(asset_id)] = (int(site_id), str(asset_role))
        if parent_id is not None:
            children[int(parent_id)].append(int(asset_id))
    if not children:
        return {}
    arrays = session.get_bind().dialect.name == "postgresql" and stored_sql.applies(grid)
    rows = (await session.execute(meters_sql(grid, arrays=arrays), dict(params))).all()
    flow = flows_of_arrays(rows, grid) if arrays else flows(rows, grid)
    out: dict[int, list[Remainder]] = defaultdict(list)
    for parent_id in sorted(children):
        if parent_id not in role:
            continue
        site_id, parent_role = role[parent_id]
        kids = sorted(children[parent_id])
        out[site_id].append(remainder_of((parent_id, parent_role), kids, flow, grid.n))
    return dict(out)
