"""The balance's choice of series and its per-interval rows on a grid of the stored level:
the stored energy read set-based, never through the per-row window of the general statement.

On a uniform grid whose width is a stored level (15 min, 1 h: ``applies``), a stored row
(``balance_energy``, one per series and level bucket in ``[:lo, cut)``) already is the series'
energy in one interval, and the computed pieces of the same series start at its ``cut``: the two
never share an interval. So the counting series (per asset and term: the lowest ``RANK`` of its
series with data in the period) is decided from the few computed rows (``e``) plus one *mark* per
series with stored rows in ``[:lo, cut)`` (an index probe), and the stored rows of the chosen
series alone are read, in series order through the primary key, and signed as the general
statement signs them (``balance/queries.py``). The rows are the same as the general statement's
(``tests/balance/test_stored_energy.py``, ``tests/balance/test_stored_path.py``).

Before (``_chosen`` of ``balance/queries.py`` over every stored row): 100 one-meter sites x a
month at 1 h took 2.9 s in ``EXPLAIN ANALYZE``, almost all of it in the sort, group and window
of 94,451 per-(series, interval) rows (bench/README.md, community).
"""

# SQL here is assembled only from integer codes and constant column lists.
# ruff: noqa: S608

from __future__ import annotations

from gridpilot.balance.grid import Grid
from gridpilot.balance.terms_sql import CODES, RANK, best_sql, by_code, term_name_sql
from gridpilot.telemetry.series_energy import STORED_STEPS


def signed(kwh: str, neg: str, is_reg: str) -> str:
    """SQL for the energy a chosen row counts: the positive side of power (or a register's
    step), or for ``neg`` = 1 the negative side of power negated; ``kwh``: the series' net
    energy in the interval."""
    return (
        f"CASE WHEN {neg} = 1 THEN (CASE WHEN {kwh} < 0 THEN -{kwh} ELSE 0 END)"
        f" WHEN {is_reg} = 1 OR {kwh} > 0 THEN {kwh} ELSE 0 END"
    )


def _pick(neg: int, term: str, where: str) -> str:
    """The rows of ``en`` whose series counts for the term code in ``term``."""
    return f"""
      SELECT site_id, node, asset_id, metric_id, is_reg, cut, bucket, kwh, {neg} AS neg,
             {term} AS term, {by_code(term, "n")} AS in_period
      FROM en WHERE {where}{RANK} = {by_code(term, "best")}"""


def applies(grid: Grid) -> bool:
    """Whether ``grid`` is uniform at a stored level (its intervals are the level's buckets)."""
    return (
        len(grid.runs) == 1 and grid.runs[0][1] == grid.level_ms and grid.level_ms in STORED_STEPS
    )


def chosen_ctes(series: str) -> str:
    """CTEs ``e`` .. ``chosen``: rows ``(site_id, node, asset_id, term, bucket, kwh, in_period)``
    of the counting series, per interval; ``in_period`` is how many assets of the row's site
    and point report its term in the period. ``series``: the series columns of ``piece``."""
    counts = ", ".join(
        f"SUM(CASE WHEN nth = 1 AND best{c} IS NOT NULL THEN 1 ELSE 0 END)"
        f" OVER (PARTITION BY site_id, node) AS n{c}"
        for c in CODES
    )
    return f"""
    e AS (
      SELECT {series}, CAST(NULL AS BIGINT) AS cut, bucket, SUM(kwh) AS kwh
      FROM piece WHERE bucket >= :lo AND bucket < :hi
      GROUP BY {series}, bucket
    ),
    marks AS (
      SELECT {series}, s.cut, CAST(NULL AS BIGINT) AS bucket,
             CAST(NULL AS DOUBLE PRECISION) AS kwh FROM s
      WHERE s.cut > :lo AND EXISTS (SELECT 1 FROM balance_energy b
        WHERE b.asset_id = s.asset_id AND b.metric_id = s.metric_id AND b.step_ms = :level
        AND b.bucket_ms >= :lo AND b.bucket_ms < s.cut)
    ),
    ex AS (
      SELECT u.*, {best_sql("a")}, ROW_NUMBER() OVER a AS nth
      FROM (SELECT * FROM e UNION ALL SELECT * FROM marks) u
      WINDOW a AS (PARTITION BY asset_id)
    ),
    en AS (SELECT ex.*, {counts} FROM ex),
    picked AS ({_pick(0, "term_pos", "")}
      UNION ALL{_pick(1, "term_neg", "is_reg = 0 AND term_neg IS NOT NULL AND ")}
    ),
    chosen AS (
      SELECT site_id, node, asset_id, term, bucket, {signed("kwh", "neg", "is_reg")} AS kwh,
             in_period
      FROM picked WHERE bucket IS NOT NULL
      UNION ALL
      SELECT p.site_id, p.node, p.asset_id, p.term, b.bucket_ms,
             {signed("b.kwh", "p.neg", "p.is_reg")}, p.in_period
      FROM (SELECT * FROM picked WHERE bucket IS NULL ORDER BY site_id, node, term, asset_id) p
      JOIN balance_energy b ON b.asset_id = p.asset_id AND b.metric_id = p.metric_id
      WHERE b.step_ms = :level AND b.bucket_ms >= :lo AND b.bucket_ms < p.cut
    )"""


def arrays_tail() -> str:
    """The chosen rows as arrays (PostgreSQL): ``(site_id, node, term, asset_id, buckets [ms],
    energies [kWh])`` per counting series and term, twice at most (its stored rows, its
    computed rows), in no order.

    The stored rows are aggregated as the nested loop over the picks reads them (grouped in
    the picks' order): no sort of every row. The sums over assets, and which intervals every
    asset reporting the term in the period reported, are left to the caller
    (``balance/rows.py::from_arrays``)."""
    return f"""
    SELECT p.site_id, p.node, {term_name_sql("p.term")} AS term, p.asset_id,
           array_agg(b.bucket_ms) AS buckets,
           array_agg({signed("b.kwh", "p.neg", "p.is_reg")}) AS kwh
    FROM (SELECT * FROM picked WHERE bucket IS NULL ORDER BY site_id, node, term, asset_id) p
    JOIN balance_energy b ON b.asset_id = p.asset_id AND b.metric_id = p.metric_id
    WHERE b.step_ms = :level AND b.bucket_ms >= :lo AND b.bucket_ms < p.cut
    GROUP BY p.site_id, p.node, p.term, p.asset_id
    UNION ALL
    SELECT site_id, node, {term_name_sql("term")} AS term, asset_id, array_agg(bucket) AS buckets,
           array_agg({signed("kwh", "neg", "is_reg")}) AS kwh
    FROM picked WHERE bucket IS NOT NULL
    GROUP BY site_id, node, term, asset_id
    """
