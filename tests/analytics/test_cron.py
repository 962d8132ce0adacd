"""Cron occurrences in a time zone (pure): the Europe/Rome clock changes of 2026 worked by hand.

29 March 2026: 02:00 CET (+01:00) jumps to 03:00 CEST (+02:00); 25 October 2026: 03:00 CEST
falls back to 02:00 CET, so 02:00-02:59 happens twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridpilot.analytics.cron import CronInvalid, between, check_cron, latest_until, next_after

ROME = "Europe/Rome"


def utc(*fields: int) -> int:
    return int(datetime(*fields, tzinfo=UTC).timestamp() * 1000)


def test_daily_0230_across_the_spring_change_runs_at_0300_on_the_missing_hour():
    got = between("30 2 * * *", ROME, utc(2026, 3, 27, 12), utc(2026, 3, 31, 12), 10)
    assert got == [
        utc(2026, 3, 28, 1, 30),  # 02:30 +01:00
        utc(2026, 3, 29, 1, 0),  # 02:30 does not exist: 03:00 +02:00, right after the jump
        utc(2026, 3, 30, 0, 30),  # 02:30 +02:00
        utc(2026, 3, 31, 0, 30),
    ]


def test_daily_0230_across_the_autumn_change_runs_once_the_first_time():
    got = between("30 2 * * *", ROME, utc(2026, 10, 23, 12), utc(2026, 10, 27, 12), 10)
    assert got == [
        utc(2026, 10, 24, 0, 30),  # 02:30 +02:00
        utc(2026, 10, 25, 0, 30),  # 02:30 +02:00, the first of the two; not 01:30Z again
        utc(2026, 10, 26, 1, 30),  # 02:30 +01:00
        utc(2026, 10, 27, 1, 30),
    ]


def test_daily_0130_is_untouched_by_the_autumn_change_in_rome():
    got = between("30 1 * * *", ROME, utc(2026, 10, 24, 12), utc(2026, 10, 26, 12), 10)
    assert got == [utc(2026, 10, 24, 23, 30), utc(2026, 10, 26, 0, 30)]


def test_every_30_min_runs_in_both_repeated_hours():
    got = between("*/30 2 * * *", ROME, utc(2026, 10, 25, 0), utc(2026, 10, 25, 3), 10)
    assert got == [
        utc(2026, 10, 25, 0, 0),
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 0),
        utc(2026, 10, 25, 1, 30),
    ]


def test_next_after_is_strictly_after_and_latest_until_is_the_last_missed():
    assert next_after("0 12 * * *", "UTC", utc(2026, 1, 1, 12)) == utc(2026, 1, 2, 12)
    assert latest_until("0 12 * * *", "UTC", utc(2026, 1, 1, 12), utc(2026, 1, 5, 11)) == utc(
        2026, 1, 4, 12
    )


def test_the_latest_missed_occurrence_across_the_spring_change():
    # down from 28 March 01:30 UTC to 29 March 05:00 UTC: the latest missed is 03:00 +02:00
    assert latest_until("30 2 * * *", ROME, utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 5)) == utc(
        2026, 3, 29, 1
    )
    # a year of every-minute occurrences missed: the latest, at once
    assert latest_until("* * * * *", "UTC", utc(2026, 1, 1), utc(2027, 1, 1, 0, 0, 30)) == utc(
        2027, 1, 1
    )


@pytest.mark.parametrize(
    "expression",
    ["61 * * * *", "* * *", "* * * * * *", "a b c d e", "*/0 * * * *", "0 25 * * *", "0 0 30 2 *"],
)
def test_invalid_expressions_are_refused(expression):
    with pytest.raises(CronInvalid):
        check_cron(expression)


def test_valid_expressions_are_normalised():
    assert check_cron("  0  6 * * MON-FRI ") == "0 6 * * MON-FRI"
