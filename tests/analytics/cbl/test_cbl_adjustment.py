"""Day-of adjustment: ratio vs additive, the cap, and the window that skips the hour before."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from tests.analytics.cbl.loads import make_load

from gridpilot.analytics.cbl import (
    ADDITIVE,
    RATIO,
    Adjustment,
    CblMethod,
    PoolRule,
    customer_baseline,
)
from gridpilot.analytics.cbl.adjustment import adjust
from gridpilot.core.errors import ValidationFailed

LA = "America/Los_Angeles"
EVENT_DAY = dt.date(2026, 3, 25)


def shaped(morning_on_event_day: float, hour_before: float = 500.0):
    """History: 50 kW before 13:00, 100 kW from 13:00. Event day (25 March): the given load from
    10:00 to 13:00 (the adjustment window), ``hour_before`` from 13:00 to 14:00."""

    def kw(day: dt.date, hour: float) -> float:
        if day == EVENT_DAY and 10 <= hour < 13:
            return morning_on_event_day
        if day == EVENT_DAY and 13 <= hour < 14:
            return hour_before
        return 50.0 if hour < 13 else 100.0

    return make_load(kw, "2026-03-02", "2026-03-26", timezone=LA)


def method(kind: str, cap: float | None) -> CblMethod:
    return CblMethod(
        name=f"{kind}-{cap}",
        title="test",
        weekday=PoolRule(10, 10, select="all"),
        weekend=PoolRule(4, 4, select="all"),
        adjustment=Adjustment(kind, window_start_h=4, window_end_h=1, cap=cap),
    )


def baseline(load, m: CblMethod) -> np.ndarray:
    result = customer_baseline(
        load,
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method=m,
        holidays=[],
    )
    return result.baseline_kw.to_numpy()


def test_ratio_scales_and_additive_shifts_the_matched_days():
    load = shaped(55.0)  # the window is 10 % above the matched days' 50 kW, i.e. +5 kW
    assert baseline(load, method(RATIO, 0.2)) == pytest.approx([110.0] * 16)  # 100 x 55/50
    assert baseline(load, method(ADDITIVE, 0.2)) == pytest.approx([105.0] * 16)  # 100 + 5


def test_the_hour_just_before_the_event_does_not_count():
    # 500 kW in 13-14 h on the event day would move any window that included it.
    assert baseline(shaped(55.0, hour_before=500.0), method(RATIO, 0.2)) == pytest.approx(
        baseline(shaped(55.0, hour_before=0.0), method(RATIO, 0.2))
    )


def test_the_cap_limits_the_adjustment_to_20_percent_both_ways():
    high, low = shaped(75.0), shaped(20.0)  # +50 % and -60 % in the window
    assert baseline(high, method(RATIO, 0.2)) == pytest.approx([120.0] * 16)
    assert baseline(low, method(RATIO, 0.2)) == pytest.approx([80.0] * 16)
    assert baseline(high, method(ADDITIVE, 0.2)) == pytest.approx([110.0] * 16)  # +-20 % of 50
    assert baseline(high, method(RATIO, None)) == pytest.approx([150.0] * 16)
    assert baseline(high, method(ADDITIVE, None)) == pytest.approx([125.0] * 16)


def test_the_caiso_preset_caps_its_load_point_adjustment_at_20_percent():
    result = customer_baseline(
        shaped(75.0),
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method="caiso_10in10",
        holidays=[],
    )
    assert result.adjustment["raw"] == pytest.approx(1.5)
    assert result.adjustment["applied"] == pytest.approx(1.2)
    assert result.adjustment["capped"] is True
    assert result.unadjusted_kw.to_numpy() == pytest.approx([100.0] * 16)
    assert result.baseline_kw.to_numpy() == pytest.approx([120.0] * 16)


def test_an_additive_adjustment_never_makes_the_baseline_negative():
    adjusted, info = adjust(
        Adjustment(ADDITIVE, cap=None), np.array([5.0, 30.0]), np.array([0.0]), np.array([20.0])
    )
    assert info["applied"] == pytest.approx(-20.0)
    assert adjusted == pytest.approx([0.0, 10.0])


def test_without_readings_in_the_window_the_baseline_is_left_unadjusted():
    adjusted, info = adjust(
        Adjustment(RATIO), np.array([10.0]), np.array([np.nan]), np.array([20.0])
    )
    assert adjusted == pytest.approx([10.0])
    assert info["applied"] is None and "no readings" in info["note"]


@pytest.mark.parametrize(
    "kwargs",
    [{"kind": "scaled"}, {"window_start_h": 1, "window_end_h": 2}, {"kind": RATIO, "cap": 1.0}],
)
def test_an_impossible_adjustment_is_refused(kwargs):
    with pytest.raises(ValidationFailed):
        Adjustment(**kwargs)
