"""Rollups: 1 min / 15 min / 1 h / 1 day aggregates per series, recomputed from pending ranges.

The writer records, in the transaction that stores readings, the time range it touched per series
in ``rollup_pending`` (widened on conflict). ``refresh_pending`` takes those ranges and recomputes
every affected bucket of every level with set-based SQL that runs on SQLite and PostgreSQL alike
(epoch-ms integer arithmetic, ``LAG``/``FIRST_VALUE`` window functions), so late and out-of-order
data give exactly the rollups a computation from scratch would give.

Affected buckets of a pending range ``[s, e]`` at level ``L``: from the bucket of ``s`` to the
bucket of ``max(e, n)`` where ``n`` is the first reading after ``e``: the energy step of ``n``
depends on the reading before it, which may be new. The step of the first reading of the range
depends on the reading before ``s``, so that one is read too (never written).

The 1 min level is computed from raw readings; each coarser level from the next finer level kept
at least as long as raw data (sums of counts/sums/energy, min of mins, first by ``first_ts``...),
which reads at most a day's worth of 1 h rows instead of a day of raw readings. If a finer level
is kept for less time than raw data, the level is computed from raw instead
(see ``rollup_sources``).

Concurrency: a refresh never holds locks that writers wait for while it recomputes. It reads the
pending rows with their ``version`` (bumped by every write that widens a row), recomputes, and in
the same transaction deletes only the rows whose version is unchanged. A reading committed while
the refresh ran bumped its row, which therefore stays pending and is recomputed next time; a
query meanwhile still sees the pending row and merges raw data. So no reading is ever left out of
the rollups, and ingestion is not stalled by rollup work. A deadlock is retried.

Two refreshes never run at once: on PostgreSQL each batch transaction first takes a transaction
advisory lock (``REFRESH_LOCK_KEY``), so a second process (a backfill, a CLI run, another
worker) waits for the first one's batch instead of inserting the same buckets beside it; SQLite
serialises writing transactions by itself.
"""

# SQL here is assembled only from constants and integer steps; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.settings import Settings
from gridpilot.telemetry.models import RollupPending

log = logging.getLogger(__name__)

#: Rollup levels, finest first: name -> bucket width [ms].
STEPS_MS = {"1m": 60_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000}
LEVEL_BY_STEP = {step: name for name, step in STEPS_MS.items()}

#: Series recomputed per transaction (4 bind parameters each: well under SQLite's limit).
REFRESH_BATCH = 200
#: PostgreSQL advisory lock key held by a refresh batch ("gridpilot rollups" as a 63-bit number).
REFRESH_LOCK_KEY = 0x67_7270_726F_6C6C
DEADLOCK_RETRIES = 3

ROLLUP_COLUMNS = (
    'asset_id, metric_id, step_ms, bucket_ms, "count", "min", "max", "sum", "first", "last", '
    "first_ts, last_ts, energy_delta"
)


@dataclass(frozen=True)
class PendingRange:
    """Readings of one series between ``start_ms`` and ``end_ms`` (inclusive) changed."""

    asset_id: int
    metric_id: int
    start_ms: int
    end_ms: int
    version: int = 0


@dataclass(frozen=True)
class Window:
    """Buckets ``[lo_ms, hi_ms)`` of one series to recompute at one level."""

    asset_id: int
    metric_id: int
    lo_ms: int
    hi_ms: int


def floor_to(ms: int, step_ms: int) -> int:
    """Start of the ``step_ms`` bucket holding ``ms`` (Python floors, also before 1970)."""
    return ms - ms % step_ms


def bucket_sql(column: str, step_ms: int) -> str:
    """SQL for the start of the ``step_ms`` bucket of ``column`` (floor, any sign, any back end)."""
    step = int(step_ms)
    return f"({column} - ((({column} % {step}) + {step}) % {step}))"


