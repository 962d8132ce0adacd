"""Writing validated readings to the database, one transaction per batch.

PostgreSQL: binary COPY straight into the partitioned ``readings`` (about as cheap for the
database as a COPY into a plain table). When that collides with stored readings (a retry or a
correction: unique violation) the transaction is rolled back and redone as a COPY into a
temporary staging table plus ``INSERT ... ON CONFLICT DO UPDATE`` (last write wins). Then one
``INSERT ... SELECT FROM unnest(...) ON CONFLICT`` widens ``rollup_pending`` with the per-series
ranges computed in Python (``series_stats``, which also gives the ``readings.stored`` figures).
SQLite: ``executemany`` upserts. Both write the readings and the pending rollup ranges in the
same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gridpilot.core.timestamps import MS_PER_DAY
from gridpilot.telemetry.partitions import ensure_partitions_raw, list_partition_days_raw
from gridpilot.telemetry.validation import Rows

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeriesStat:
    """What one batch wrote to one series: reading count and the newest reading."""

    asset_id: int
    metric_id: int
    count: int
    last_ts: int
    last_value: float


class ReadingStore(Protocol):
    async def write(self, rows: Rows) -> list[SeriesStat]:
        """Upsert ``rows`` and widen their pending rollup ranges in one transaction."""
        ...

    async def close(self) -> None: ...


def series_stats(rows: Rows) -> tuple[list[SeriesStat], dict[tuple[int, int], list[int]]]:
    """Per-series stats of ``rows`` and the (start_ms, end_ms) range each series touches."""
    acc: dict[tuple[int, int], list[Any]] = {}
    for (asset_id, metric_id, ts), value in rows.items():
        entry = acc.get((asset_id, metric_id))
        if entry is None:
            acc[(asset_id, metric_id)] = [ts, ts, 1, value]
            continue
        entry[2] += 1
        if ts < entry[0]:
            entry[0] = ts
        elif ts > entry[1]:
            entry[1] = ts
            entry[3] = value
    stats = [SeriesStat(a, m, e[2], e[1], e[3]) for (a, m), e in acc.items()]
    return stats, {key: [e[0], e[1]] for key, e in acc.items()}


_MAX_SPAN_CHECKED_MS = 31 * MS_PER_DAY


def _days_known(days: set[int], ranges: Iterable[list[int]]) -> bool:
    """Whether every day from the oldest to the newest time of ``ranges`` (``[start_ms,
    end_ms]`` per series) has a partition: then every reading between them has one too."""
    spans = list(ranges)
    if not spans:
        return True
    first, last = min(span[0] for span in spans), max(span[1] for span in spans)
    if last - first > _MAX_SPAN_CHECKED_MS:
        return False  # a wide batch: look at each reading's day
    day = first - first % MS_PER_DAY
    while day <= last:
        if day not in days:
            return False
        day += MS_PER_DAY
    return True


# --- PostgreSQL -------------------------------------------------------------------------------

READING_COLUMNS = ("asset_id", "metric_id", "ts", "value")
STAGE_TABLE = "gridpilot_readings_stage"
CREATE_STAGE_SQL = (
    f"CREATE TEMP TABLE IF NOT EXISTS {STAGE_TABLE} (asset_id integer, metric_id integer,"
    " ts bigint, value double precision) ON COMMIT DELETE ROWS"
)
#: Moves the staged readings into ``readings``, last write wins (the upsert path).
PG_UPSERT_SQL = (
    "INSERT INTO readings (asset_id, metric_id, ts, value) SELECT * FROM gridpilot_readings_stage"
    " ON CONFLICT (asset_id, metric_id, ts) DO UPDATE SET value = EXCLUDED.value"
    " WHERE readings.value IS DISTINCT FROM EXCLUDED.value"
)
#: Widens (or inserts) the pending rollup range of each series and bumps its version. The
#: arrays come in key order, so concurrent writers lock ``rollup_pending`` rows in one order.
PG_PENDING_SQL = """
INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms)
SELECT * FROM unnest($1::integer[], $2::integer[], $3::bigint[], $4::bigint[])
ON CONFLICT (asset_id, metric_id) DO UPDATE
SET start_ms = LEAST(rollup_pending.start_ms, EXCLUDED.start_ms),
    end_ms = GREATEST(rollup_pending.end_ms, EXCLUDED.end_ms),
    version = rollup_pending.version + 1
