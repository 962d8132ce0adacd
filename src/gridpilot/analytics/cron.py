"""Occurrences of a 5-field cron expression in a time zone, as UTC epoch milliseconds.

The expression (minute, hour, day of month, month, day of week; names, ranges, steps, ``L``,
``#``) is read in local wall-clock time of ``timezone`` by cronsim, which follows Debian's cron
across daylight-saving changes:

- a fixed time that does not exist (02:30 on the spring-forward day in Europe/Rome, when
  02:00 CET jumps to 03:00 CEST) runs once at the first instant after the gap, 03:00 CEST
  (01:00 UTC); expressions with a wildcard minute or hour simply have no occurrence there;
- a fixed time that happens twice (02:30 on the fall-back day, 03:00 CEST -> 02:00 CET) runs
  once, at its first occurrence (02:30 CEST, 00:30 UTC); wildcard expressions run in both hours.

Pure: no I/O. Reference: Debian cron(8), "Daylight Saving Time and other time changes".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError


class CronInvalid(ValueError):
    """The expression is not a valid 5-field cron expression (the message says which field)."""


def check_cron(expression: str) -> str:
    """``expression`` normalised (single spaces) if valid; ``CronInvalid`` otherwise."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronInvalid(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}"
        )
    normal = " ".join(fields)
    try:
        CronSim(normal, datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    except CronSimError as exc:
        raise CronInvalid(str(exc)) from None
    return normal


def _after(expression: str, timezone: str, after_ms: int) -> Iterator[int]:
    """Occurrences strictly after ``after_ms`` [epoch ms], in order."""
    zone = ZoneInfo(timezone)
    start = datetime.fromtimestamp(after_ms / 1000, tz=zone)
    for local in CronSim(expression, start):
        at_ms = int(local.timestamp() * 1000)
        if at_ms > after_ms:
            yield at_ms


def next_after(expression: str, timezone: str, after_ms: int) -> int | None:
    """The first occurrence strictly after ``after_ms`` [epoch ms]; None when there is none in
    the next 50 years (e.g. 30 February)."""
    return next(_after(expression, timezone, after_ms), None)


def between(expression: str, timezone: str, start_ms: int, end_ms: int, limit: int) -> list[int]:
    """Occurrences in ``[start_ms, end_ms)`` [epoch ms], at most ``limit`` of them."""
    found: list[int] = []
    for at_ms in _after(expression, timezone, start_ms - 1):
        if at_ms >= end_ms or len(found) >= limit:
            break
        found.append(at_ms)
    return found


def latest_until(expression: str, timezone: str, from_ms: int, until_ms: int) -> int:
    """The latest occurrence in ``[from_ms, until_ms]`` [epoch ms], ``from_ms`` being one (the
    first missed): what a catch-up runs. Found by iterating backwards from ``until_ms`` (one
    step whatever the length of the downtime)."""
    start = datetime.fromtimestamp(until_ms / 1000 + 1, tz=ZoneInfo(timezone))
    for local in CronSim(expression, start, reverse=True):
        at_ms = int(local.timestamp() * 1000)
        if at_ms <= until_ms:
            return max(at_ms, from_ms)
    return from_ms
