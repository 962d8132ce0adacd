"""Daily local windows as step ranges, across the spring DST change (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

from gridpilot.flex.windows import occurrences, window_minutes

HOUR_MS = 3_600_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_window_lengths():
    assert window_minutes("22:00", "06:00") == 480
    assert window_minutes("08:00", "12:30") == 270
    assert window_minutes("08:00", "08:00") == 1440
    assert window_minutes("00:00", "24:00") == 1440


def test_night_window_over_the_spring_dst_change_in_rome():
    # 28 Mar 2026 12:00 UTC is 13:00 CET; clocks go to CEST at 02:00 on 29 Mar
    found, under_way = occurrences(
        start_ms=ms("2026-03-28T12:00"), steps=48, step_ms=HOUR_MS, timezone="Europe/Rome",
        window_start="22:00", window_end="06:00",
    )  # fmt: skip
    assert under_way == 0
    # 22:00 CET = 21:00 UTC (step 9) to 06:00 CEST = 04:00 UTC (step 16): 7 h that night
    # 22:00 CEST = 20:00 UTC (step 32) to 06:00 CEST = 04:00 UTC (step 40): 8 h
    assert [(o.first_step, o.end_step) for o in found] == [(9, 16), (32, 40)]


def test_a_window_under_way_is_counted_not_planned():
    found, under_way = occurrences(
        start_ms=ms("2026-06-01T09:00"), steps=96, step_ms=15 * 60_000, timezone="UTC",
        window_start="08:00", window_end="12:00",
    )  # fmt: skip
    assert under_way == 1
    assert [(o.first_step, o.end_step) for o in found] == [(92, 108)]  # next day, past the end


def test_steps_only_inside_the_window():
    # a window from 10:10 to 11:05 holds the quarters 10:15, 10:30 and 10:45 only
    found, _ = occurrences(
        start_ms=ms("2026-06-01T10:00"), steps=8, step_ms=15 * 60_000, timezone="UTC",
        window_start="10:10", window_end="11:05",
    )  # fmt: skip
    assert [(o.first_step, o.end_step) for o in found] == [(1, 4)]


def test_a_window_opening_in_the_last_step_is_left_out():
    # tomorrow's 09:50 lies before the horizon's end (10:00) but no whole step follows it
    found, under_way = occurrences(
        start_ms=ms("2026-06-01T10:00"), steps=96, step_ms=15 * 60_000, timezone="UTC",
        window_start="09:50", window_end="12:00",
    )  # fmt: skip
    assert found == [] and under_way == 1
