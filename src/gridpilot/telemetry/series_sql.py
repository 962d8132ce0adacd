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


#: Aggregates of interval-ending buckets (from each part's count ``n``, sum ``s``, steps ``d``).
ENDING_AGG = {
    "avg": "SUM(s) / SUM(n)",
    "sum": "SUM(s)",
    "count": "SUM(n)",
    "delta": "SUM(d)",
}


@lru_cache(maxsize=_CACHED_SHAPES)
def ending_buckets(level_ms: int | None, step_ms: int, agg: str, with_site: bool) -> TextClause:
    """Interval-ending buckets ``(b, b + step]`` for ``b`` in ``[:lo, :hi)``: a reading exactly
    on an edge belongs to the interval it closes. ``:hi_c`` is ``:hi`` rounded up to the step,
    ``:hi_next`` = ``:hi_c`` + 1.

    From the rollups of ``level_ms`` (None: raw only) before the series' pending start, raw
    readings after it, as ``merged_buckets``. A level row whose first reading lies on its start
    (``first_ts = bucket_ms``) gives that reading, with its step from the previous row's last
    value, to the bucket before; the rest of the row stays (a level bucket's other readings lie
    strictly inside it, so never on an edge of a coarser step). Raw readings go to the bucket of
    ``ts - 1``.
    """
    step = int(step_ms)
    if level_ms is None:
        split = ":lo"
        rolled = ""
    else:
        level = int(level_ms)
        pending = bucket_sql("start_ms", step)
        split = "(SELECT at FROM split)"
        rolled = f"""
    split AS (
      SELECT COALESCE((
        SELECT CASE WHEN {pending} < :lo THEN :lo WHEN {pending} > :hi_c THEN :hi_next
               ELSE {pending} END
        FROM rollup_pending WHERE {SERIES}), :hi_next) AS at
    ),
    lv AS (
      SELECT bucket_ms, "count" AS n, "sum" AS s, energy_delta AS d, "first" AS f, first_ts,
             LAG("last") OVER (ORDER BY bucket_ms) AS prev_last
      FROM rollups WHERE {SERIES} AND step_ms = {level} AND bucket_ms <= :hi_c
       AND bucket_ms < {split} AND bucket_ms >= COALESCE((SELECT MAX(bucket_ms) FROM rollups
         WHERE {SERIES} AND step_ms = {level} AND bucket_ms < :lo), :lo)
    ),
    edged AS (
      SELECT bucket_ms, n, s, d, f, CASE WHEN first_ts = bucket_ms THEN 1 ELSE 0 END AS e,
             CASE WHEN first_ts = bucket_ms AND prev_last IS NOT NULL AND f > prev_last
                  THEN f - prev_last ELSE 0 END AS ed
      FROM lv WHERE bucket_ms >= :lo
    ),"""
    rolled_parts = (
        ""
        if level_ms is None
        else f"""
      SELECT {bucket_sql("bucket_ms", step)} AS bucket, n - e AS n, s - e * f AS s, d - ed AS d
      FROM edged
      UNION ALL
      SELECT {bucket_sql("(bucket_ms - 1)", step)}, e, f, ed FROM edged WHERE e = 1
      UNION ALL"""
    )
    sql = f"""
    WITH {rolled}
    pts AS (
      SELECT ts, value, value - LAG(value) OVER (ORDER BY ts) AS step FROM readings
      WHERE {SERIES} AND ts <= :hi_c AND {split} <= :hi_c AND ts >= COALESCE(
        (SELECT MAX(ts) FROM readings WHERE {SERIES} AND ts < {split}), {split})
    ),
    parts AS ({rolled_parts}
      SELECT {bucket_sql("(ts - 1)", step)} AS bucket, 1 AS n, value AS s,
             CASE WHEN step > 0 THEN step ELSE 0 END AS d
      FROM pts WHERE ts >= {split}
    )
    SELECT bucket, {ENDING_AGG[agg]} AS value FROM parts
    WHERE bucket >= :lo AND bucket < :hi GROUP BY bucket HAVING SUM(n) > 0
    {_HEADER if with_site else ""}
    ORDER BY 1
    """
    return text(sql)
