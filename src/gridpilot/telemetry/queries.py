"""Read telemetry: series at a resolution, latest values, last seen, energy over a period.

Freshness: rollups lag the writer by up to one refresh interval. Queries never write; they
*merge* instead: for a series with a pending rollup range starting at ``s``, every point from the
bucket of ``s`` onward is aggregated from raw readings, earlier points from rollups (which the
pending range cannot have changed). The answer is the same as after a refresh. A series is one
statement (``series_sql``): one round trip, one snapshot.
"""

# SQL here is assembled only from constants and integer steps; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from gridpilot.assets.service import can_see_asset, metric_refs
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, TooLarge, ValidationFailed
from gridpilot.telemetry import series_sql
from gridpilot.telemetry.energy_queries import EnergyResult, energy
from gridpilot.telemetry.rollups import LEVEL_BY_STEP, STEPS_MS, floor_to

#: Aggregates a series point can carry.
AGGREGATES = ("avg", "min", "max", "sum", "count", "first", "last", "delta")
#: Resolutions suggested when a query is too large, finest first [name, ms].
SUGGESTED_RESOLUTIONS = (
    ("1m", 60_000),
    ("5m", 300_000),
    ("15m", 900_000),
    ("30m", 1_800_000),
    ("1h", 3_600_000),
    ("1d", 86_400_000),
)
DAY_STEP = STEPS_MS["1d"]


@dataclass(frozen=True)
class LatestValue:
    ts_ms: int
    value: float


@dataclass(frozen=True)
class SeriesPoint:
    ts_ms: int  # bucket start (or the reading's time for raw points)
    value: float | int | None


@dataclass(frozen=True)
class Series:
    asset_id: int
    metric_id: int
    start_ms: int
    end_ms: int
    step_ms: int | None  # None: raw readings
    agg: str
    source: str  # "raw" or the rollup level the points were built from
    points: list[SeriesPoint]


def choose_level(step_ms: int | None) -> int | None:
    """The coarsest rollup step that divides ``step_ms`` (None: aggregate raw readings)."""
    if step_ms is None:
        return None
    fitting = [s for s in STEPS_MS.values() if s <= step_ms and step_ms % s == 0]
    return max(fitting) if fitting else None


