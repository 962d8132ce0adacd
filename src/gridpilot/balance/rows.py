"""The balance statements' rows turned into per-interval arrays without a Python loop per row
(1,000 sites x a month at 1 h are about 940,000 rows, or 1,300 rows of arrays on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gridpilot.balance.grid import Grid

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
#: ``((site id, point), term)``: a connection point's term (``balance.service.Node``).
Key = tuple[tuple[int, int], str]


def _column(rows: Sequence[Sequence[Any]], i: int, dtype: type) -> NDArray[Any]:
    return np.fromiter((r[i] for r in rows), dtype=dtype, count=len(rows))


def intervals(grid: Grid, buckets: IntArray) -> IntArray:
    """Each bucket's interval on ``grid`` (``Grid.index``), -1 where it starts none."""
    if len(grid.runs) == 1:  # uniform: arithmetic
        lo, width = grid.runs[0]
        index = (buckets - lo) // width
        inside = (index >= 0) & (index < grid.n) & ((buckets - lo) % width == 0)
        return np.where(inside, index, -1)
    edges = np.asarray(grid.edges[:-1], dtype=np.int64)
    if not edges.size:
        return np.full(buckets.size, -1, dtype=np.int64)
    pos = np.searchsorted(edges, buckets)
    clipped = np.minimum(pos, edges.size - 1)
    return np.where((pos < edges.size) & (edges[clipped] == buckets), clipped, -1)


def runs(
    rows: Sequence[Sequence[Any]], grid: Grid, values: int
) -> Iterator[tuple[tuple[int, int, str], IntArray, list[FloatArray]]]:
    """Rows ``(int, int, str, bucket [ms], value x values)`` in runs of equal first three
    columns (in the rows' order; a key may come back in a later run): each run's key, the
    interval of each of its rows (-1: none) and its value columns as float arrays."""
    if not rows:
        return
    first = _column(rows, 0, np.int64)
    second = _column(rows, 1, np.int64)
    names: dict[str, int] = {}
    third = np.fromiter(
        (names.setdefault(str(r[2]), len(names)) for r in rows), dtype=np.int64, count=len(rows)
    )
    index = intervals(grid, _column(rows, 3, np.int64))
    columns = [_column(rows, 4 + k, np.float64) for k in range(values)]
    change = (np.diff(first) != 0) | (np.diff(second) != 0) | (np.diff(third) != 0)
    bounds = [0, *(np.flatnonzero(change) + 1).tolist(), len(rows)]
    for start, end in pairwise(bounds):
        row = rows[start]
        key = (int(row[0]), int(row[1]), str(row[2]))
        yield key, index[start:end], [c[start:end] for c in columns]


def from_rows(rows: Sequence[Sequence[Any]], grid: Grid) -> dict[Key, FloatArray]:
    """Each point's term per interval [kWh] from ``balance_sql`` rows ``(site, node, term,
    bucket, kwh, reporting, assets)``: NaN where fewer assets reported than in the period."""
    energy: dict[Key, FloatArray] = {}
    for (site_id, node_id, term), index, (kwh, reporting, assets) in runs(rows, grid, 3):
        key = ((site_id, node_id), term)
        if key not in energy:
            energy[key] = np.full(grid.n, np.nan)
        ok = (index >= 0) & (reporting == assets)
        energy[key][index[ok]] = kwh[ok]
    return energy


def from_arrays(rows: Sequence[Sequence[Any]], grid: Grid) -> dict[Key, FloatArray]:
    """The same from the rows of ``balance_sql(..., arrays=True)``: ``(site, node, term, asset,
    buckets, energies)``, up to two per asset and term. Summed over the assets of each point
    and term per interval, NaN where fewer of them reported than in the period (every asset
    that reports the term in the period has a row)."""
    sums: dict[Key, FloatArray] = {}
    counts: dict[Key, IntArray] = {}
    assets: dict[Key, set[int]] = {}
    for site_id, node_id, term, asset_id, buckets, kwh in rows:
        key = ((int(site_id), int(node_id)), str(term))
        if key not in sums:
            sums[key] = np.zeros(grid.n)
            counts[key] = np.zeros(grid.n, dtype=np.int64)
            assets[key] = set()
        assets[key].add(int(asset_id))
        index = intervals(grid, np.asarray(buckets, dtype=np.int64))
        ok = index >= 0
        np.add.at(sums[key], index[ok], np.asarray(kwh, dtype=np.float64)[ok])
        np.add.at(counts[key], index[ok], 1)
    return {key: np.where(counts[key] == len(assets[key]), sums[key], np.nan) for key in sums}
