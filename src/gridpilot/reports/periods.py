"""Report periods of a schedule in a site's time zone (pure: no I/O).

A period is ``[start_ms, end_ms)`` between local midnights: a day, an ISO week (Monday to
Monday) or a calendar month of the site's zone, so its length follows the zone's clock changes
(a March month in Europe/Rome lasts 743 h, an October one 745 h). A period is *due* once it has
ended and ``SETTLE_MS`` more has passed, so late readings of its last interval are in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gridpilot.core.errors import ValidationFailed

#: Wait after a period's end before reporting it [ms] (readings arriving late).
SETTLE_MS = 15 * 60_000
SCHEDULES = ("none", "daily", "weekly", "monthly")
MS_PER_HOUR = 3_600_000


class PeriodInvalid(ValidationFailed):
    """A period a report cannot cover (end before start, too long, not what the kind needs)."""

    code = "report_period_invalid"


@dataclass(frozen=True)
class Period:
    """``[start_ms, end_ms)`` [epoch ms] of a report."""

    start_ms: int
    end_ms: int

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / MS_PER_HOUR


def _midnight(day: date, zone: ZoneInfo) -> int:
    """Epoch ms of the local midnight starting ``day`` (the first instant of that date)."""
    return int(datetime.combine(day, time(0), tzinfo=zone).timestamp() * 1000)


def _first_day(schedule: str, day: date) -> date:
    if schedule == "weekly":
        return day - timedelta(days=day.weekday())
    if schedule == "monthly":
        return day.replace(day=1)
    return day


def _next_day(schedule: str, day: date) -> date:
    if schedule == "weekly":
        return day + timedelta(days=7)
    if schedule == "monthly":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def period_containing(schedule: str, timezone: str, at_ms: int) -> Period:
    """The day, ISO week or month of the zone containing ``at_ms``."""
    if schedule not in SCHEDULES[1:]:
        raise ValueError(f"no periods for schedule {schedule!r}")
    zone = ZoneInfo(timezone)
    local = datetime.fromtimestamp(at_ms / 1000, tz=zone).date()
    first = _first_day(schedule, local)
    return Period(_midnight(first, zone), _midnight(_next_day(schedule, first), zone))


def month_period(year: int, month: int, timezone: str) -> Period:
    """The calendar month ``year-month`` of the zone."""
    zone = ZoneInfo(timezone)
    first = date(year, month, 1)
    return Period(_midnight(first, zone), _midnight(_next_day("monthly", first), zone))


def latest_due(schedule: str, timezone: str, now_ms: int) -> Period:
    """The latest whole period whose end lies at least ``SETTLE_MS`` before ``now_ms``."""
    current = period_containing(schedule, timezone, now_ms - SETTLE_MS)
    return period_containing(schedule, timezone, current.start_ms - 1)


def next_due_ms(schedule: str, timezone: str, now_ms: int) -> int | None:
    """When the next period after ``latest_due`` becomes due [epoch ms] (None: unscheduled)."""
    if schedule == "none":
        return None
    current = period_containing(schedule, timezone, now_ms - SETTLE_MS)
    return current.end_ms + SETTLE_MS


def last_days(days: int, timezone: str, now_ms: int) -> Period:
    """The ``days`` whole local days before today's local midnight."""
    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(now_ms / 1000, tz=zone).date()
    return Period(_midnight(today - timedelta(days=days), zone), _midnight(today, zone))
