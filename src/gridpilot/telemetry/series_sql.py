"""The SQL of a series query: one statement per query, built once per shape and cached.

A bucketed series with a rollup level is a single statement that reads the series' pending
range, aggregates the rollups before it and the raw readings from it on (see ``queries``), so
the answer comes from one snapshot in one round trip. With ``with_site`` every statement also
returns the asset's row as a header ``(NULL, site_id)`` (absent when there is no such asset), so
callers check existence and scope without another round trip.

Rows are ``(bucket start or reading time [ms], value)``, ordered by time, the header aside.
"""

# SQL here is assembled only from constants and integer steps; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, text

from gridpilot.telemetry.rollups import bucket_sql

_RAW_AGG = {
    "avg": "AVG(value)",
    "min": "MIN(value)",
    "max": "MAX(value)",
    "sum": "SUM(value)",
    "count": "COUNT(*)",
    "first": "MIN(first_v)",
    "last": "MIN(last_v)",
    "delta": "COALESCE(SUM(CASE WHEN step > 0 THEN step ELSE 0 END), 0)",
}
_ROLLUP_AGG = {
    "avg": 'SUM("sum") / SUM("count")',
    "min": 'MIN("min")',
    "max": 'MAX("max")',
    "sum": 'SUM("sum")',
    "count": 'SUM("count")',
    "first": "MIN(first_v)",
    "last": "MIN(last_v)",
    "delta": "SUM(energy_delta)",
}
_FIRST_LAST_RAW = (
    ", FIRST_VALUE(value) OVER (PARTITION BY bucket ORDER BY ts) AS first_v"
    ", FIRST_VALUE(value) OVER (PARTITION BY bucket ORDER BY ts DESC) AS last_v"
)
_FIRST_LAST_ROLLUP = (
    ', FIRST_VALUE("first") OVER (PARTITION BY bucket ORDER BY first_ts) AS first_v'
    ', FIRST_VALUE("last") OVER (PARTITION BY bucket ORDER BY last_ts DESC) AS last_v'
)
SERIES = "asset_id = :asset_id AND metric_id = :metric_id"
_HEADER = " UNION ALL SELECT NULL, site_id FROM assets WHERE id = :asset_id"
_CACHED_SHAPES = 256


def _raw_ctes(step_ms: int, agg: str, split: str) -> str:
    """CTEs ending in ``fresh(bucket, value)``: buckets from ``split`` to ``:hi`` from raw."""
    window = _FIRST_LAST_RAW if agg in ("first", "last") else ""
    return f"""
    pts AS (
      SELECT ts, value, value - LAG(value) OVER (ORDER BY ts) AS step FROM readings
      WHERE {SERIES} AND ts < :hi AND {split} < :hi AND ts >= COALESCE(
        (SELECT MAX(ts) FROM readings WHERE {SERIES} AND ts < {split}), {split})
    ),
    inb AS (SELECT ts, value, step, {bucket_sql("ts", step_ms)} AS bucket FROM pts
            WHERE ts >= {split}),
    fresh_ranked AS (SELECT inb.*{window} FROM inb),
    fresh AS (SELECT bucket, {_RAW_AGG[agg]} AS value FROM fresh_ranked GROUP BY bucket)"""


@lru_cache(maxsize=_CACHED_SHAPES)
def merged_buckets(level_ms: int, step_ms: int, agg: str, with_site: bool) -> TextClause:
    """Buckets of ``step_ms`` in ``[:lo, :hi)``: from the rollups of step ``level_ms`` up to the
    bucket of the series' pending start (clamped to ``[:lo, :hi]``), from raw readings after."""
    pending = bucket_sql("start_ms", step_ms)
    window = _FIRST_LAST_ROLLUP if agg in ("first", "last") else ""
    split = "(SELECT at FROM split)"
    sql = f"""
    WITH split AS (
      SELECT COALESCE((
        SELECT CASE WHEN {pending} < :lo THEN :lo WHEN {pending} > :hi THEN :hi ELSE {pending} END
        FROM rollup_pending WHERE {SERIES}), :hi) AS at
    ),
    src AS (
      SELECT {bucket_sql("bucket_ms", step_ms)} AS bucket, "count", "min", "max", "sum",
             "first", "last", first_ts, last_ts, energy_delta
      FROM rollups WHERE {SERIES} AND step_ms = {int(level_ms)}
       AND bucket_ms >= :lo AND bucket_ms < {split}
    ),
    rolled_ranked AS (SELECT src.*{window} FROM src),
    rolled AS (SELECT bucket, {_ROLLUP_AGG[agg]} AS value FROM rolled_ranked GROUP BY bucket),
    {_raw_ctes(step_ms, agg, split)}
    SELECT bucket, value FROM rolled UNION ALL SELECT bucket, value FROM fresh
    {_HEADER if with_site else ""}
    ORDER BY 1
    """
    return text(sql)


@lru_cache(maxsize=_CACHED_SHAPES)
def raw_buckets(step_ms: int, agg: str, with_site: bool) -> TextClause:
    """Buckets of ``step_ms`` in ``[:lo, :hi)``, all aggregated from raw readings."""
    sql = f"""
    WITH {_raw_ctes(step_ms, agg, ":lo")}
    SELECT bucket, value FROM fresh {_HEADER if with_site else ""}
    ORDER BY 1
    """
    return text(sql)


@lru_cache(maxsize=_CACHED_SHAPES)
def raw_points(limit: int, with_site: bool) -> TextClause:
    """Up to ``limit`` raw readings in ``[:lo, :hi)``, oldest first."""
    points = f"SELECT ts, value FROM readings WHERE {SERIES} AND ts >= :lo AND ts < :hi"
    sql = f"SELECT ts, value FROM ({points} ORDER BY ts LIMIT {int(limit)}) AS r"
    return text(f"{sql}{_HEADER if with_site else ''} ORDER BY 1")


def raw_count() -> TextClause:
    """The number of raw readings in ``[:lo, :hi)``."""
    return text(f"SELECT COUNT(*) FROM readings WHERE {SERIES} AND ts >= :lo AND ts < :hi")


def asset_site() -> TextClause:
    """The asset's site id (no row: no such asset)."""
    return text("SELECT site_id FROM assets WHERE id = :asset_id")
