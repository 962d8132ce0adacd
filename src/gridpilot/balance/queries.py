"""The SQL of the site energy balance: one statement for any number of sites.

It maps every series of the sites' assets onto a balance term (``assets.catalogue.ENERGY_TERMS``
and ``POWER_TERMS``), reads the rollups of one level up to each series' pending start and the raw
readings from there on (as series queries do), and sums energy per (site, node, term, bucket):

- a register gives the sum of its positive steps in the bucket (a drop is a reset);
- a power metric gives ``mean power x bucket hours`` to its positive term when the mean is
  positive, else to its negative term, and 0 to the other (exact when the flow did not reverse
  within the bucket);
- an asset with a register for a term never adds power for it too, and of two registers (or two
  power series) of an asset for one term only the first in the catalogue's list counts
  (``energy_kwh`` before ``energy_consumed_kwh``).

A sub-meter of a same-role parent is left out (its parent counts it). The node is the asset for
prosumers (each is its own connection point, solved apart) and 0 for
the rest of the site. Every back end runs the same SQL (epoch-ms integers, window functions).
"""

# SQL here is assembled only from constants, catalogue keys and integer steps; values are bind
# parameters.
# ruff: noqa: S608

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, bindparam, text

from gridpilot.assets.catalogue import ENERGY_TERMS, POWER_TERMS
from gridpilot.telemetry.rollups import bucket_sql

MS_PER_HOUR = 3_600_000


def _mapping_rows() -> list[str]:
    """``(role, key, positive term, negative term, kind, priority)`` rows of the catalogue, as
    SQL; the priority is the metric's place in its role's list (0 first)."""
    rows = [
        f"('{role}', '{key}', '{term}', NULL, 'register', {prio})"
        for role, metrics in ENERGY_TERMS.items()
        for prio, (key, term) in enumerate(metrics.items())
    ]
    for role, metrics in POWER_TERMS.items():
        for prio, (key, (positive, negative)) in enumerate(metrics.items()):
            neg = f"'{negative}'" if negative else "NULL"
            rows.append(f"('{role}', '{key}', '{positive}', {neg}, 'power', {prio})")
    return rows


def _series_ctes(step_ms: int) -> str:
    mapping = ", ".join(_mapping_rows())
    pending = bucket_sql("p.start_ms", step_ms)
    return f"""
    terms(role, mkey, term_pos, term_neg, kind, prio) AS (VALUES {mapping}),
    s AS (
      SELECT a.id AS asset_id, a.site_id,
             CASE WHEN a.role = 'prosumer' THEN a.id ELSE 0 END AS node,
             m.id AS metric_id, t.term_pos, t.term_neg, t.kind, t.prio,
             COALESCE(CASE WHEN {pending} < :lo THEN :lo WHEN {pending} > :hi THEN :hi
                           ELSE {pending} END, :hi) AS split
      FROM assets a
      JOIN terms t ON t.role = a.role
      JOIN metrics m ON m.key = t.mkey
      LEFT JOIN assets parent ON parent.id = a.parent_asset_id
      LEFT JOIN rollup_pending p ON p.asset_id = a.id AND p.metric_id = m.id
      WHERE a.site_id IN :site_ids AND (parent.id IS NULL OR parent.role <> a.role)
    )"""


def _rolled(step_ms: int) -> str:
    return f"""
    rolled AS (
      SELECT s.site_id, s.node, s.asset_id, s.term_pos, s.term_neg, s.kind, s.prio,
             {bucket_sql("r.bucket_ms", step_ms)} AS bucket,
             SUM(r.energy_delta) AS delta, SUM(r."sum") AS psum, SUM(r."count") AS pcount
      FROM rollups r JOIN s ON r.asset_id = s.asset_id AND r.metric_id = s.metric_id
      WHERE r.step_ms = :level AND r.bucket_ms >= :lo AND r.bucket_ms < s.split
      GROUP BY s.site_id, s.node, s.asset_id, s.term_pos, s.term_neg, s.kind, s.prio, bucket
    )"""


