"""Day matching X-of-Y: exclusions extend the look-back, pools, highest-X, low-usage days, and the
clear error when the look-back is too short. Expected values are worked out in the comments from
the load functions of ``loads.py``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from tests.analytics.cbl.loads import by_day, day_number, make_load

from gridpilot.analytics.cbl import (
    NONE,
    Adjustment,
    CblMethod,
    NotEnoughDays,
    PoolRule,
    customer_baseline,
)

LA = "America/Los_Angeles"
ROME = "Europe/Rome"
D = dt.date


def plain(weekday: PoolRule, weekend: PoolRule | None = None, **kw: object) -> CblMethod:
    """A method without adjustment, so the baseline is the matched days' average."""
    return CblMethod(
        name="test",
        title="test",
        weekday=weekday,
        weekend=weekend or PoolRule(2, 2, select="all"),
        adjustment=Adjustment(NONE),
        **kw,  # type: ignore[arg-type]
    )


def test_ten_in_ten_averages_the_ten_most_recent_weekdays_and_skips_excluded_ones():
    load = make_load(day_number, "2026-03-02", "2026-03-26", timezone=LA)
    result = customer_baseline(
        load,
        event_start="2026-03-25 14:00-07:00",  # a Wednesday
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method=plain(PoolRule(10, 10, select="all")),
        excluded_dates=[D(2026, 3, 24), D(2026, 3, 19)],  # a past event, an outage
        holidays=[],
    )
    # Weekdays back from the 24th without the 24th and 19th: 23 20 18 17 16 13 12 11 10 9.
    assert result.selected_days == [D(2026, 3, d) for d in (9, 10, 11, 12, 13, 16, 17, 18, 20, 23)]
    assert result.baseline_kw.to_numpy() == pytest.approx([14.9] * 16)  # 149 / 10, 4 h x 4
    assert result.skipped_days == {D(2026, 3, 24): "excluded", D(2026, 3, 19): "excluded"}


def test_highest_x_of_y_keeps_the_days_with_the_most_load_in_the_event_window():
    levels = {D(2026, 3, 24): 5, D(2026, 3, 23): 9, D(2026, 3, 20): 1, D(2026, 3, 19): 7}
    levels |= {D(2026, 3, 18): 3, D(2026, 3, 17): 100}  # the 17th is the 6th weekday back
    result = customer_baseline(
        make_load(by_day(levels), "2026-03-02", "2026-03-26", timezone=LA),
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 15:00-07:00",
        timezone=LA,
        method=plain(PoolRule(3, 5)),
        holidays=[],
    )
    # The 5 most recent weekdays hold 5, 9, 1, 7, 3 kW: the highest three are 9, 7, 5.
    assert result.selected_days == [D(2026, 3, 19), D(2026, 3, 23), D(2026, 3, 24)]
    assert result.baseline_kw.to_numpy() == pytest.approx([7.0] * 4)


def test_the_highest_days_are_ranked_by_the_event_window_not_the_whole_day():
    # Day A: 10 kW in 14-18 h, 0 otherwise; day B: 5 kW in 14-18 h but 50 kW the rest of the day.
    def kw(day: dt.date, hour: float) -> float:
        inside = 14 <= hour < 18
        if day == D(2026, 3, 24):
            return 10.0 if inside else 0.0
        if day == D(2026, 3, 23):
            return 5.0 if inside else 50.0
        return 1.0

    result = customer_baseline(
        make_load(kw, "2026-03-02", "2026-03-26", timezone=LA),
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method=plain(PoolRule(1, 2)),
        holidays=[],
    )
    assert result.selected_days == [D(2026, 3, 24)]


def test_a_holiday_event_uses_weekends_and_holidays_and_a_weekday_event_skips_the_holiday():
    load = make_load(day_number, "2026-05-01", "2026-06-04", timezone=ROME)
    method = plain(PoolRule(10, 10, select="all"), PoolRule(4, 4, select="all"))
    holiday = customer_baseline(
        load,
        event_start="2026-06-02 10:00+02:00",  # Festa della Repubblica, a Tuesday
        event_end="2026-06-02 12:00+02:00",
        timezone=ROME,
        method=method,
        holiday_country="IT",
    )
    # The 4 most recent weekend days: Sun 31, Sat 30, Sun 24, Sat 23 May -> (31+30+24+23)/4.
    assert holiday.parameters["pool"] == "weekend"
    assert holiday.selected_days == [D(2026, 5, d) for d in (23, 24, 30, 31)]
    assert holiday.baseline_kw.iloc[0] == pytest.approx(27.0)
    weekday = customer_baseline(
        load,
        event_start="2026-06-03 10:00+02:00",
        event_end="2026-06-03 12:00+02:00",
        timezone=ROME,
        method=method,
        holiday_country="IT",
    )
    # Weekdays back, the 2 June holiday left out: 1 June, then 29 28 27 26 25 22 21 20 19 May.
    assert D(2026, 6, 2) not in weekday.selected_days
    assert weekday.baseline_kw.iloc[0] == pytest.approx(21.8)  # 218 / 10


