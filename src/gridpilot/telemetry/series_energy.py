"""Stored energy per series and rollup bucket (``balance_energy``), for the site balance.

For every series of a balance metric (``REGISTER_KEYS``, ``POWER_KEYS``) and every 15-min and
1-h bucket (``STORED_STEPS``), the energy [kWh] the balance computes from that level's rollups
(``balance/queries.py``, docs/site-energy.md): the *segments* of the rollups spread pro rata
over the buckets they cover, summed per bucket. A row exists wherever a segment overlaps the
bucket (also at 0 kWh: the series reports there).

- a register: the step into a bucket (``first - last`` of the previous bucket, a drop counts
  0) over ``(prev last_ts, first_ts]``, the rest of ``energy_delta`` over ``[first_ts, last_ts]``;
- power: the mean of all but the last reading times ``min(last_ts - first_ts, (count - 1) x
  cap)`` over ``[first_ts, last_ts]``, the last reading held ``min(cap, next reading - last_ts)``
  (no next reading: ``cap``); ``cap`` [ms] is ``2 x`` the asset's ``expected_interval_s``, else
  ``energy_max_gap_s``. The balance also cuts a hold at its ``now``; a stored bucket that ends
  before ``now`` is the same either way.

Written by the rollup refresh in its transaction, right after the level's rollups
(``refresh_energy``): the buckets from the last rollup bucket before the recomputed window (its
hold and the step out of it may reach into the window) to the window's end. A series without a
``balance_energy_series`` row, or whose row holds another ``cap`` than the asset's current one,
is recomputed whole, and the balance reads none of its rows meanwhile. Retention drops rows
older than the level's cutoff and recomputes each series' first remaining bucket
(``after_retention``): the balance counts no step into it any more.
"""

# SQL here is assembled only from constants and integer steps; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import ENERGY_TERMS, POWER_TERMS
from gridpilot.telemetry.rollups import STEPS_MS, bucket_sql, values_cte
from gridpilot.telemetry.segments_sql import least_sql, segment_ctes

