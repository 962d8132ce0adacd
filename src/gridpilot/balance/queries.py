"""The SQL of the site energy balance: one statement for any number of sites.

It maps every series of the sites' assets onto a balance term (``assets.catalogue.ENERGY_TERMS``
and ``POWER_TERMS``), reads the rollups of one level up to each series' pending start and the raw
readings from there on (as series queries do), and turns them into *segments*: an energy over a
time span, spread pro rata over the intervals the span covers (docs/site-energy.md):

- a register step ``(prev_ts, ts]`` carries ``max(value - prev, 0)`` (a drop is a reset: no
  step, but the interval still reported): the counter is interpolated linearly between readings;
- a power reading holds from its time until the next reading, at most ``cap`` (``2 x`` the
  asset's ``expected_interval_s``, else ``energy_max_gap_s``) and never beyond ``:now``:
  energy is counted only over the time actually covered;
- from rollups (one row per bucket with count, sum, first/last values and times, energy_delta),
  the step into a bucket is ``first - last of the previous bucket`` over ``(prev last_ts,
  first_ts]`` and the rest of ``energy_delta`` lies inside the bucket: exact. Power inside a
  bucket is the mean of all but its last reading times ``min(last_ts - first_ts, (count - 1) x
  cap)``, its last reading is held as above: exact for regular sampling within the cap.

Per asset and interval the signed power energy is split by its sign into the positive and the
negative term. For each asset and term one series counts over the whole period: of the series
with data in the period (a segment overlapping it), a register before power, then the first in
the catalogue's list (``energy_kwh`` before ``energy_consumed_kwh``), so a register with data in
part of the period replaces power in all of it. A sub-meter of a same-role parent, and a
consumer under a main meter, are left out (``COUNTED``: the parent counts them). The node is the
asset for prosumers (each is its own connection point, solved apart) and 0 for the rest of the
site. Every back end runs the same SQL (epoch-ms integers, window functions, a recursive CTE
that walks a segment's intervals).

Shaped for sites of 1,000 meters (issue #14, ``bench/balance_sql.py``): the per-row part
carries integers only (terms as codes, ``TERM_NAMES``), has no join after the series are read
(the planner estimates 1 row for every CTE and would nest loops over 800,000), reads each
series' rollups in series order (an incremental sort per series), and makes the choice of the
series in the window of the per-interval sum: three full sorts fewer than before.
"""

# SQL here is assembled only from constants, catalogue keys and integer steps; values are bind
# parameters.
# ruff: noqa: S608

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, bindparam, text

from gridpilot.balance import stored_sql
from gridpilot.balance.grid import Grid
from gridpilot.balance.terms_sql import CODES, RANK, best_sql, by_code, coded_rows, term_name_sql
from gridpilot.telemetry.rollups import bucket_sql
from gridpilot.telemetry.segments_sql import least_sql, segment_ctes
from gridpilot.telemetry.series_energy import HOLD_INTERVALS, STORED_STEPS, cap_sql

MS_PER_HOUR = 3_600_000


#: The assets the balance counts: never a child together with its same-role parent (the parent
#: counts it), and never a consumer under a main meter: the main meter's import and export
#: already hold it, so the site's consumption is derived from the exchange and the sub-meters
#: only tell the unmetered remainder (``balance/submeters.py``).
COUNTED = (
    "(parent.id IS NULL OR (parent.role <> a.role"
    " AND NOT (parent.role = 'grid_connection' AND a.role = 'consumer')))"
)

__all__ = ["COUNTED", "HOLD_INTERVALS", "balance_sql", "meters_sql"]


def _cut_sql(level_ms: int) -> str:
    """SQL for a series' ``cut`` [ms]: the stored energy (``balance_energy``) counts before it,
    the rollups and raw readings from it on. It is ``:lo`` unless the level is stored and the
    series' stored energy is complete with its current hold limit; then the start of its last
    rollup bucket before the split (that bucket's hold and the step out of it may still change),
    at most the bucket holding ``:now`` (a hold is cut at ``:now``), at least ``:lo``."""
    if level_ms not in STORED_STEPS:
        return "CAST(:lo AS BIGINT)"
    now = bucket_sql("CAST(:now AS BIGINT)", level_ms)
    upto = least_sql("s1.r_last", now)
    usable = "s1.r_last IS NOT NULL AND s1.st_cap IS NOT NULL"
    usable += " AND (s1.is_reg = 1 OR s1.st_cap = s1.cap)"
    return f"CASE WHEN {usable} AND {upto} > :lo THEN {upto} ELSE CAST(:lo AS BIGINT) END"


