"""Report periods in a site's time zone, against hand-counted hours (no database)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gridpilot.reports.periods import (
    SETTLE_MS,
    latest_due,
    month_period,
    next_due_ms,
    period_containing,
)

ROME = ZoneInfo("Europe/Rome")


def ms(*fields: int, zone: ZoneInfo = ROME) -> int:
    return int(datetime(*fields, tzinfo=zone).timestamp() * 1000)


def test_a_march_month_in_rome_lasts_743_hours_and_an_october_one_745():
    march = month_period(2026, 3, "Europe/Rome")
    assert march.hours == 743.0  # 31 x 24 - 1 (clocks forward on 29 March)
    assert march.start_ms == ms(2026, 3, 1) and march.end_ms == ms(2026, 4, 1)
    assert month_period(2026, 10, "Europe/Rome").hours == 745.0
    assert month_period(2026, 3, "UTC").hours == 744.0


def test_the_monthly_run_at_the_start_of_april_reports_march():
    now = ms(2026, 4, 1, 0, 20)
    assert latest_due("monthly", "Europe/Rome", now) == month_period(2026, 3, "Europe/Rome")
    # until the settling time has passed, February is still the latest due month
    early = ms(2026, 4, 1, 0, 10)
    assert latest_due("monthly", "Europe/Rome", early) == month_period(2026, 2, "Europe/Rome")
    assert next_due_ms("monthly", "Europe/Rome", now) == ms(2026, 5, 1) + SETTLE_MS


def test_weeks_start_on_monday_and_days_follow_the_clock_change():
    week = period_containing("weekly", "Europe/Rome", ms(2026, 3, 29, 12))  # a Sunday
    assert week.start_ms == ms(2026, 3, 23) and week.end_ms == ms(2026, 3, 30)
    assert week.hours == 167.0
    day = period_containing("daily", "Europe/Rome", ms(2026, 3, 29, 1))
    assert day.hours == 23.0
    assert period_containing("daily", "Europe/Rome", ms(2026, 10, 25, 12)).hours == 25.0


def test_unscheduled_definitions_have_no_due_time():
    assert next_due_ms("none", "UTC", 0) is None
    with pytest.raises(ValueError):
        period_containing("none", "UTC", 0)
