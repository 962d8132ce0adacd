"""Daily local-time windows and absolute times as step ranges of a schedule's horizon.

A schedule's step t covers ``[start + t * step, start + (t + 1) * step)`` (UTC epoch ms). A
load may run in a step only when the whole step lies inside its window, so a window
``[a, b)`` becomes the steps ``ceil((a - start) / step) .. floor((b - start) / step) - 1``;
the end step (first step after the window) may lie past the horizon, the optimiser then asks
only for the energy that cannot be delivered after it. Local clock times follow the site's
time zone (``zoneinfo``), DST included: a window "22:00"-"06:00" lasts 8 h on most nights.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gridpilot.core.timestamps import MS_PER_DAY

MINUTES_PER_DAY = 24 * 60


def clock_minutes(clock: str) -> int:
    """Minutes after local midnight of "HH:MM" (0..1440)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def window_minutes(start: str, end: str) -> int:
    """Length of a daily window [min]: ``end`` before ``start`` wraps past midnight, equal
    clock times (or 00:00-24:00) are the whole day."""
    lo, hi = clock_minutes(start) % MINUTES_PER_DAY, clock_minutes(end) % MINUTES_PER_DAY
    return (hi - lo) % MINUTES_PER_DAY or MINUTES_PER_DAY


def first_step_at_or_after(ts_ms: int, start_ms: int, step_ms: int) -> int:
    return -(-(ts_ms - start_ms) // step_ms)


def steps_before(ts_ms: int, start_ms: int, step_ms: int) -> int:
    """The first step that is not wholly before ``ts_ms`` (an end step)."""
    return (ts_ms - start_ms) // step_ms


def _local_ms(day: date, minutes: int, zone: ZoneInfo) -> int:
    # an aware datetime plus a timedelta is wall-clock arithmetic: a DST change keeps the clock
    moment = datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minutes)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Occurrence:
    """One day's window in steps: ``[first_step, end_step)``; ``start_ms``/``end_ms`` UTC."""

    first_step: int
    end_step: int
    start_ms: int
    end_ms: int


def occurrences(
    *,
    start_ms: int,
    steps: int,
    step_ms: int,
    timezone: str,
    window_start: str,
    window_end: str,
) -> tuple[list[Occurrence], int]:
    """The window's occurrences that begin inside the horizon, and how many were already under
    way at its start (left out: what already ran is not known)."""
    zone = ZoneInfo(timezone)
    end_ms = start_ms + steps * step_ms
    length = window_minutes(window_start, window_end)
    opening = clock_minutes(window_start) % MINUTES_PER_DAY
    first_day = datetime.fromtimestamp(start_ms / 1000, zone).date() - timedelta(days=1)
    days = (end_ms - start_ms) // MS_PER_DAY + 3
    found: list[Occurrence] = []
    under_way = 0
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        opens = _local_ms(day, opening, zone)
        closes = _local_ms(day, opening + length, zone)
        if closes <= start_ms or opens >= end_ms:
            continue
        if opens < start_ms:
            under_way += 1
            continue
        first = first_step_at_or_after(opens, start_ms, step_ms)
        last = steps_before(closes, start_ms, step_ms)
        if last > first and first < steps:  # at least one whole step, inside the horizon
            found.append(Occurrence(first, last, opens, closes))
    return found, under_way
