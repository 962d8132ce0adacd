"""The segments of rollup buckets, as SQL: one builder for the stored energy and the balance.

A segment is an energy [kWh] over a time span ``(a, b)`` [ms], spread pro rata over the
intervals it covers by the caller (docs/site-energy.md). From the rollup buckets of one level
(count, sum, first/last values and times, ``energy_delta``), in bucket order per series:

- a register: the step into a bucket, ``first - last`` of the previous bucket (a drop counts 0),
  over ``(prev last_ts, first_ts]``; the rest of ``energy_delta`` over ``[first_ts, last_ts]``;
- power: the mean of all but the last reading times ``min(last_ts - first_ts, (count - 1) x
  cap)`` over ``[first_ts, last_ts]``; the last reading held until the next reading, at most
  ``cap`` [ms] (``hold_sql``).

``telemetry/series_energy.py`` stores these segments per bucket and ``balance/queries.py``
computes them for the buckets not stored yet: both build them here, so the stored and the
computed balance agree (``tests/balance/test_stored_energy.py``, within 1e-9 kWh).
"""

# SQL here is assembled only from constants given by the callers; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from gridpilot.core.timestamps import MS_PER_HOUR

__all__ = ["hold_sql", "least_sql", "segment_ctes"]


def least_sql(a: str, b: str) -> str:
    """SQL for the lesser of ``a`` and ``b`` (``LEAST`` is not in SQLite)."""
    return f"CASE WHEN {a} < {b} THEN {a} ELSE {b} END"


def hold_sql(now: str | None) -> str:
    """SQL for how long [ms] a bucket's last power reading holds: at most ``cap``, until the
    next reading ``upto`` (none: ``cap``) and, given ``now`` (SQL, epoch ms), never past it."""
    if now is None:
        return least_sql("cap", "COALESCE(upto - last_ts, cap)")
    return least_sql(least_sql("cap", f"COALESCE(upto, {now}) - last_ts"), f"{now} - last_ts")


def segment_ctes(*, name: str, series: str, source: str, keys: str, now: str | None) -> str:
    """CTEs ``rb``, ``rbn``, ``rbh`` and ``name``: the segments ``(keys..., a, b, kwh)`` of
    rollup buckets.

    ``series``: the select list of each series' columns carried into ``rb``, ``is_reg`` (1: a
    register, 0: power) and ``cap`` (the hold limit [ms]) among them; ``source``: ``FROM ...
    WHERE ...`` over those series joined to ``rollups r`` of one level, from the bucket before
    the first one counted (its step in and its hold); ``keys``: the columns every segment
    carries; ``now``: where holds stop (``hold_sql``).
    """
    entry = "CASE WHEN vfirst - prev_last > 0 THEN vfirst - prev_last ELSE 0 END"
    nxt = (
        "COALESCE(next_first_ts, (SELECT MIN(y.ts) FROM readings y WHERE y.asset_id = rb.asset_id"
        " AND y.metric_id = rb.metric_id AND y.ts > rb.last_ts))"
    )
    inside = least_sql("last_ts - first_ts", "(cnt - 1) * cap")
    return f"""
    rb AS (
      SELECT {series}, r."count" AS cnt, r."sum" AS vsum,
             r."first" AS vfirst, r."last" AS vlast, r.first_ts, r.last_ts, r.energy_delta,
             LAG(r."last") OVER o AS prev_last, LAG(r.last_ts) OVER o AS prev_last_ts,
             LEAD(r.first_ts) OVER o AS next_first_ts
      {source}
      WINDOW o AS (PARTITION BY r.asset_id, r.metric_id ORDER BY r.bucket_ms)
    ),
    rbn AS (SELECT rb.*, {nxt} AS upto FROM rb WHERE is_reg = 0),
    rbh AS (SELECT rbn.*, {hold_sql(now)} AS hold FROM rbn),
    {name} AS (
      SELECT {keys}, first_ts AS a,
             CASE WHEN last_ts > first_ts THEN last_ts ELSE first_ts + 1 END AS b,
             energy_delta - CASE WHEN prev_last IS NULL THEN 0 ELSE {entry} END AS kwh
      FROM rb WHERE is_reg = 1 AND (cnt > 1 OR (prev_last IS NULL AND energy_delta > 0))
      UNION ALL
      SELECT {keys}, prev_last_ts, first_ts, {entry}
      FROM rb WHERE is_reg = 1 AND prev_last IS NOT NULL
      UNION ALL
      SELECT {keys}, first_ts, last_ts,
             (vsum - vlast) / (cnt - 1) * ({inside}) / {MS_PER_HOUR}.0
      FROM rb WHERE is_reg = 0 AND cnt > 1 AND last_ts > first_ts
      UNION ALL
      SELECT {keys}, last_ts, last_ts + hold, vlast * hold / {MS_PER_HOUR}.0
      FROM rbh WHERE hold > 0
    )"""