def _series_ctes(level_ms: int, per_asset: bool) -> str:
    """``s``: one row per (asset, mapped metric) with its split (rollups before, raw from it),
    its power hold ``cap`` [ms], its ``cut`` (stored energy before it, ``_cut_sql``) and the
    bounds of the rollups and raw readings to read."""
    mapping = ", ".join(coded_rows())
    pending = bucket_sql("p.start_ms", level_ms)
    if per_asset:  # parents and their children, for the unmetered remainder
        counted = "(a.parent_asset_id IS NOT NULL OR EXISTS (SELECT 1 FROM assets c"
        counted += " WHERE c.parent_asset_id = a.id))"
    else:
        counted = COUNTED
    return f"""
    terms(role, mkey, term_pos, term_neg, is_reg, prio) AS (VALUES {mapping}),
    s0 AS (
      SELECT a.id AS asset_id, a.site_id,
             CASE WHEN a.role = 'prosumer' THEN a.id ELSE 0 END AS node,
             m.id AS metric_id, t.term_pos, t.term_neg, t.is_reg, t.prio,
             {cap_sql("a.expected_interval_s")} AS cap, st.cap_ms AS st_cap,
             COALESCE(CASE WHEN {pending} < :lo THEN :lo WHEN {pending} > :hi THEN :hi
                           ELSE {pending} END, :hi) AS split
      FROM assets a
      JOIN terms t ON t.role = a.role
      JOIN metrics m ON m.key = t.mkey
      LEFT JOIN assets parent ON parent.id = a.parent_asset_id
      LEFT JOIN rollup_pending p ON p.asset_id = a.id AND p.metric_id = m.id
      LEFT JOIN balance_energy_series st ON st.asset_id = a.id AND st.metric_id = m.id
      WHERE a.site_id IN :site_ids AND {counted}
    ),
    s1 AS (
      SELECT s0.*, (SELECT MAX(r.bucket_ms) FROM rollups r WHERE r.asset_id = s0.asset_id
          AND r.metric_id = s0.metric_id AND r.step_ms = :level AND r.bucket_ms < s0.split)
          AS r_last
      FROM s0
    ),
    s2 AS (SELECT s1.*, {_cut_sql(level_ms)} AS cut FROM s1),
    s AS (
      SELECT s0.*,
        COALESCE((SELECT MAX(r.bucket_ms) FROM rollups r WHERE r.asset_id = s0.asset_id
          AND r.metric_id = s0.metric_id AND r.step_ms = :level AND r.bucket_ms < s0.cut),
          s0.cut) AS r_from,
        COALESCE((SELECT MAX(x.ts) FROM readings x WHERE x.asset_id = s0.asset_id
          AND x.metric_id = s0.metric_id AND x.ts < s0.split), s0.split) AS x_from,
        COALESCE((SELECT MIN(x.ts) FROM readings x WHERE x.asset_id = s0.asset_id
          AND x.metric_id = s0.metric_id AND x.ts >= :hi), :hi) AS x_to
      FROM s2 s0
    )"""


#: What a series carries through the statement: integers only, so that every sort and group
#: compares integers, and no join follows the per-row part (the planner cannot estimate the
#: rows of CTEs and would nest loops over them).
SERIES = "asset_id, metric_id, site_id, node, term_pos, term_neg, is_reg, prio"
S_SERIES = ", ".join(f"s.{c}" for c in SERIES.split(", "))
#: A segment's series and the series' ``cut`` (only its part from ``cut`` on counts).
SEG = SERIES + ", cut"
#: The series in key order, read before the rollups or readings of each (a nested loop): the
#: rows then arrive in series order, so PostgreSQL sorts them for the windows only within each
#: series (an incremental sort in memory instead of one sort of every row that spills to disk).
BY_SERIES = "(SELECT * FROM s ORDER BY asset_id, metric_id) s"


def _rolled() -> str:
    """Segments ``rseg`` from the rollup buckets before each series' split, with the bucket
    before the period (the step into the first one); holds stop at ``:now``."""
    return segment_ctes(
        name="rseg",
        series=f"{S_SERIES}, s.cut, s.cap",
        source=f"FROM {BY_SERIES} JOIN rollups r ON r.asset_id = s.asset_id"
        " AND r.metric_id = s.metric_id"
        " WHERE r.step_ms = :level AND r.bucket_ms >= s.r_from AND r.bucket_ms < s.split",
        keys=SEG,
        now=":now",
    )