def values_cte(
    name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[int]]
) -> tuple[str, dict[str, Any]]:
    """``name(cols) AS (VALUES ...)`` with typed bind parameters, and the parameters."""
    params: dict[str, Any] = {}
    tuples = []
    for i, row in enumerate(rows):
        cells = []
        for (column, sql_type), value in zip(columns, row, strict=True):
            key = f"{name}_{column}_{i}"
            params[key] = value
            cells.append(f"CAST(:{key} AS {sql_type})")
        tuples.append("(" + ", ".join(cells) + ")")
    names = ", ".join(column for column, _ in columns)
    return f"{name}({names}) AS (VALUES {', '.join(tuples)})", params


def _windows_cte(windows: Sequence[Window]) -> tuple[str, dict[str, Any]]:
    columns = [
        ("asset_id", "INTEGER"),
        ("metric_id", "INTEGER"),
        ("lo", "BIGINT"),
        ("hi", "BIGINT"),
    ]
    rows = [(w.asset_id, w.metric_id, w.lo_ms, w.hi_ms) for w in windows]
    return values_cte("work", columns, rows)


def rollup_sources(settings: Settings) -> dict[int, int | None]:
    """For each level's step, the finer level it is computed from (None: raw readings).

    A finer level is usable when it is kept at least as long as raw readings, so it is complete
    wherever late data can still arrive (older data is rejected by the writer).
    """
    retention = {
        STEPS_MS["1m"]: settings.retention_1m_days,
        STEPS_MS["15m"]: settings.retention_15m_days,
        STEPS_MS["1h"]: settings.retention_1h_days,
        STEPS_MS["1d"]: settings.retention_1d_days,
    }
    raw_days = settings.retention_raw_days

    def usable(step: int) -> bool:
        days = retention[step]
        return days is None or (raw_days is not None and days >= raw_days)

    sources: dict[int, int | None] = {}
    finer: list[int] = []
    for step in STEPS_MS.values():
        sources[step] = next((k for k in reversed(finer) if usable(k)), None)
        finer.append(step)
    return sources


# Every statement that writes starts with its verb (the CTE goes inside): Python's sqlite3 opens
# its transaction only before a statement that starts with INSERT/UPDATE/DELETE/REPLACE, so a
# "WITH ... DELETE" would run outside the session's transaction (autocommitted, not atomic).
#: One window's buckets, deleted through the primary key (a range per series). One statement per
#: batch with a ``work`` list in ``EXISTS`` instead made PostgreSQL scan every rollup row of the
#: level and the list for each (no semi-join through a CTE): seconds per batch at 200 series.
_DELETE_SQL = (
    "DELETE FROM rollups WHERE asset_id = :asset_id AND metric_id = :metric_id"
    " AND step_ms = :step AND bucket_ms >= :lo AND bucket_ms < :hi"
)

_FROM_RAW_SQL = """
INSERT INTO rollups ({columns})
WITH {work},
bounds AS (
  SELECT w.asset_id, w.metric_id, w.lo, w.hi,
         COALESCE((SELECT MAX(p.ts) FROM readings p WHERE p.asset_id = w.asset_id
                   AND p.metric_id = w.metric_id AND p.ts < w.lo), w.lo) AS from_ts
  FROM work w
),
-- one window (one sort): the step from the previous reading, and the neighbours' times, which
-- tell whether a reading is the first or the last of its bucket
pts AS (
  SELECT r.asset_id, r.metric_id, r.ts, r.value, b.lo,
         r.value - LAG(r.value) OVER series AS step,
         LAG(r.ts) OVER series AS prev_ts,
         LEAD(r.ts) OVER series AS next_ts
  FROM readings r JOIN bounds b ON r.asset_id = b.asset_id AND r.metric_id = b.metric_id
   AND r.ts >= b.from_ts AND r.ts < b.hi
  WINDOW series AS (PARTITION BY r.asset_id, r.metric_id ORDER BY r.ts)
),
inb AS (
  SELECT asset_id, metric_id, ts, value, step, {bucket} AS bucket,
         CASE WHEN prev_ts IS NULL OR {prev_bucket} <> {bucket} THEN 1 ELSE 0 END AS is_first,
         CASE WHEN next_ts IS NULL OR {next_bucket} <> {bucket} THEN 1 ELSE 0 END AS is_last
  FROM pts WHERE ts >= lo
)
SELECT asset_id, metric_id, {step}, bucket, COUNT(*), MIN(value), MAX(value), SUM(value),
       MAX(CASE WHEN is_first = 1 THEN value END), MAX(CASE WHEN is_last = 1 THEN value END),
       MIN(ts), MAX(ts), COALESCE(SUM(CASE WHEN step > 0 THEN step ELSE 0 END), 0)
FROM inb GROUP BY asset_id, metric_id, bucket
"""

