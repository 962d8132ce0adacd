"""Energy of an asset over a period from the database (maths in ``telemetry.energy``)."""

# SQL here is assembled only from constants and integer steps; values are bind parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.service import find_metric_ref
from gridpilot.core.errors import ValidationFailed
from gridpilot.telemetry.energy import coverage, power_integral, register_energy
from gridpilot.telemetry.energy_edges import edge_shifts, ending_assets, rolled_resets
from gridpilot.telemetry.rollups import STEPS_MS, floor_to, pending_start

_SERIES = "asset_id = :asset_id AND metric_id = :metric_id"

REGISTER_METRIC = "energy_kwh"
POWER_METRIC = "power_kw"
ENERGY_ROLLUP_STEP = STEPS_MS["1h"]
PAGE_ROWS = 50_000


@dataclass(frozen=True)
class EnergyResult:
    """Energy of an asset over ``[start_ms, end_ms)``.

    ``method``: ``register`` (positive deltas of ``energy_kwh``), ``power_integral`` (trapezoidal
    integral of ``power_kw``) or ``none`` (no data, ``energy_kwh`` None). ``coverage`` (0..1) is the
    fraction of the period the figure accounts for: for the register, the part between the
    earliest reading used (the last one before ``start`` when there is one) and the last reading
    of the period; for power, the part lying between two consecutive readings at most
    ``max_gap_s`` apart. ``resets`` counts register resets seen in raw data.
    """

    energy_kwh: float | None
    method: str
    coverage: float
    start_ms: int
    end_ms: int
    resets: int = 0


#: A register's part over one stretch: (energy [kWh], first ts, last ts [epoch ms], resets).
Segment = tuple[float, int | None, int | None, int]


async def _pages(
    session: AsyncSession, ids: dict[str, int], lo: int, hi: int, *, with_next: bool
) -> AsyncIterator[list[tuple[int, float]]]:
    """Readings of ``[lo, hi)`` with the one before ``lo`` (and the first from ``hi``), in pages.

    Each page after the first starts with the last reading of the previous one, so a fold over
    consecutive pairs sees every pair exactly once.
    """
    before = await session.scalar(
        text(f"SELECT MAX(ts) FROM readings WHERE {_SERIES} AND ts < :lo"), {**ids, "lo": lo}
    )
    limit_ts = hi
    if with_next:
        after = await session.scalar(
            text(f"SELECT MIN(ts) FROM readings WHERE {_SERIES} AND ts >= :hi"),
            {**ids, "hi": hi},
        )
        limit_ts = int(after) + 1 if after is not None else hi
    cursor = int(before) if before is not None else lo
    carry: list[tuple[int, float]] = []
    while True:
        rows = (
            await session.execute(
                text(
                    f"SELECT ts, value FROM readings WHERE {_SERIES} AND ts >= :cursor"
                    f" AND ts < :limit_ts ORDER BY ts LIMIT {PAGE_ROWS}"
                ),
                {**ids, "cursor": cursor, "limit_ts": limit_ts},
            )
        ).all()
        page = carry + [(int(ts), float(value)) for ts, value in rows]
        if page:
            yield page
        if len(rows) < PAGE_ROWS:
            return
        carry = [page[-1]]
        cursor = page[-1][0] + 1


async def _fold_raw(
    session: AsyncSession, ids: dict[str, int], lo: int, hi: int
) -> tuple[float, int | None, int | None, int]:
    """Register over raw ``[lo, hi)``: energy [kWh], first used ts, last ts, resets."""
    energy, resets = 0.0, 0
    first: int | None = None
    last: int | None = None
    async for page in _pages(session, ids, lo, hi, with_next=False):
        fold = register_energy(page, lo, hi)
        energy, resets = energy + fold.energy_kwh, resets + fold.resets
        first = fold.first_ts if first is None else first
        last = fold.last_ts if fold.last_ts is not None else last
    return energy, first, last, resets