def _raw() -> str:
    """Segments of the raw readings from each series' split on, with the reading before it (the
    first step) and the first one at or after the end (the step across the end is always read
    here, even when the rollups cover the whole period)."""
    step = "CASE WHEN value - prev_value > 0 THEN value - prev_value ELSE 0 END"
    hold = least_sql(least_sql("cap", "COALESCE(next_ts, :now) - ts"), ":now - ts")
    return f"""
    pts AS (
      SELECT {S_SERIES}, s.cut, s.split, s.cap, x.ts, x.value,
             LAG(x.value) OVER w AS prev_value, LAG(x.ts) OVER w AS prev_ts,
             LEAD(x.ts) OVER w AS next_ts
      FROM {BY_SERIES} JOIN readings x ON x.asset_id = s.asset_id AND x.metric_id = s.metric_id
      WHERE x.ts >= s.x_from AND x.ts <= s.x_to
      WINDOW w AS (PARTITION BY x.asset_id, x.metric_id ORDER BY x.ts)
    ),
    xh AS (SELECT pts.*, {hold} AS hold FROM pts WHERE is_reg = 0 AND ts >= split AND ts < :hi),
    xseg AS (
      SELECT {SEG}, prev_ts AS a, ts AS b, {step} AS kwh
      FROM pts WHERE is_reg = 1 AND ts >= split AND prev_ts IS NOT NULL
      UNION ALL
      SELECT {SEG}, ts, ts + hold, value * hold / {MS_PER_HOUR}.0 FROM xh WHERE hold > 0
    )"""


def _spread(grid: Grid, stored: bool) -> str:
    """Each segment's energy over the intervals it overlaps from its series' ``cut`` on, pro
    rata of the time: one row per (segment, interval), walked by a recursive CTE only for
    segments across an interval edge; then, if ``stored``, the stored energy before ``cut``
    (``_stored``)."""
    b0, b1 = grid.bucket_sql("c"), grid.bucket_sql("(b - 1)")
    width = grid.width_sql("bucket")
    overlap = (
        f"({least_sql('b', f'bucket + {width}')}) - (CASE WHEN c > bucket THEN c ELSE bucket END)"
    )
    before = _stored(grid) if stored else ""
    return f"""
    seg0 AS (
      SELECT g.*, CASE WHEN g.a > g.cut THEN g.a ELSE g.cut END AS c
      FROM (SELECT * FROM rseg UNION ALL SELECT * FROM xseg) g
      WHERE g.b > g.a AND g.a < :hi AND g.b > g.cut
    ),
    seg AS (SELECT seg0.*, {b0} AS b0, {b1} AS b1 FROM seg0),
    walk({SERIES}, a, b, c, kwh, bucket, b1) AS (
      SELECT {SERIES}, a, b, c, kwh, CASE WHEN b0 < :lo THEN CAST(:lo AS BIGINT) ELSE b0 END, b1
      FROM seg WHERE b0 <> b1
      UNION ALL
      SELECT {SERIES}, a, b, c, kwh, bucket + {width}, b1
      FROM walk WHERE bucket < b1 AND bucket + {width} < :hi
    ),
    piece AS (
      SELECT {SERIES}, b0 AS bucket, CASE WHEN c = a THEN kwh ELSE kwh * (b - c) / (b - a) END
        AS kwh
      FROM seg WHERE b0 = b1
      UNION ALL
      SELECT {SERIES}, bucket, kwh * ({overlap}) / (b - a) FROM walk{before}
    )"""


def _stored(grid: Grid) -> str:
    """``UNION ALL`` of the stored energy of each series' level buckets in ``[:lo, cut)``, on
    the grid's intervals (the level's buckets nest in them), or nothing for a level not
    stored."""
    if grid.level_ms not in STORED_STEPS:
        return ""
    return f"""
      UNION ALL
      SELECT {S_SERIES}, {grid.bucket_sql("e.bucket_ms")}, e.kwh
      FROM {BY_SERIES} JOIN balance_energy e
        ON e.asset_id = s.asset_id AND e.metric_id = s.metric_id
      WHERE e.step_ms = :level AND e.bucket_ms >= :lo AND e.bucket_ms < s.cut"""


def _chosen() -> str:
    """Per asset, term and interval: the energy of the one series that counts for the term.

    ``e`` sums each series per interval (the sign split of power needs the asset's net energy
    there), grouped by the asset first, and in the same step a window over each asset's rows
    (no second sort) finds, per term code, the lowest ``RANK`` of its series with data in the
    period (``best<code>``): registers before power, then the catalogue's order. ``nth`` = 1
    marks one row per asset, from which ``period`` counts the assets of each term."""
    best = best_sql("a")
    counts = ", ".join(f"SUM(CASE WHEN best{c} IS NULL THEN 0 ELSE 1 END) AS n{c}" for c in CODES)
    return f"""
    e AS (
      SELECT {SERIES}, bucket, SUM(kwh) AS kwh, {best}, ROW_NUMBER() OVER a AS nth
      FROM piece WHERE bucket >= :lo AND bucket < :hi
      GROUP BY {SERIES}, bucket
      WINDOW a AS (PARTITION BY asset_id)
    ),
    chosen AS (
      SELECT site_id, node, asset_id, term_pos AS term, bucket,
             CASE WHEN is_reg = 1 OR kwh > 0 THEN kwh ELSE 0 END AS kwh
      FROM e WHERE {RANK} = {by_code("term_pos", "best")}
      UNION ALL
      SELECT site_id, node, asset_id, term_neg, bucket, CASE WHEN kwh < 0 THEN -kwh ELSE 0 END
      FROM e WHERE is_reg = 0 AND term_neg IS NOT NULL AND {RANK} = {by_code("term_neg", "best")}
    ),
    period AS (SELECT site_id, node, {counts} FROM e WHERE nth = 1 GROUP BY site_id, node)"""