#: The rollup levels whose energy is stored [ms].
STORED_STEPS = (STEPS_MS["15m"], STEPS_MS["1h"])
#: How many expected reporting intervals a power reading may stand for.
HOLD_INTERVALS = 2
#: Metric keys read as cumulative registers [kWh] and as power [kW] by the balance.
REGISTER_KEYS = frozenset(k for metrics in ENERGY_TERMS.values() for k in metrics)
POWER_KEYS = frozenset(k for metrics in POWER_TERMS.values() for k in metrics)
#: Bounds [ms] of a whole-history window (multiples of a day).
ALL_LO = -(2**52 // 86_400_000) * 86_400_000
ALL_HI = -ALL_LO


def cap_sql(interval_s: str) -> str:
    """SQL for a power reading's hold limit [ms] from the asset's ``expected_interval_s``
    column ``interval_s`` (else the bind parameter ``:max_gap`` [ms])."""
    hold = f"{interval_s} * {HOLD_INTERVALS * 1000}"
    return (
        f"CASE WHEN {interval_s} > 0 THEN CAST(ROUND({hold}) AS BIGINT)"
        " ELSE CAST(:max_gap AS BIGINT) END"
    )


@dataclass(frozen=True)
class EnergyWindow:
    """Buckets ``[lo_ms, hi_ms)`` at one level of one series to recompute; ``is_reg``: a
    register (else power); ``cap_ms``: the power hold limit [ms]."""

    asset_id: int
    metric_id: int
    lo_ms: int
    hi_ms: int
    is_reg: int
    cap_ms: int


def _segments_sql(step: int) -> str:
    """CTEs ``bounds`` .. ``seg``: the segments ``(asset_id, metric_id, lo, hi, a, b, kwh)`` of
    the rollups of each window's series, from the last bucket before ``lo`` to the first bucket
    at or after ``hi`` (``telemetry/segments_sql.py``)."""
    mine = f"r.asset_id = w.asset_id AND r.metric_id = w.metric_id AND r.step_ms = {step}"
    rolled = segment_ctes(
        name="seg",
        series="w.asset_id, w.metric_id, w.lo, w.hi, w.is_reg, w.cap",
        source=f"FROM bounds w JOIN rollups r ON {mine}"
        " WHERE r.bucket_ms >= w.r_from AND r.bucket_ms <= w.r_to",
        keys="asset_id, metric_id, lo, hi",
        now=None,
    )
    return f"""
    bounds AS (
      SELECT w.*,
        COALESCE((SELECT MAX(r.bucket_ms) FROM rollups r WHERE {mine} AND r.bucket_ms < w.lo),
                 w.lo) AS r_from,
        COALESCE((SELECT MIN(r.bucket_ms) FROM rollups r WHERE {mine} AND r.bucket_ms >= w.hi),
                 w.hi) AS r_to
      FROM work w
    ),{rolled}"""


def _insert_sql(step: int, work: str) -> str:
    """``INSERT`` of the energy per bucket of ``[lo, hi)`` of each window (verb first: SQLite
    opens the session's transaction only before a statement starting with it)."""
    b0, b1 = bucket_sql("a", step), bucket_sql("(b - 1)", step)
    overlap = (
        f"({least_sql('b', f'bucket + {step}')}) - (CASE WHEN a > bucket THEN a ELSE bucket END)"
    )
    w = "asset_id, metric_id, lo, hi"
    return f"""
    INSERT INTO balance_energy (asset_id, metric_id, step_ms, bucket_ms, kwh)
    WITH RECURSIVE {work},
    {_segments_sql(step)},
    sb AS (SELECT seg.*, {b0} AS b0, {b1} AS b1 FROM seg WHERE b > a AND a < hi AND b > lo),
    walk({w}, a, b, kwh, bucket, b1) AS (
      SELECT {w}, a, b, kwh, CASE WHEN b0 < lo THEN lo ELSE b0 END, b1 FROM sb WHERE b0 <> b1
      UNION ALL
      SELECT {w}, a, b, kwh, bucket + {step}, b1 FROM walk
      WHERE bucket < b1 AND bucket + {step} < hi
    ),
    piece AS (
      SELECT {w}, b0 AS bucket, kwh FROM sb WHERE b0 = b1
      UNION ALL
      SELECT {w}, bucket, kwh * ({overlap}) / (b - a) FROM walk
    )
    SELECT asset_id, metric_id, {step}, bucket, SUM(kwh) FROM piece
    WHERE bucket >= lo AND bucket < hi
    GROUP BY asset_id, metric_id, bucket
    """


_WORK_COLUMNS = [
    ("asset_id", "INTEGER"),
    ("metric_id", "INTEGER"),
    ("lo", "BIGINT"),
    ("hi", "BIGINT"),
    ("is_reg", "INTEGER"),
    ("cap", "BIGINT"),
]


async def write_energy(session: AsyncSession, step: int, windows: Sequence[EnergyWindow]) -> None:
    """Replace the stored energy of each window's buckets at level ``step`` [ms]."""
    if not windows:
        return
    await session.execute(
        text(
            "DELETE FROM balance_energy WHERE asset_id = :a AND metric_id = :m"
            " AND step_ms = :step AND bucket_ms >= :lo AND bucket_ms < :hi"
        ),
        [
            {"a": w.asset_id, "m": w.metric_id, "step": step, "lo": w.lo_ms, "hi": w.hi_ms}
            for w in windows
        ],
    )
    rows = [(w.asset_id, w.metric_id, w.lo_ms, w.hi_ms, w.is_reg, w.cap_ms) for w in windows]
    work, params = values_cte("work", _WORK_COLUMNS, rows)
    await session.execute(text(_insert_sql(step, work)), params)


@dataclass(frozen=True)
class _Series:
    asset_id: int
    metric_id: int
    is_reg: int
    cap_ms: int
    whole: bool  # no complete stored energy with this cap yet: recompute the whole history
    before: dict[int, int | None]  # per stored level: the last rollup bucket before the window


def _plan_sql(work: str) -> str:
    befores = ", ".join(
        f"(SELECT MAX(r.bucket_ms) FROM rollups r WHERE r.asset_id = w.asset_id"
        f" AND r.metric_id = w.metric_id AND r.step_ms = {step}"
        f" AND r.bucket_ms < w.lo{i}) AS before{i}"
        for i, step in enumerate(STORED_STEPS)
    )
    return f"""
    WITH {work}
    SELECT w.asset_id, w.metric_id, m.key, {cap_sql("a.expected_interval_s")} AS cap,
           st.cap_ms, {befores}
    FROM work w JOIN assets a ON a.id = w.asset_id JOIN metrics m ON m.id = w.metric_id
    LEFT JOIN balance_energy_series st
      ON st.asset_id = w.asset_id AND st.metric_id = w.metric_id
    """


async def _plan(
    session: AsyncSession,
    windows: Mapping[int, Sequence[tuple[int, int, int, int]]],
    max_gap_ms: int,
) -> list[_Series]:
    """The series of the windows ``step -> (asset, metric, lo, hi)`` that carry balance
    energy, with their kind, hold limit and the last rollup bucket before each window."""
    first = windows[STORED_STEPS[0]]
    columns = [("asset_id", "INTEGER"), ("metric_id", "INTEGER")]
    columns += [(f"lo{i}", "BIGINT") for i in range(len(STORED_STEPS))]
    rows = [
        (a, m, *(windows[step][k][2] for step in STORED_STEPS))
        for k, (a, m, _lo, _hi) in enumerate(first)
    ]
    work, params = values_cte("work", columns, rows)
    found = await session.execute(text(_plan_sql(work)), {**params, "max_gap": max_gap_ms})
    plan = []
    for asset_id, metric_id, key, cap, stored_cap, *befores in found:
        if key not in REGISTER_KEYS and key not in POWER_KEYS:
            continue
        is_reg = 1 if key in REGISTER_KEYS else 0
        whole = stored_cap is None or (not is_reg and int(stored_cap) != int(cap))
        before = dict(zip(STORED_STEPS, befores, strict=True))
        plan.append(_Series(asset_id, metric_id, is_reg, int(cap), whole, before))
    return plan


async def refresh_energy(
    session: AsyncSession,
    windows: Mapping[int, Sequence[tuple[int, int, int, int]]],
    max_gap_ms: int,
) -> None:
    """Recompute the stored energy after the rollups of ``windows`` were recomputed.

    ``windows``: per stored level, one ``(asset_id, metric_id, lo, hi)`` per series (the same
    series in the same order at every level), the rollup buckets ``[lo, hi)`` just rewritten.
    """
    plan = await _plan(session, windows, max_gap_ms)
    if not plan:
        return
    for step in STORED_STEPS:
        bounds = {(a, m): (lo, hi) for a, m, lo, hi in windows[step]}
        todo = []
        for s in plan:
            lo, hi = bounds[(s.asset_id, s.metric_id)]
            before = s.before[step]
            if s.whole:
                lo, hi = ALL_LO, ALL_HI
            elif before is not None:
                lo = int(before)
            todo.append(EnergyWindow(s.asset_id, s.metric_id, lo, hi, s.is_reg, s.cap_ms))
        await write_energy(session, step, todo)
    await _mark_complete(session, plan)


async def _mark_complete(session: AsyncSession, plan: Sequence[_Series]) -> None:
    keys = [{"a": s.asset_id, "m": s.metric_id, "cap": s.cap_ms} for s in plan]
    await session.execute(
        text("DELETE FROM balance_energy_series WHERE asset_id = :a AND metric_id = :m"),
        [{"a": k["a"], "m": k["m"]} for k in keys],
    )
    await session.execute(
        text(
            "INSERT INTO balance_energy_series (asset_id, metric_id, cap_ms) VALUES (:a, :m, :cap)"
        ),
        keys,
    )


_FIRST_LEFT_SQL = """
SELECT e.asset_id, e.metric_id, m.key, st.cap_ms,
       (SELECT MIN(r.bucket_ms) FROM rollups r WHERE r.asset_id = e.asset_id
        AND r.metric_id = e.metric_id AND r.step_ms = :step) AS first_left
FROM (SELECT DISTINCT asset_id, metric_id FROM balance_energy
      WHERE step_ms = :step AND bucket_ms < :cutoff) e
JOIN metrics m ON m.id = e.metric_id
JOIN balance_energy_series st ON st.asset_id = e.asset_id AND st.metric_id = e.metric_id
"""


async def after_retention(session: AsyncSession, step: int, cutoff_ms: int) -> int:
    """After retention removed the rollups of level ``step`` before ``cutoff_ms``: drop the
    stored energy before each series' first remaining bucket and recompute that bucket (no
    step into it is counted any more). Returns how many series were touched."""
    if step not in STORED_STEPS:
        return 0
    found = (
        await session.execute(text(_FIRST_LEFT_SQL), {"step": step, "cutoff": cutoff_ms})
    ).all()
    await session.execute(
        text("DELETE FROM balance_energy WHERE step_ms = :step AND bucket_ms < :cutoff"),
        {"step": step, "cutoff": cutoff_ms},
    )
    todo: list[EnergyWindow] = []
    cut: list[dict[str, Any]] = []
    for asset_id, metric_id, key, cap, first_left in found:
        end = ALL_HI if first_left is None else int(first_left)
        cut.append({"a": asset_id, "m": metric_id, "step": step, "end": end})
        if first_left is not None:
            is_reg = 1 if key in REGISTER_KEYS else 0
            todo.append(EnergyWindow(asset_id, metric_id, end, end + step, is_reg, int(cap)))
    if cut:
        await session.execute(
            text(
                "DELETE FROM balance_energy WHERE asset_id = :a AND metric_id = :m"
                " AND step_ms = :step AND bucket_ms < :end"
            ),
            cut,
        )
    for start in range(0, len(todo), 200):
        await write_energy(session, step, todo[start : start + 200])
    return len(found)
