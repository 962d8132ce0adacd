"""Events across local midnight: baselined day by day, one day-of adjustment for the event.
Expected values are worked out in the comments from ``loads.day_number`` (load = day of month)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from tests.analytics.cbl.loads import day_number, make_load

from gridpilot.analytics.cbl import RATIO, Adjustment, CblMethod, PoolRule, customer_baseline
from gridpilot.analytics.cbl.result import local_day_parts

LA, ROME = "America/Los_Angeles", "Europe/Rome"


def ten_of_ten(adjustment: Adjustment) -> CblMethod:
    return CblMethod(
        name="test",
        title="test",
        weekday=PoolRule(10, 10, select="all"),
        weekend=PoolRule(2, 2, select="all"),
        adjustment=adjustment,
    )


def test_an_evening_event_takes_each_days_matched_days_and_the_events_one_ratio():
    load = make_load(day_number, "2026-03-02", "2026-03-27", timezone=LA)
    result = customer_baseline(
        load,
        event_start="2026-03-25 23:00-07:00",  # Wednesday 23:00 to Thursday 01:00
        event_end="2026-03-26 01:00-07:00",
        timezone=LA,
        method=ten_of_ten(Adjustment(RATIO, window_start_h=4, window_end_h=1, cap=0.2)),
        holidays=[],
    )
    # Wednesday's part: the 10 weekdays before the 25th: 24 23 20 19 18 17 16 13 12 11 -> 17.3.
    # Thursday's part: before the 26th: 25 24 23 20 19 18 17 16 13 12 -> 18.7.
    assert result.unadjusted_kw.to_numpy() == pytest.approx([17.3] * 4 + [18.7] * 4)
    # the window 19:00-22:00 on the 25th: 25 kW against 17.3 -> 1.445, capped at 1.2, and the
    # same factor on Thursday's part
    assert result.adjustment["applied"] == pytest.approx(1.2)
    assert result.baseline_kw.to_numpy() == pytest.approx([20.76] * 4 + [22.44] * 4)
    assert list(result.baseline_kw.index) == list(
        pd.date_range("2026-03-26 06:00Z", "2026-03-26 08:00Z", freq="15min", inclusive="left")
    )
    days = result.record()["parameters"]["days"]
    assert [d["day"] for d in days] == ["2026-03-25", "2026-03-26"]
    assert days[1]["selected_days"][0] == "2026-03-12"


def test_parts_follow_local_midnight_on_the_night_clocks_go_back():
    # Rome, 24-25 October 2026: 23:00 CEST (21:00 UTC) to 03:00 CET (02:00 UTC); the second
    # part, 00:00-03:00 local, lasts 4 h because 02:00-03:00 happens twice
    parts = local_day_parts(
        "2026-10-24 21:00Z", "2026-10-25 02:00Z", step_minutes=15, timezone=ROME
    )
    stamp = pd.Timestamp
    assert parts == [
        (stamp("2026-10-24 21:00Z"), stamp("2026-10-24 22:00Z")),
        (stamp("2026-10-24 22:00Z"), stamp("2026-10-25 02:00Z")),
    ]
    one_day = local_day_parts(
        "2026-10-24 08:00Z", "2026-10-24 09:00Z", step_minutes=15, timezone=ROME
    )
    assert one_day == [(stamp("2026-10-24 08:00Z"), stamp("2026-10-24 09:00Z"))]
    assert dt.date(2026, 10, 25).weekday() == 6  # a Sunday: the last of October