def _statement(grid: Grid, per_asset: bool, tail: str, fast_tail: str, fast: bool) -> TextClause:
    """The statement on ``grid``: with ``fast`` on a grid of a stored level the stored rows are
    read apart (``stored_sql``) and ``fast_tail`` follows, else ``tail``."""
    fast = fast and stored_sql.applies(grid)
    chosen = stored_sql.chosen_ctes(SERIES) if fast else _chosen()
    sql = f"""
    WITH RECURSIVE {_series_ctes(grid.level_ms, per_asset)},
    {_rolled()},
    {_raw()},
    {_spread(grid, stored=not fast)},
    {chosen}
    {fast_tail if fast else tail}
    """
    return text(sql).bindparams(bindparam("site_ids", expanding=True))


@lru_cache(maxsize=32)
def balance_sql(grid: Grid, *, fast: bool = True, arrays: bool = False) -> TextClause:
    """Rows ``(site_id, node, term, bucket [ms], energy [kWh], assets reporting in the bucket,
    assets reporting the term in the period)`` on ``grid`` for the sites ``:site_ids``.

    Parameters: ``:lo``, ``:hi`` (the grid's bounds), ``:level`` (``grid.level_ms``), ``:now``
    and ``:max_gap`` [ms]. An asset reports in a bucket when a segment of it overlaps the bucket.
    The period's counts (one row per site, point and term) reach the rows by a window in the
    output's own order, not by a join: estimated at one row each, the two sides were joined by a
    nested loop (rows x points: 1,000 sites took longer than 300 s, bench/fleet_summary.py).
    ``fast`` (default): on a grid of a stored level, the stored rows are read apart
    (``balance/stored_sql.py``); False: the general statement (the same rows). ``arrays``
    (PostgreSQL, on a grid where the stored path applies): rows of arrays per counting series
    instead (``stored_sql.arrays_tail``, read by ``balance/rows.py::from_arrays``): 720 times
    fewer rows for a month at 1 h.
    """
    codes = " UNION ALL ".join(f"SELECT {c} AS code" for c in CODES)
    tail = f""",
    agg AS (
      SELECT site_id, node, term, bucket, SUM(kwh) AS kwh, COUNT(*) AS reporting,
             CAST(NULL AS BIGINT) AS assets
      FROM chosen GROUP BY site_id, node, term, bucket
      UNION ALL
      SELECT p.site_id, p.node, c.code, NULL, NULL, NULL, {by_code("c.code", "p.n")}
      FROM period p CROSS JOIN ({codes}) c
    ),
    counted AS (
      SELECT agg.*, MAX(assets) OVER (PARTITION BY site_id, node, term ORDER BY bucket
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
                    AS in_period
      FROM agg
    )
    SELECT k.site_id, k.node, {term_name_sql("k.term")} AS term, k.bucket, k.kwh, k.reporting,
           k.in_period AS assets
    FROM counted k WHERE k.bucket IS NOT NULL
    ORDER BY k.site_id, k.node, k.term, k.bucket
    """
    fast_tail = f"""
    SELECT site_id, node, {term_name_sql("term")} AS term, bucket, SUM(kwh) AS kwh,
           COUNT(*) AS reporting, MAX(in_period) AS assets
    FROM chosen GROUP BY site_id, node, term, bucket
    ORDER BY site_id, node, term, bucket
    """
    if arrays:
        fast_tail = stored_sql.arrays_tail()
    return _statement(grid, False, tail, fast_tail, fast)


@lru_cache(maxsize=32)
def meters_sql(grid: Grid, *, fast: bool = True, arrays: bool = False) -> TextClause:
    """Rows ``(site_id, asset_id, term, bucket [ms], energy [kWh])`` of every parent meter and
    sub-meter of the sites ``:site_ids`` (parameters, ``fast`` and ``arrays`` as
    ``balance_sql``; with arrays: ``(site_id, node, term, asset_id, buckets, energies)``)."""
    tail = f"""
    SELECT site_id, asset_id, {term_name_sql("term")} AS term, bucket, kwh FROM chosen
    ORDER BY site_id, asset_id, term, bucket
    """
    fast_tail = stored_sql.arrays_tail() if arrays else tail
    return _statement(grid, True, tail, fast_tail, fast)