def _suggestion(span_ms: int, max_points: int) -> str | None:
    for name, step in SUGGESTED_RESOLUTIONS:
        if -(-span_ms // step) <= max_points:
            return name
    return None


def _too_large(count: int, what: str, span_ms: int, max_points: int) -> TooLarge:
    fit = _suggestion(span_ms, max_points)
    advice = f"use resolution={fit} or coarser" if fit else "shorten the period"
    return TooLarge(
        f"the query would return {count} {what}, more than the cap of {max_points}; {advice}",
        details={"points": count, "max_points": max_points, "suggested_resolution": fit},
    )


Executor = AsyncSession | AsyncConnection


def _point(ts: int, value: float | int | None, agg: str) -> SeriesPoint:
    if value is None:
        return SeriesPoint(int(ts), None)
    return SeriesPoint(int(ts), int(value) if agg == "count" else float(value))


def _require_visible(principal: Principal, asset_id: int, site_id: int | None) -> None:
    if site_id is None or not can_see_asset(principal, asset_id, int(site_id)):
        raise NotFound(f"asset {asset_id} not found")


async def require_asset(*, session: Executor, asset_id: int, principal: Principal | None) -> None:
    """``NotFound`` when ``principal`` is given and may not see the asset (or it is missing)."""
    if principal is not None:
        site_id = await session.scalar(series_sql.asset_site(), {"asset_id": asset_id})
        _require_visible(principal, asset_id, site_id)


async def _rows(
    session: Executor,
    statement: TextClause,
    params: dict[str, int],
    asset_id: int,
    principal: Principal | None,
) -> list[tuple[int, float | int | None]]:
    """Rows of a series statement, its asset header checked against ``principal`` and dropped."""
    rows = (await session.execute(statement, params)).all()
    if principal is None:
        return [(ts, value) for ts, value in rows]
    site_id = next((value for ts, value in rows if ts is None), None)
    _require_visible(principal, asset_id, None if site_id is None else int(site_id))
    return [(ts, value) for ts, value in rows if ts is not None]


async def _raw_points(
    session: Executor,
    params: dict[str, int],
    max_points: int,
    principal: Principal | None,
) -> list[SeriesPoint]:
    statement = series_sql.raw_points(max_points + 1, principal is not None)
    rows = await _rows(session, statement, params, params["asset_id"], principal)
    if len(rows) > max_points:
        count = await session.scalar(series_sql.raw_count(), params)
        span = params["hi"] - params["lo"]
        raise _too_large(int(count or 0), "raw readings", span, max_points)
    return [SeriesPoint(int(ts), float(value)) for ts, value in rows if value is not None]


def _series_problem(
    start_ms: int, end_ms: int, step_ms: int | None, agg: str, max_points: int
) -> Exception | None:
    """Why the query cannot run (``ValidationFailed``, ``TooLarge``), or None."""
    if agg not in AGGREGATES:
        return ValidationFailed(f"agg must be one of {', '.join(AGGREGATES)}, not {agg!r}")
    if end_ms <= start_ms:
        return ValidationFailed("end must be after start")
    if step_ms is None:
        return None
    if step_ms <= 0:
        return ValidationFailed("resolution must be positive")
    buckets = -(-(end_ms - floor_to(start_ms, step_ms)) // step_ms)
    if buckets > max_points:
        return _too_large(buckets, "points", end_ms - start_ms, max_points)
    return None


async def series(
    *,
    session: Executor,
    asset_id: int,
    metric_id: int,
    start_ms: int,
    end_ms: int,
    step_ms: int | None,
    agg: str,
    max_points: int,
    principal: Principal | None = None,
    ending: bool = False,
) -> Series:
    """Points of one series in ``[start_ms, end_ms)``, in one statement (one snapshot).

    ``step_ms`` None returns raw readings (``agg`` ignored). Otherwise each point is one bucket of
    ``step_ms`` (epoch-aligned, UTC; ``ts`` = bucket start), for every bucket holding data that
    starts in ``[floor(start_ms, step_ms), end_ms)``, so every point is a whole bucket. Points come
    from the coarsest rollup level dividing ``step_ms`` (``source``), aggregated up: ``avg`` =
    sum/count, ``min``, ``max``, ``sum``, ``count``, ``first``, ``last``, ``delta`` (sum of positive
    steps, the register energy). Steps that no level divides (or finer than 1 min) come from raw.

    ``session`` may be a session or a connection (reads only). With ``principal``, the asset must
    exist and be visible to it, else ``NotFound`` (before any other error), checked in the same
    statement. Raises ``ValidationFailed`` for a bad agg/period, ``TooLarge`` when more than
    ``max_points`` points could come back (for buckets: the number of buckets in the period,
    whatever the data).

    ``ending`` (buckets only; ``avg``, ``sum``, ``count``, ``delta``): interval-ending buckets
    ``(b, b + step]``, a reading exactly on an edge counted in the interval it closes (the
    asset's interval convention, ``assets.catalogue.INTERVAL_CONVENTIONS``); ``ts`` is still
    the bucket start.
    """
    problem = _series_problem(start_ms, end_ms, step_ms, agg, max_points)
    if problem is None and ending and (step_ms is None or agg not in series_sql.ENDING_AGG):
        problem = ValidationFailed(
            f"interval-ending buckets take agg {', '.join(series_sql.ENDING_AGG)} and a step"
        )
    if problem is not None:
        await require_asset(session=session, asset_id=asset_id, principal=principal)
        raise problem
    with_site = principal is not None
    params = {"asset_id": asset_id, "metric_id": metric_id, "lo": start_ms, "hi": end_ms}
    if step_ms is None:
        points = await _raw_points(session, params, max_points, principal)
        return Series(asset_id, metric_id, start_ms, end_ms, None, agg, "raw", points)
    params["lo"] = floor_to(start_ms, step_ms)
    level = choose_level(step_ms)
    if ending:
        params["hi_c"] = -(-end_ms // step_ms) * step_ms
        params["hi_next"] = params["hi_c"] + 1
        statement = series_sql.ending_buckets(level, step_ms, agg, with_site)
        source = "raw" if level is None else LEVEL_BY_STEP[level]
    elif level is None:
        statement = series_sql.raw_buckets(step_ms, agg, with_site)
        source = "raw"
    else:
        statement = series_sql.merged_buckets(level, step_ms, agg, with_site)
        source = LEVEL_BY_STEP[level]
    rows = await _rows(session, statement, params, asset_id, principal)
    points = [_point(ts, value, agg) for ts, value in rows]
    return Series(asset_id, metric_id, start_ms, end_ms, step_ms, agg, source, points)


async def latest_values(
    *, session: AsyncSession, asset_id: int, metric_keys: Sequence[str] | None = None
) -> dict[str, LatestValue]:
    """Newest reading per metric of one asset (all its metrics when ``metric_keys`` is None).

    Metrics come from the asset's daily rollups and pending ranges; each value is the newest raw
    reading, or the last value of the newest daily rollup once raw data has been deleted.
    """
    refs = {m.id: m.key for m in await metric_refs(session=session)}
    wanted = None if metric_keys is None else {k for k in metric_keys}
    ids = {"asset_id": asset_id, "step": DAY_STEP}
    newest_rollups = await session.execute(
        text(
            'SELECT r.metric_id, r.last_ts, r."last" FROM rollups r JOIN ('
            " SELECT metric_id, MAX(bucket_ms) AS bucket_ms FROM rollups"
            " WHERE asset_id = :asset_id AND step_ms = :step GROUP BY metric_id) t"
            " ON r.metric_id = t.metric_id AND r.bucket_ms = t.bucket_ms"
            " WHERE r.asset_id = :asset_id AND r.step_ms = :step"
        ),
        ids,
    )
    found: dict[int, LatestValue] = {
        m: LatestValue(int(ts), float(v)) for m, ts, v in newest_rollups
    }
    pending = await session.scalars(
        text("SELECT metric_id FROM rollup_pending WHERE asset_id = :asset_id"), ids
    )
    for metric_id in {*found, *pending.all()}:
        if wanted is not None and refs.get(metric_id) not in wanted:
            continue
        row = (
            await session.execute(
                text(
                    f"SELECT ts, value FROM readings WHERE {series_sql.SERIES}"
                    " ORDER BY ts DESC LIMIT 1"
                ),
                {"asset_id": asset_id, "metric_id": metric_id},
            )
        ).first()
        if row is not None and (metric_id not in found or row[0] >= found[metric_id].ts_ms):
            found[metric_id] = LatestValue(int(row[0]), float(row[1]))
    return {
        refs[m]: value
        for m, value in sorted(found.items())
        if m in refs and (wanted is None or refs[m] in wanted)
    }


async def last_seen(*, session: AsyncSession, asset_ids: Sequence[int]) -> dict[int, int | None]:
    """Epoch ms of the newest reading of any metric, per asset (None: never seen).

    The newest reading is either already rolled up (max ``last_ts`` of the daily rollups) or in a
    pending range (its ``end_ms`` is the newest time written since the last refresh).
    """
    result: dict[int, int | None] = {a: None for a in asset_ids}
    if not result:
        return result
    placeholders = ", ".join(f":a{i}" for i in range(len(result)))
    params: dict[str, int] = {f"a{i}": a for i, a in enumerate(result)}
    sql = (
        f"SELECT asset_id, MAX(last_ts) FROM rollups WHERE step_ms = {DAY_STEP}"
        f" AND asset_id IN ({placeholders}) GROUP BY asset_id"
        f" UNION ALL SELECT asset_id, MAX(end_ms) FROM rollup_pending"
        f" WHERE asset_id IN ({placeholders}) GROUP BY asset_id"
    )
    for asset_id, ts in await session.execute(text(sql), params):
        if ts is not None:
            current = result.get(asset_id)
            result[asset_id] = int(ts) if current is None else max(current, int(ts))
    return result


async def assets_with_data(
    *, session: AsyncSession, asset_ids: Sequence[int], metric_id: int, start_ms: int, end_ms: int
) -> set[int]:
    """The assets of ``asset_ids`` with a reading of ``metric_id`` in ``[start_ms, end_ms)``, or
    a reading not yet rolled up (then maybe in the period): one statement for any number."""
    if not asset_ids:
        return set()
    sql = text(
        f"SELECT DISTINCT asset_id FROM rollups WHERE step_ms = {DAY_STEP}"
        " AND metric_id = :metric AND asset_id IN :ids AND bucket_ms >= :lo AND bucket_ms < :hi"
        " UNION SELECT DISTINCT asset_id FROM rollup_pending"
        " WHERE metric_id = :metric AND asset_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    params = {
        "metric": metric_id,
        "ids": list(asset_ids),
        "lo": floor_to(start_ms, DAY_STEP),
        "hi": end_ms,
    }
    return {int(row[0]) for row in await session.execute(sql, params)}


__all__ = [
    "AGGREGATES",
    "EnergyResult",
    "LatestValue",
    "Series",
    "SeriesPoint",
    "energy",
    "last_seen",
    "latest_values",
    "require_asset",
    "series",
]