async def _register(
    session: AsyncSession, ids: dict[str, int], start_ms: int, end_ms: int
) -> EnergyResult | None:
    """Register energy: hourly rollups for whole hours, raw readings at the edges and for the
    part newer than the last rollup refresh. None when the period holds no register reading."""
    step = ENERGY_ROLLUP_STEP
    a = -(-start_ms // step) * step
    b = floor_to(end_ms, step)
    pending = await pending_start(session, ids["asset_id"], ids["metric_id"])
    if pending is not None:
        b = min(b, floor_to(pending, step))
    segments: list[Segment] = []
    if a >= b:
        energy, first, last, resets = await _fold_raw(session, ids, start_ms, end_ms)
        segments.append((energy, first, last, resets))
    else:
        energy, first, last, resets = await _fold_raw(session, ids, start_ms, a)
        segments.append((energy, first, last, resets))
        row = (
            await session.execute(
                text(
                    "SELECT SUM(energy_delta), MIN(first_ts), MAX(last_ts) FROM rollups"
                    f" WHERE {_SERIES} AND step_ms = {step} AND bucket_ms >= :a AND bucket_ms < :b"
                ),
                {**ids, "a": a, "b": b},
            )
        ).one()
        first_rolled = row[1]
        if first_rolled is not None and segments[0][1] is None:
            before = await session.scalar(
                text(f"SELECT MAX(ts) FROM readings WHERE {_SERIES} AND ts < :ts"),
                {**ids, "ts": first_rolled},
            )
            first_rolled = before if before is not None else first_rolled
        rolled = await rolled_resets(session, ids["metric_id"], [ids["asset_id"]], a, b, step)
        segments.append(
            (float(row[0] or 0.0), first_rolled, row[2], rolled.get(ids["asset_id"], 0))
        )
        energy, first, last, resets = await _fold_raw(session, ids, b, end_ms)
        segments.append((energy, first, last, resets))
    return register_result(segments, start_ms, end_ms)


def register_result(segments: list[Segment], start_ms: int, end_ms: int) -> EnergyResult | None:
    """A register's energy over ``[start_ms, end_ms)`` from its segments in time order (raw
    before the rollups, the rollups, raw after them); None when none holds a reading."""
    firsts = [s[1] for s in segments if s[1] is not None]
    lasts = [s[2] for s in segments if s[2] is not None]
    if not lasts:
        return None
    covered = max(0, min(end_ms, int(lasts[-1])) - max(start_ms, int(firsts[0])))
    return EnergyResult(
        energy_kwh=sum(s[0] for s in segments),
        method="register",
        coverage=coverage(covered, start_ms, end_ms),
        start_ms=start_ms,
        end_ms=end_ms,
        resets=sum(s[3] for s in segments),
    )


def shifted(result: EnergyResult, shift: tuple[float, int] | None) -> EnergyResult:
    """``result`` moved to interval-ending edges by ``shift`` (energy [kWh], resets)."""
    if shift is None:
        return result
    energy = (result.energy_kwh or 0.0) + shift[0]
    return replace(result, energy_kwh=energy, resets=result.resets + shift[1])


async def _power(
    session: AsyncSession, ids: dict[str, int], start_ms: int, end_ms: int, max_gap_s: float
) -> EnergyResult | None:
    """Trapezoidal integral of raw power readings; None when nothing could be integrated."""
    energy, covered, steps = 0.0, 0, 0
    async for page in _pages(session, ids, start_ms, end_ms, with_next=True):
        fold = power_integral(page, start_ms, end_ms, max_gap_s)
        energy, covered, steps = (
            energy + fold.energy_kwh,
            covered + fold.covered_ms,
            steps + fold.steps,
        )
    if steps == 0:
        return None
    return EnergyResult(
        energy, "power_integral", coverage(covered, start_ms, end_ms), start_ms, end_ms
    )


async def energy(
    *, session: AsyncSession, asset_id: int, start_ms: int, end_ms: int, max_gap_s: float
) -> EnergyResult:
    """Energy of ``asset_id`` over ``[start_ms, end_ms)`` [kWh] with its method and coverage.

    The ``energy_kwh`` register is used when the period holds any of its readings (sum of
    positive deltas, including the step from the last reading before ``start``; a drop is a
    reset and adds nothing; for an interval-ending asset, the default, the steps whose later
    reading lies in ``(start, end]``: ``energy_edges``); otherwise the trapezoidal integral of
    ``power_kw`` not bridging gaps longer than ``max_gap_s``; otherwise ``method="none"``.
    See ``telemetry.energy``.
    """
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    for key in (REGISTER_METRIC, POWER_METRIC):
        metric = await find_metric_ref(session=session, key=key)
        if metric is None:
            continue
        ids = {"asset_id": asset_id, "metric_id": metric.id}
        if key == REGISTER_METRIC:
            result = await _register(session, ids, start_ms, end_ms)
            if result is not None and await ending_assets(session, [asset_id]):
                shifts = await edge_shifts(session, metric.id, [asset_id], start_ms, end_ms)
                result = shifted(result, shifts.get(asset_id))
        else:
            result = await _power(session, ids, start_ms, end_ms, max_gap_s)
        if result is not None:
            return result
    return EnergyResult(None, "none", 0.0, start_ms, end_ms)
