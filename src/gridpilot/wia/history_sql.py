"""The few statements the production history reads with, all one round trip each.

A source's production metrics are up to seven series; the newest ``n`` times of all of them come
from one statement that walks each series' primary-key index backwards (``LIMIT`` per series,
then merged), so its cost follows ``n``, not the length of the period.
"""

# SQL here is assembled only from constants and integer metric ids; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def _ids(metric_ids: Sequence[int]) -> str:
    return ", ".join(str(int(m)) for m in metric_ids)


async def newest_times(
    session: AsyncSession,
    *,
    asset_id: int,
    metric_ids: Sequence[int],
    lo: int,
    hi: int,
    limit: int,
    step_ms: int | None = None,
) -> list[int]:
    """The newest ``limit`` distinct reading times in ``[lo, hi)`` of any of the series,
    chronological; with ``step_ms``, bucket starts of that rollup level instead (each whole
    bucket ``[b, b + step)`` inside ``[lo, hi)``)."""
    if not metric_ids or hi <= lo:
        return []
    if step_ms is None:
        table, column, level, top = "readings", "ts", "", "ts < :hi"
    else:
        table, column = "rollups", "bucket_ms"
        level, top = f" AND step_ms = {int(step_ms)}", "bucket_ms <= :hi"
        hi -= int(step_ms)
    parts = [
        f"SELECT * FROM (SELECT {column} AS t FROM {table} WHERE asset_id = :asset_id"
        f" AND metric_id = {int(m)}{level} AND {column} >= :lo AND {top}"
        f" ORDER BY {column} DESC LIMIT :n) AS s{i}"
        for i, m in enumerate(metric_ids)
    ]
    sql = f"SELECT DISTINCT t FROM ({' UNION ALL '.join(parts)}) AS u ORDER BY t DESC LIMIT :n"
    params = {"asset_id": asset_id, "lo": lo, "hi": hi, "n": limit}
    rows = await session.execute(text(sql), params)
    return sorted(int(t) for (t,) in rows)


async def raw_values(
    session: AsyncSession, *, asset_id: int, metric_ids: Sequence[int], lo: int, hi: int
) -> list[tuple[int, int, float]]:
    """``(metric_id, ts, value)`` of every reading of the series in ``[lo, hi]``, by time."""
    rows = await session.execute(
        text(
            "SELECT metric_id, ts, value FROM readings WHERE asset_id = :asset_id"
            f" AND metric_id IN ({_ids(metric_ids)}) AND ts >= :lo AND ts <= :hi ORDER BY ts"
        ),
        {"asset_id": asset_id, "lo": lo, "hi": hi},
    )
    return [(int(m), int(ts), float(v)) for m, ts, v in rows if v is not None]


async def neighbour(
    session: AsyncSession,
    *,
    asset_id: int,
    metric_id: int,
    ts: int,
    before: bool,
    within: int | None = None,
) -> tuple[int, float] | None:
    """The last reading of the series before ``ts`` (``before``), else the first after it;
    with ``within`` [ms], only one at most that far (fewer daily partitions to plan)."""
    op, order = ("<", "DESC") if before else (">", "ASC")
    bound = ""
    if within is not None:
        bound = " AND ts >= :edge" if before else " AND ts <= :edge"
    row = (
        await session.execute(
            text(
                "SELECT ts, value FROM readings WHERE asset_id = :asset_id AND metric_id = :m"
                f" AND ts {op} :ts{bound} ORDER BY ts {order} LIMIT 1"
            ),
            {
                "asset_id": asset_id,
                "m": metric_id,
                "ts": ts,
                "edge": ts + (-1 if before else 1) * (within or 0),
            },
        )
    ).first()
    return None if row is None or row[1] is None else (int(row[0]), float(row[1]))


async def series_points(
    session: AsyncSession, *, asset_id: int, metric_id: int, lo: int, hi: int, cap: int
) -> list[tuple[int, float]]:
    """Up to ``cap`` readings of one series in ``[lo, hi)``, chronological."""
    rows = await session.execute(
        text(
            "SELECT ts, value FROM readings WHERE asset_id = :asset_id AND metric_id = :m"
            " AND ts >= :lo AND ts < :hi ORDER BY ts LIMIT :cap"
        ),
        {"asset_id": asset_id, "m": metric_id, "lo": lo, "hi": hi, "cap": cap},
    )
    return [(int(ts), float(v)) for ts, v in rows if v is not None]


async def rollup_values(
    session: AsyncSession,
    *,
    asset_id: int,
    metric_ids: Sequence[int],
    step_ms: int,
    lo: int,
    hi: int,
) -> list[tuple[int, int, float, float, float]]:
    """``(metric_id, bucket, average, last, energy_delta)`` of the level's buckets in
    ``[lo, hi]``, by bucket."""
    rows = await session.execute(
        text(
            'SELECT metric_id, bucket_ms, "sum", "count", "last", energy_delta FROM rollups'
            f" WHERE asset_id = :asset_id AND step_ms = {int(step_ms)}"
            f" AND metric_id IN ({_ids(metric_ids)}) AND bucket_ms >= :lo AND bucket_ms <= :hi"
            " ORDER BY bucket_ms"
        ),
        {"asset_id": asset_id, "lo": lo, "hi": hi},
    )
    return [
        (int(m), int(b), float(s) / int(c), float(last), float(delta or 0.0))
        for m, b, s, c, last, delta in rows
        if c
    ]
