"""The SQL of the current balance's inputs: the newest power reading at or before ``:now`` of
every power series of any number of sites (``balance/current.py``), one index seek per series.
The same series count as in the balance (``queries.py::COUNTED``)."""

# SQL here is assembled only from constants and catalogue keys; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, bindparam, text

from gridpilot.assets.catalogue import ENERGY_TERMS, POWER_TERMS
from gridpilot.balance.queries import COUNTED

__all__ = ["latest_power_sql"]


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
      SELECT a.id AS asset_id, a.site_id, a.name, a.role, a.expected_interval_s,
             CASE WHEN a.role = 'prosumer' THEN a.id ELSE 0 END AS node,
             m.id AS metric_id, t.term_pos, t.term_neg, t.prio
      FROM assets a
      JOIN terms t ON t.role = a.role
      JOIN metrics m ON m.key = t.mkey
      LEFT JOIN assets parent ON parent.id = a.parent_asset_id
      WHERE a.site_id IN :site_ids AND {COUNTED}
    ),
    newest AS (
      SELECT s.*, (SELECT MAX(x.ts) FROM readings x WHERE x.asset_id = s.asset_id
                   AND x.metric_id = s.metric_id AND x.ts <= :now) AS ts
      FROM s
    )
    SELECT n.site_id, n.node, n.asset_id, n.name, n.role, n.term_pos, n.term_neg, n.ts, r.value,
           n.prio, n.expected_interval_s
    FROM newest n
    LEFT JOIN readings r ON r.asset_id = n.asset_id AND r.metric_id = n.metric_id AND r.ts = n.ts
    ORDER BY n.site_id, n.asset_id, n.prio
    """
    return text(sql).bindparams(bindparam("site_ids", expanding=True))