_FROM_LEVEL_SQL = """
INSERT INTO rollups ({columns})
WITH {work},
src AS (
  SELECT r.asset_id, r.metric_id, {bucket} AS bucket, r."count" AS n, r."min" AS min_v,
         r."max" AS max_v, r."sum" AS sum_v, r."first" AS first_v0, r."last" AS last_v0,
         r.first_ts, r.last_ts, r.energy_delta
  FROM rollups r JOIN work w ON r.asset_id = w.asset_id AND r.metric_id = w.metric_id
  WHERE r.step_ms = {source} AND r.bucket_ms >= w.lo AND r.bucket_ms < w.hi
),
-- finer buckets are disjoint in time, so ordering by first_ts also orders by last_ts: one sort
ranked AS (
  SELECT src.*,
    FIRST_VALUE(first_v0) OVER (PARTITION BY asset_id, metric_id, bucket ORDER BY first_ts
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_v,
    LAST_VALUE(last_v0) OVER (PARTITION BY asset_id, metric_id, bucket ORDER BY first_ts
      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_v
  FROM src
)
SELECT asset_id, metric_id, {step}, bucket, SUM(n), MIN(min_v), MAX(max_v), SUM(sum_v),
       MIN(first_v), MIN(last_v), MIN(first_ts), MAX(last_ts), SUM(energy_delta)
FROM ranked GROUP BY asset_id, metric_id, bucket
"""


async def _next_readings(
    session: AsyncSession, ranges: Sequence[PendingRange]
) -> dict[tuple[int, int], int | None]:
    """Per series, the first reading strictly after its pending range (or None)."""
    columns = [("asset_id", "INTEGER"), ("metric_id", "INTEGER"), ("end_ms", "BIGINT")]
    cte, params = values_cte("work", columns, [(r.asset_id, r.metric_id, r.end_ms) for r in ranges])
    sql = (
        f"WITH {cte} SELECT w.asset_id, w.metric_id, (SELECT MIN(r.ts) FROM readings r "
        "WHERE r.asset_id = w.asset_id AND r.metric_id = w.metric_id AND r.ts > w.end_ms) "
        "FROM work w"
    )
    rows = await session.execute(text(sql), params)
    return {(a, m): n for a, m, n in rows}


async def recompute(
    *, session: AsyncSession, ranges: Sequence[PendingRange], settings: Settings
) -> None:
    """Recompute, in the session's transaction, every bucket of every level ``ranges`` affect,
    and the balance's stored energy of those buckets (``series_energy.refresh_energy``)."""
    if not ranges:
        return
    # imported here: series_energy imports this module
    from gridpilot.telemetry.series_energy import refresh_energy

    next_ts = await _next_readings(session, ranges)
    sources = rollup_sources(settings)
    written: dict[int, list[tuple[int, int, int, int]]] = {}
    for step in STEPS_MS.values():
        windows = []
        for r in ranges:
            last = max(r.end_ms, next_ts.get((r.asset_id, r.metric_id)) or r.end_ms)
            lo, hi = floor_to(r.start_ms, step), floor_to(last, step) + step
            windows.append(Window(r.asset_id, r.metric_id, lo, hi))
        written[step] = [(w.asset_id, w.metric_id, w.lo_ms, w.hi_ms) for w in windows]
        cte, params = _windows_cte(windows)
        await session.execute(
            text(_DELETE_SQL),
            [
                {"asset_id": w.asset_id, "metric_id": w.metric_id, "step": step}
                | {"lo": w.lo_ms, "hi": w.hi_ms}
                for w in windows
            ],
        )
        source = sources[step]
        if source is None:
            sql = _FROM_RAW_SQL.format(
                work=cte,
                step=step,
                bucket=bucket_sql("ts", step),
                prev_bucket=bucket_sql("prev_ts", step),
                next_bucket=bucket_sql("next_ts", step),
                columns=ROLLUP_COLUMNS,
            )
        else:
            sql = _FROM_LEVEL_SQL.format(
                work=cte,
                step=step,
                source=source,
                bucket=bucket_sql("r.bucket_ms", step),
                columns=ROLLUP_COLUMNS,
            )
        await session.execute(text(sql), params)
    # the balance's energy per bucket, from the rollups just written (telemetry/series_energy)
    await refresh_energy(session, written, settings.energy_max_gap_s * 1000)