def _raw(step_ms: int) -> str:
    """Buckets from each series' split on, from raw readings (the reading before the split is
    read too: the register step of the first one depends on it)."""
    return f"""
    pts AS (
      SELECT s.site_id, s.node, s.asset_id, s.term_pos, s.term_neg, s.kind, s.prio, s.split,
             x.ts, x.value,
             x.value - LAG(x.value) OVER (PARTITION BY x.asset_id, x.metric_id ORDER BY x.ts)
               AS step
      FROM readings x JOIN s ON x.asset_id = s.asset_id AND x.metric_id = s.metric_id
      WHERE s.split < :hi AND x.ts < :hi AND x.ts >= COALESCE((
        SELECT MAX(y.ts) FROM readings y
        WHERE y.asset_id = s.asset_id AND y.metric_id = s.metric_id AND y.ts < s.split), s.split)
    ),
    fresh AS (
      SELECT site_id, node, asset_id, term_pos, term_neg, kind, prio,
             {bucket_sql("ts", step_ms)} AS bucket,
             SUM(CASE WHEN step > 0 THEN step ELSE 0 END) AS delta,
             SUM(value) AS psum, COUNT(*) AS pcount
      FROM pts WHERE ts >= split
      GROUP BY site_id, node, asset_id, term_pos, term_neg, kind, prio, bucket
    )"""


@lru_cache(maxsize=16)
def balance_sql(step_ms: int) -> TextClause:
    """Rows ``(site_id, node, term, bucket [ms], energy [kWh], assets reporting)`` of
    ``[:lo, :hi)`` for the sites ``:site_ids``, from rollups of step ``:level`` (= ``step_ms``)."""
    hours = step_ms / MS_PER_HOUR
    sql = f"""
    WITH {_series_ctes(step_ms)},
    {_rolled(step_ms)},
    {_raw(step_ms)},
    both_parts AS (SELECT * FROM rolled UNION ALL SELECT * FROM fresh),
    e AS (
      SELECT site_id, node, asset_id, kind, prio, bucket, term_pos AS term,
             CASE WHEN kind = 'register' THEN delta
                  WHEN psum > 0 THEN psum / pcount * {hours!r} ELSE 0 END AS kwh
      FROM both_parts
      UNION ALL
      SELECT site_id, node, asset_id, kind, prio, bucket, term_neg AS term,
             CASE WHEN psum < 0 THEN -psum / pcount * {hours!r} ELSE 0 END AS kwh
      FROM both_parts WHERE kind = 'power' AND term_neg IS NOT NULL
    ),
    pref AS (
      SELECT e.*, MAX(CASE WHEN kind = 'register' THEN 1 ELSE 0 END)
                    OVER (PARTITION BY asset_id, term) AS has_register,
                  MIN(prio) OVER (PARTITION BY asset_id, term, kind) AS first_prio
      FROM e WHERE term IS NOT NULL
    )
    SELECT site_id, node, term, bucket, SUM(kwh) AS kwh, COUNT(DISTINCT asset_id) AS reporting
    FROM pref WHERE (kind = 'register' OR has_register = 0) AND prio = first_prio
    GROUP BY site_id, node, term, bucket
    ORDER BY site_id, node, term, bucket
    """
    return text(sql).bindparams(bindparam("site_ids", expanding=True))


@lru_cache(maxsize=1)
def latest_power_sql() -> TextClause:
    """Rows ``(site_id, node, asset_id, name, role, term_pos, term_neg, ts [ms], value [kW],
    priority)``:
    the newest reading at or before ``:now`` of every power series of the sites ``:site_ids``
    (one index seek per series; ``ts`` NULL for a series that never reported)."""
    mapping = ", ".join(r for r in _mapping_rows() if "'power', " in r)
    sql = f"""
    WITH terms(role, mkey, term_pos, term_neg, kind, prio) AS (VALUES {mapping}),
    s AS (
      SELECT a.id AS asset_id, a.site_id, a.name, a.role,
             CASE WHEN a.role = 'prosumer' THEN a.id ELSE 0 END AS node,
             m.id AS metric_id, t.term_pos, t.term_neg, t.prio
      FROM assets a
      JOIN terms t ON t.role = a.role
      JOIN metrics m ON m.key = t.mkey
      LEFT JOIN assets parent ON parent.id = a.parent_asset_id
      WHERE a.site_id IN :site_ids AND (parent.id IS NULL OR parent.role <> a.role)
    ),
    newest AS (
      SELECT s.*, (SELECT MAX(x.ts) FROM readings x WHERE x.asset_id = s.asset_id
                   AND x.metric_id = s.metric_id AND x.ts <= :now) AS ts
      FROM s
    )
    SELECT n.site_id, n.node, n.asset_id, n.name, n.role, n.term_pos, n.term_neg, n.ts, r.value,
           n.prio
    FROM newest n
    LEFT JOIN readings r ON r.asset_id = n.asset_id AND r.metric_id = n.metric_id AND r.ts = n.ts
    ORDER BY n.site_id, n.asset_id, n.prio
    """
    return text(sql).bindparams(bindparam("site_ids", expanding=True))