"""
_UNIQUE_VIOLATION = "23505"
#: After a batch collided with stored readings, this many batches go straight to the upsert
#: (a sender re-sending overlapping windows would otherwise pay for a failed COPY each time).
_UPSERT_STREAK = 20
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock, serialization failure
_NO_PARTITION_SQLSTATE = "23514"  # "no partition of relation readings found for row"


class PostgresStore:
    """Writes through one dedicated connection of the engine's pool (kept between batches)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None
        self._raw: Any = None
        self._days: set[int] | None = None
        self._upsert_batches = 0

    async def _connection(self) -> Any:
        if self._raw is None:
            conn = await self.engine.connect()
            try:
                raw: Any = (await conn.get_raw_connection()).driver_connection
                await raw.execute(CREATE_STAGE_SQL)
            except BaseException:
                await conn.close()
                raise
            self._conn, self._raw = conn, raw
        return self._raw

    def forget_partitions(self) -> None:
        """Forget the known partitions (after retention dropped some)."""
        self._days = None

    async def _ensure_days(self, raw: Any, rows: Rows, ranges: Iterable[list[int]]) -> None:
        """Create the daily partitions ``rows`` need that do not exist yet."""
        if self._days is None:
            self._days = await list_partition_days_raw(raw)
        if _days_known(self._days, ranges):
            return
        missing = {key[2] - key[2] % MS_PER_DAY for key in rows} - self._days
        if missing:
            await ensure_partitions_raw(raw, missing)
            self._days |= missing

    async def _write_once(self, rows: Rows, upsert: bool) -> list[SeriesStat]:
        raw = await self._connection()
        stats, ranges = series_stats(rows)
        await self._ensure_days(raw, rows, ranges.values())
        keys = sorted(ranges)
        records = [(a, m, t, v) for (a, m, t), v in rows.items()]
        async with raw.transaction():
            if upsert:
                await raw.copy_records_to_table(
                    STAGE_TABLE, records=records, columns=READING_COLUMNS
                )
                await raw.execute(PG_UPSERT_SQL)
            else:  # new data: COPY straight into the partitioned table (it routes the rows)
                await raw.copy_records_to_table(
                    "readings", records=records, columns=READING_COLUMNS
                )
            await raw.execute(
                PG_PENDING_SQL,
                [key[0] for key in keys],
                [key[1] for key in keys],
                [ranges[key][0] for key in keys],
                [ranges[key][1] for key in keys],
            )
        return stats

    async def write(self, rows: Rows) -> list[SeriesStat]:
        attempts = 0
        while True:
            attempts += 1
            upsert = self._upsert_batches > 0
            try:
                stats = await self._write_once(rows, upsert)
                if upsert:
                    self._upsert_batches -= 1
                return stats
            except Exception as exc:
                sqlstate = getattr(exc, "sqlstate", None)
                if sqlstate == _UNIQUE_VIOLATION and not upsert:
                    # the batch overlaps stored readings: upsert it, and the next few too
                    self._upsert_batches = _UPSERT_STREAK
                    attempts -= 1
                    continue
                if sqlstate == _NO_PARTITION_SQLSTATE and attempts < 3:
                    self._days = None  # a partition was dropped under us: look again
                    continue
                if sqlstate in _RETRYABLE_SQLSTATES and attempts < 3:
                    continue
                await self._discard()  # start afresh (new connection) with the next batch
                raise

    async def _discard(self) -> None:
        conn, self._conn, self._raw, self._days = self._conn, None, None, None
        if conn is None:
            return
        try:
            await conn.invalidate()
            await conn.close()
        except Exception:
            log.debug("closing a broken writer connection failed", exc_info=True)

    async def close(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            await conn.close()


# --- SQLite -----------------------------------------------------------------------------------

SQLITE_UPSERT_SQL = (
    "INSERT INTO readings (asset_id, metric_id, ts, value) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (asset_id, metric_id, ts) DO UPDATE SET value = excluded.value"
)
SQLITE_PENDING_SQL = (
    "INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (asset_id, metric_id) DO UPDATE"
    " SET start_ms = MIN(start_ms, excluded.start_ms), end_ms = MAX(end_ms, excluded.end_ms),"
    " version = version + 1"
)


class SqliteStore:
    """Writes with ``executemany`` upserts in one transaction per batch."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def forget_partitions(self) -> None:
        return None

    async def write(self, rows: Rows) -> list[SeriesStat]:
        stats, ranges = series_stats(rows)
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(
                SQLITE_UPSERT_SQL, [(a, m, t, v) for (a, m, t), v in rows.items()]
            )
            await conn.exec_driver_sql(
                SQLITE_PENDING_SQL, [(a, m, r[0], r[1]) for (a, m), r in sorted(ranges.items())]
            )
        return stats

    async def close(self) -> None:
        return None


def make_store(engine: AsyncEngine) -> PostgresStore | SqliteStore:
    """The store for the engine's back end."""
    if engine.dialect.name == "postgresql":
        return PostgresStore(engine)
    return SqliteStore(engine)
