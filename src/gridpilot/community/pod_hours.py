"""Hourly import and export of one-meter POD sites, read straight from the stored hourly energy.

A *one-meter* POD site has a single asset, a grid-connection meter without a parent, whose
``power_kw`` has no data up to the period's end (no hourly rollup, nothing pending). Its import is
then its ``energy_kwh`` register and its export its ``energy_export_kwh`` register, and before
each register's ``cut`` (``balance/queries.py::_cut_sql``) the site balance counts exactly the
register's stored row of the hour (``balance_energy``, 1 h); ``solve_balance`` passes a single
meter's measured import and export through unchanged. So over ``[lo, tail)`` (``tail``: the
earliest cut of the registers with data) the hours are those rows, NaN where there is none, and an
export register with no data in the whole period is absent (0). ``[tail, hi)`` (the last hour or
two: the computed part) is still solved by ``site_balances``; every other site too.

Why: a year of 1,000 PODs is about 11.4 M stored hours; the balance statement read them through
its general CTEs. Here they travel as one array per register: bytes (``float8send``) on
PostgreSQL, text of 17 significant digits (exact round trip) on SQLite. Equal to
``site_balances`` over the whole period: tests/community/test_pod_hours.py.
"""

# SQL here is assembled only from constants; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.balance.queries import _series_ctes
from gridpilot.balance.rows import FloatArray
from gridpilot.balance.service import DEFAULT_MAX_GAP_S

HOUR_MS = 3_600_000
IMPORT, EXPORT = "energy_kwh", "energy_export_kwh"

_ONE_METER = text(
    """
    SELECT site_id FROM assets WHERE site_id IN :site_ids GROUP BY site_id
    HAVING COUNT(*) = 1 AND MIN(role) = 'grid_connection' AND MAX(parent_asset_id) IS NULL
    """
).bindparams(bindparam("site_ids", expanding=True))

_SERIES = text(
    f"""
    WITH {_series_ctes(HOUR_MS, False)}
    SELECT s2.site_id, s2.asset_id, m.key, s2.cut, s2.split, s2.r_last
    FROM s2 JOIN metrics m ON m.id = s2.metric_id
    """
).bindparams(bindparam("site_ids", expanding=True))

_ROWS = {
    "postgresql": """
    SELECT b.asset_id, m.key, string_agg(int8send(b.bucket_ms), ''::bytea ORDER BY b.bucket_ms),
           string_agg(float8send(b.kwh), ''::bytea ORDER BY b.bucket_ms)
    FROM balance_energy b JOIN metrics m ON m.id = b.metric_id
    WHERE b.asset_id IN :assets AND m.key IN ('energy_kwh', 'energy_export_kwh')
      AND b.step_ms = 3600000 AND b.bucket_ms >= :lo AND b.bucket_ms < :tail
    GROUP BY b.asset_id, m.key""",
    "sqlite": """
    SELECT b.asset_id, m.key, group_concat(b.bucket_ms), group_concat(printf('%!.17g', b.kwh))
    FROM balance_energy b JOIN metrics m ON m.id = b.metric_id
    WHERE b.asset_id IN :assets AND m.key IN ('energy_kwh', 'energy_export_kwh')
      AND b.step_ms = 3600000 AND b.bucket_ms >= :lo AND b.bucket_ms < :tail
    GROUP BY b.asset_id, m.key""",
}


@dataclass
class StoredHours:
    """Of the one-meter sites (``sites``), import and export [kWh] per hour of ``[lo, tail)``
    (NaN: no row; export 0 where ``export_metered`` is false and no tail says otherwise)."""

    lo: int
    tail: int
    sites: set[int] = field(default_factory=set)
    imported: dict[int, FloatArray] = field(default_factory=dict)
    exported: dict[int, FloatArray] = field(default_factory=dict)
    export_rows: set[int] = field(default_factory=set)


def _decode(dialect: str, buckets: object, kwh: object) -> tuple[np.ndarray, FloatArray]:
    if dialect == "postgresql":
        return (
            np.frombuffer(bytes(buckets), dtype=">i8").astype(np.int64),  # type: ignore[call-overload]
            np.frombuffer(bytes(kwh), dtype=">f8").astype(np.float64),  # type: ignore[call-overload]
        )
    return (
        np.array(str(buckets).split(","), dtype=np.int64),
        np.array(str(kwh).split(","), dtype=np.float64),
    )


async def _tail(
    session: AsyncSession, site_ids: Sequence[int], lo: int, hi: int, now_ms: int
) -> tuple[set[int], dict[int, int], int]:
    """The one-meter sites, their meters and the earliest cut of their registers with data."""
    sites = {int(r[0]) for r in await session.execute(_ONE_METER, {"site_ids": list(site_ids)})}
    if not sites:
        return set(), {}, lo
    params = {"site_ids": sorted(sites), "lo": lo, "hi": hi, "level": HOUR_MS, "now": now_ms,
              "max_gap": DEFAULT_MAX_GAP_S * 1000}  # fmt: skip
    meters: dict[int, int] = {}
    tail = hi
    for site_id, asset_id, key, cut, split, r_last in await session.execute(_SERIES, params):
        meters[int(site_id)] = int(asset_id)
        silent = r_last is None and int(split) == hi
        if silent:
            continue
        if key in (IMPORT, EXPORT):
            tail = min(tail, int(cut))
        else:  # power (or another series) with data: the general statement decides
            sites.discard(int(site_id))
    return sites, {s: meters[s] for s in sites}, tail


async def stored_hours(
    session: AsyncSession, site_ids: Sequence[int], lo: int, hi: int, now_ms: int
) -> StoredHours:
    """The stored hours of the one-meter sites among ``site_ids`` over ``[lo, tail)`` (whole
    UTC hours, ``lo`` and ``hi`` [ms]); no site when the stored part is empty."""
    sites, meters, tail = (
        await _tail(session, site_ids, lo, hi, now_ms) if site_ids else (set(), {}, lo)
    )
    if not sites or tail <= lo:
        return StoredHours(lo, lo)
    out = StoredHours(lo, tail, sites)
    n = (tail - lo) // HOUR_MS
    site_of = {a: s for s, a in meters.items()}
    for site_id in sites:
        out.imported[site_id] = np.full(n, np.nan)
        out.exported[site_id] = np.full(n, np.nan)
    dialect = session.get_bind().dialect.name
    sql = text(_ROWS["postgresql" if dialect == "postgresql" else "sqlite"]).bindparams(
        bindparam("assets", expanding=True)
    )
    params = {"assets": sorted(site_of), "lo": lo, "tail": tail}
    for asset_id, key, buckets, kwh in await session.execute(sql, params):
        site_id = site_of[int(asset_id)]
        at, values = _decode(dialect, buckets, kwh)
        target = out.imported if key == IMPORT else out.exported
        target[site_id][(at - lo) // HOUR_MS] = values
        if key == EXPORT:
            out.export_rows.add(site_id)
    return out
