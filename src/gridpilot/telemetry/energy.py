"""Energy over a period from readings: register deltas or the power integral (pure functions).

Conventions (DESIGN.md, "Energy semantics"):

* A cumulative register (``energy_kwh``) gives energy as the sum of its *positive* steps between
  consecutive readings. A drop is a counter reset: that step contributes 0, and the value read
  after the reset does **not** count as energy (the register may have been replaced or glitched;
  counting it would invent energy). The energy between the last reading before a reset and the
  reset itself is lost. Each step belongs to the time of its *later* reading, so the step from the
  last reading before the period into the first reading of the period is included, and periods
  that tile a day add up to the day.
* Without a register, energy is the trapezoidal integral of ``power_kw`` over the period, clipped
  to the period's bounds (linear interpolation at ``start`` and ``end``), never across a gap between
  consecutive readings longer than ``max_gap_s``.

Times are epoch milliseconds; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MS_PER_HOUR = 3_600_000


@dataclass(frozen=True)
class EnergyFold:
    """Result of folding readings into energy.

    Attributes
    ----------
    energy_kwh : float
        Energy [kWh].
    covered_ms : int
        Time of ``[start, end)`` the figure is based on [ms] (see each function).
    steps : int
        Steps between consecutive readings that contributed.
    resets : int
        Counter resets seen (register only).
    first_ts, last_ts : int or None
        Register only: earliest reading used (the one before the period when given) and last
        reading of the period [epoch ms]; None when the period holds no reading.
    """

    energy_kwh: float
    covered_ms: int
    steps: int = 0
    resets: int = 0
    first_ts: int | None = None
    last_ts: int | None = None


def positive_step(previous: float, current: float) -> float:
    """Energy of one register step [kWh]: ``current - previous``, or 0 for a drop (reset)."""
    return current - previous if current > previous else 0.0


def register_energy(
    readings: Iterable[tuple[int, float]], start_ms: int, end_ms: int
) -> EnergyFold:
    """Energy from a cumulative register over ``[start_ms, end_ms)``.

    Parameters
    ----------
    readings : iterable of (int, float)
        ``(ts_ms, register_kwh)`` sorted by time: at most one reading before ``start_ms`` (the
        last one; more are ignored), then the readings of the period. Readings at or after
        ``end_ms`` are ignored.
    start_ms, end_ms : int
        The period [epoch ms], ``end_ms > start_ms``.

    Returns
    -------
    EnergyFold
        ``energy_kwh`` = sum of positive steps whose later reading is in the period;
        ``covered_ms`` = ``min(end, t_last) - max(start, t_first)`` where ``t_first`` is the
        earliest reading used (the one before ``start`` when given) and ``t_last`` the last
        reading of the period: the register accounts for all energy in between, whatever the
        gaps, except across resets.
    """
    energy = 0.0
    steps = resets = 0
    previous: tuple[int, float] | None = None
    first_ts: int | None = None
    last_ts: int | None = None
    for ts, value in readings:
        if ts >= end_ms:
            break
        if ts < start_ms:
            previous = (ts, value)
            continue
        if first_ts is None:
            first_ts = previous[0] if previous is not None else ts
        if previous is not None:
            if value < previous[1]:
                resets += 1
            else:
                energy += value - previous[1]
                steps += 1
        previous = (ts, value)
        last_ts = ts
    covered = 0
    if first_ts is not None and last_ts is not None:
        covered = max(0, min(end_ms, last_ts) - max(start_ms, first_ts))
    return EnergyFold(energy, covered, steps, resets, first_ts, last_ts)


def power_integral(
    readings: Iterable[tuple[int, float]], start_ms: int, end_ms: int, max_gap_s: float
) -> EnergyFold:
    """Trapezoidal integral of power over ``[start_ms, end_ms)``, not across long gaps.

    Parameters
    ----------
    readings : iterable of (int, float)
        ``(ts_ms, power_kw)`` sorted by time; include the last reading before ``start_ms`` and
        the first at or after ``end_ms`` so the edges are interpolated.
    start_ms, end_ms : int
        The period [epoch ms].
    max_gap_s : float
        Consecutive readings further apart than this [s] are not joined: that interval
        contributes no energy and is not covered.

    Returns
    -------
    EnergyFold
        ``energy_kwh`` [kWh] = integral of the piecewise-linear power [kW] over the covered
        time [h]; ``covered_ms`` = total length of ``[start, end)`` lying between two
        consecutive readings at most ``max_gap_s`` apart.
    """
    max_gap_ms = max_gap_s * 1000.0
    energy_kw_ms = 0.0
    covered = 0
    steps = 0
    previous: tuple[int, float] | None = None
    for ts, value in readings:
        if previous is not None:
            t0, v0 = previous
            lo, hi = max(t0, start_ms), min(ts, end_ms)
            if ts - t0 <= max_gap_ms and hi > lo and ts > t0:
                slope = (value - v0) / (ts - t0)
                v_lo = v0 + slope * (lo - t0)
                v_hi = v0 + slope * (hi - t0)
                energy_kw_ms += (v_lo + v_hi) / 2.0 * (hi - lo)
                covered += hi - lo
                steps += 1
        if ts >= end_ms:
            break
        previous = (ts, value)
    return EnergyFold(energy_kw_ms / MS_PER_HOUR, covered, steps, 0)


def coverage(covered_ms: int, start_ms: int, end_ms: int) -> float:
    """Fraction of ``[start_ms, end_ms)`` covered by data, in 0..1."""
    span = end_ms - start_ms
    if span <= 0:
        return 0.0
    return min(1.0, max(0.0, covered_ms / span))
