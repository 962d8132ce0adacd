"""Named periods ("today", "last_month", "last_6_hours") as ``[start, end)`` in epoch ms, the
calendar ones from local midnights of a time zone (23 or 25 h days at clock changes; weeks
start on Monday). Pure; the voice queries' timeframes and GraphQL's ``kpis(period:)`` read
the same names.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from gridpilot.core.errors import ValidationFailed

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: The named periods (besides ``last_N_hours`` and ``last_N_days``, N from 1 to 366).
PERIODS = ("last_hour", "last_24_hours", "today", "yesterday", "this_week", "last_week",
           "this_month", "last_month")  # fmt: skip


def window(key: str, timezone: str, now_ms: int, *, noun: str = "period") -> tuple[int, int]:
    """``[start, end)`` [epoch ms] of the period ``key`` as of ``now_ms``: a running one ends
    at ``now_ms``; ``ValidationFailed`` (saying ``noun``) for an unknown name."""
    zone = ZoneInfo(timezone)
    now = dt.datetime.fromtimestamp(now_ms / 1000, tz=zone)

    def local(day: dt.date) -> int:
        return int(dt.datetime.combine(day, dt.time(), tzinfo=zone).timestamp() * 1000)

    match = re.fullmatch(r"last_(\d+)_(hours|days)", key)
    if key == "last_hour":
        return now_ms - HOUR_MS, now_ms
    if match is not None:
        n = int(match.group(1))
        if not 1 <= n <= 366:
            raise ValidationFailed(f"a {noun} counts 1 to 366 hours or days")
        return now_ms - n * (HOUR_MS if match.group(2) == "hours" else DAY_MS), now_ms
    today = now.date()
    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    previous_first = (first - dt.timedelta(days=1)).replace(day=1)
    spans = {
        "today": (local(today), now_ms),
        "yesterday": (local(today - dt.timedelta(days=1)), local(today)),
        "this_week": (local(monday), now_ms),
        "last_week": (local(monday - dt.timedelta(days=7)), local(monday)),
        "this_month": (local(first), now_ms),
        "last_month": (local(previous_first), local(first)),
    }
    if key not in spans:
        raise ValidationFailed(
            f"unknown {noun} {key!r}: use one of {', '.join(PERIODS)}, last_N_hours or last_N_days"
        )
    return spans[key]