def test_like_day_matching_pairs_saturdays_with_saturdays():
    load = make_load(day_number, "2026-03-01", "2026-03-29", timezone=LA)
    result = customer_baseline(
        load,
        event_start="2026-03-28 10:00-07:00",  # a Saturday
        event_end="2026-03-28 11:00-07:00",
        timezone=LA,
        method=plain(PoolRule(5, 5, select="all"), PoolRule(3, 3, select="all"), like_days=True),
        holidays=[],
    )
    assert result.selected_days == [D(2026, 3, 7), D(2026, 3, 14), D(2026, 3, 21)]
    assert result.baseline_kw.iloc[0] == pytest.approx(14.0)  # (7 + 14 + 21) / 3


def test_a_low_usage_day_is_replaced_by_an_older_day():
    # The 5 most recent weekdays hold 100, 90, 10, 80, 70 kW (mean 70, 25 % = 17.5): the 10 kW
    # day is low-usage, so the look-back reaches the 6th weekday (95 kW). High 4 of
    # 100, 90, 80, 70, 95 = (100 + 95 + 90 + 80) / 4 = 91.25 (without the rule: 85).
    levels = {D(2026, 3, 24): 100, D(2026, 3, 23): 90, D(2026, 3, 20): 10}
    levels |= {D(2026, 3, 19): 80, D(2026, 3, 18): 70, D(2026, 3, 17): 95}
    result = customer_baseline(
        make_load(by_day(levels, default=1.0), "2026-03-02", "2026-03-26", timezone=LA),
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 16:00-07:00",
        timezone=LA,
        method="pjm_high4of5",
        holidays=[],
    )
    assert result.skipped_days[D(2026, 3, 20)] == "low_usage"
    assert result.unadjusted_kw.to_numpy() == pytest.approx([91.25] * 8)


def test_too_few_eligible_days_is_a_clear_error():
    load = make_load(day_number, "2026-03-16", "2026-03-26", timezone=LA)  # 7 weekdays
    with pytest.raises(NotEnoughDays) as caught:
        customer_baseline(
            load,
            event_start="2026-03-25 14:00-07:00",
            event_end="2026-03-25 18:00-07:00",
            timezone=LA,
            method="caiso_10in10",  # at least 5 weekdays
            excluded_dates=[D(2026, 3, 24), D(2026, 3, 23), D(2026, 3, 20)],
            holidays=[],
        )
    assert caught.value.code == "cbl_not_enough_days"
    assert "only 4 eligible weekday days" in caught.value.message
    assert "3 excluded" in caught.value.message


def test_a_day_with_missing_readings_is_passed_over():
    load = make_load(day_number, "2026-03-02", "2026-03-26", timezone=LA)
    gap = load.index.tz_convert(LA).date == D(2026, 3, 24)
    load = load[~(gap & (load.index.tz_convert(LA).hour == 3))]  # one hour missing on the 24th
    result = customer_baseline(
        load,
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method=plain(PoolRule(2, 2, select="all")),
        holidays=[],
    )
    assert result.skipped_days == {D(2026, 3, 24): "incomplete"}
    assert result.baseline_kw.iloc[0] == pytest.approx(21.5)  # (23 + 20) / 2


def test_the_record_names_the_method_its_parameters_and_days_as_json():
    load = make_load(day_number, "2026-03-02", "2026-03-26", timezone=LA)
    result = customer_baseline(
        load,
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method="caiso_10in10",
        holidays=[],
    )
    record = json.loads(json.dumps(result.record()))
    assert record["method"] == "caiso_10in10"
    assert record["parameters"]["weekday"]["y"] == 10
    assert record["parameters"]["adjustment"]["cap"] == 0.2
    assert record["selected_days"][-1] == "2026-03-24"
    assert "CAISO" in record["source"]


def test_nyiso_starts_its_window_two_days_before_the_event():
    load = make_load(day_number, "2026-03-02", "2026-03-26", timezone=LA)
    result = customer_baseline(
        load,
        event_start="2026-03-25 14:00-07:00",
        event_end="2026-03-25 18:00-07:00",
        timezone=LA,
        method="nyiso_high5of10",
        holidays=[],
    )
    # The 10 weekdays from the 23rd back (the 24th is not used): 23 20 19 18 17 16 13 12 11 10;
    # the highest 5 (load = day of the month) are 23, 20, 19, 18 and 17.
    assert result.eligible_days[0] == D(2026, 3, 23)
    assert result.selected_days == [D(2026, 3, d) for d in (17, 18, 19, 20, 23)]
    assert result.unadjusted_kw.iloc[0] == pytest.approx(19.4)  # 97 / 5


def test_an_adjustment_window_before_midnight_leaves_the_baseline_unadjusted():
    load = make_load(day_number, "2026-03-02", "2026-03-26", timezone=LA)
    result = customer_baseline(
        load,
        event_start="2026-03-25 01:00-07:00",  # the window would be 21:00-24:00 the day before
        event_end="2026-03-25 02:00-07:00",
        timezone=LA,
        method="caiso_10in10",
        holidays=[],
    )
    assert result.adjustment["applied"] is None
    assert "before the event's local day" in result.adjustment["note"]
    assert result.baseline_kw.equals(result.unadjusted_kw.rename("baseline_kw"))