async def read_pending(
    session: AsyncSession,
    *,
    limit: int,
    after: tuple[int, int] | None = None,
    asset_id: int | None = None,
    metric_id: int | None = None,
) -> list[PendingRange]:
    """Up to ``limit`` pending ranges in key order after the key ``after`` (no locks taken)."""
    query = select(RollupPending).order_by(RollupPending.asset_id, RollupPending.metric_id)
    if after is not None:
        query = query.where(tuple_(RollupPending.asset_id, RollupPending.metric_id) > after)
    if asset_id is not None:
        query = query.where(RollupPending.asset_id == asset_id)
    if metric_id is not None:
        query = query.where(RollupPending.metric_id == metric_id)
    rows = (await session.execute(query.limit(limit))).scalars().all()
    ranges = [PendingRange(p.asset_id, p.metric_id, p.start_ms, p.end_ms, p.version) for p in rows]
    session.expunge_all()
    return ranges


async def settle_pending(session: AsyncSession, ranges: Sequence[PendingRange]) -> None:
    """Delete the pending rows of ``ranges`` that no write has widened since they were read."""
    if ranges:
        await session.execute(
            delete(RollupPending)
            .where(
                tuple_(RollupPending.asset_id, RollupPending.metric_id, RollupPending.version).in_(
                    [(r.asset_id, r.metric_id, r.version) for r in ranges]
                )
            )
            .execution_options(synchronize_session=False)
        )


async def lock_refresh(session: AsyncSession) -> None:
    """Wait for any other refresh batch to commit (PostgreSQL; held until this one ends)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REFRESH_LOCK_KEY})


def _is_deadlock(error: DBAPIError) -> bool:
    return "deadlock" in str(error.orig).lower()


async def refresh_pending(*, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Recompute the rollups of every pending range; returns how many series were refreshed.

    Works in transactions of ``REFRESH_BATCH`` series, walking the pending rows once in key
    order, so a steady stream of writes cannot keep it running forever.
    """
    done = 0
    attempts = 0
    after: tuple[int, int] | None = None
    while True:
        try:
            async with sessions() as session, session.begin():
                await lock_refresh(session)
                ranges = await read_pending(session, limit=REFRESH_BATCH, after=after)
                await recompute(session=session, ranges=ranges, settings=settings)
                await settle_pending(session, ranges)
        except DBAPIError as error:
            attempts += 1
            if not _is_deadlock(error) or attempts > DEADLOCK_RETRIES:
                raise
            log.warning("rollup refresh deadlocked with a writer; retrying")
            await asyncio.sleep(0.05 * attempts)
            continue
        done += len(ranges)
        if len(ranges) < REFRESH_BATCH:
            return done
        after = (ranges[-1].asset_id, ranges[-1].metric_id)


async def pending_start(session: AsyncSession, asset_id: int, metric_id: int) -> int | None:
    """Start of the series' range not yet reflected in rollups (None: rollups are current)."""
    value = await session.scalar(
        text(
            "SELECT start_ms FROM rollup_pending"
            " WHERE asset_id = :asset_id AND metric_id = :metric_id"
        ),
        {"asset_id": asset_id, "metric_id": metric_id},
    )
    return int(value) if value is not None else None
