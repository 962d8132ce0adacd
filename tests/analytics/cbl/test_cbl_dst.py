"""DST days in Europe/Rome: days are local days, slots are local times of day (92 quarters on
29 March 2026, 100 on 25 October 2026)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.analytics.cbl.loads import make_load

from gridpilot.analytics.cbl import day_profiles, event_window
from gridpilot.analytics.cbl.matching import customer_baseline

ROME = "Europe/Rome"


def ten_per_hour(_day: dt.date, hour: float) -> float:
    """10 kW per local hour of the day: 90 kW from 09:00 to 10:00."""
    return 10.0 * int(hour)


def test_the_spring_day_has_92_quarters_and_no_reading_at_two_oclock():
    profiles = day_profiles(
        make_load(ten_per_hour, "2026-03-28", "2026-03-31", timezone=ROME), timezone=ROME
    )
    row = profiles.values[profiles.row(dt.date(2026, 3, 29))]
    assert np.isnan(row[8:12]).all()  # 02:00-03:00 does not exist
    assert row[12] == 30.0 and row[36] == 90.0  # 03:00 and 09:00 local
    assert profiles.complete.all()  # 92 readings are all that day has


def test_the_autumn_day_averages_the_repeated_hour_into_one_slot():
    index = pd.date_range("2026-10-24 22:00", "2026-10-26 23:00", freq="15min", tz="UTC")
    # 10 kW the first time 02:00-03:00 local comes round (00:00-01:00 UTC, still CEST),
    # 30 kW the second time (01:00-02:00 UTC, CET); 5 kW otherwise.
    utc_hour = np.asarray(index.hour)
    on_day = np.asarray(index.date) == dt.date(2026, 10, 25)
    kw = np.where(on_day & (utc_hour == 0), 10.0, np.where(on_day & (utc_hour == 1), 30.0, 5.0))
    profiles = day_profiles(pd.Series(kw, index=index), timezone=ROME)
    row = profiles.values[profiles.row(dt.date(2026, 10, 25))]
    assert row[8:12] == pytest.approx([20.0] * 4)  # (10 + 30) / 2
    assert profiles.complete[profiles.row(dt.date(2026, 10, 25))]  # 100 readings


def test_an_event_across_the_missing_hour_has_8_quarters_and_the_repeated_one_16():
    spring = event_window(
        "2026-03-29 01:00+01:00", "2026-03-29 04:00+02:00", step_minutes=15, timezone=ROME
    )
    assert len(spring.index) == 8
    assert spring.slots.tolist() == [4, 5, 6, 7, 12, 13, 14, 15]
    autumn = event_window(
        "2026-10-25 01:00+02:00", "2026-10-25 04:00+01:00", step_minutes=15, timezone=ROME
    )
    assert len(autumn.index) == 16
    assert autumn.slots.tolist() == [4, 5, 6, 7, 8, 9, 10, 11, 8, 9, 10, 11, 12, 13, 14, 15]


def test_days_either_side_of_the_change_match_by_local_time():
    # A Sunday event on 5 April: the 4 most recent weekend/holiday days are Sat 4 April (CEST),
    # Sun 29 March (the DST day), Sat 28 and Sun 22 March (CET). All hold 90 kW at 09:00 local,
    # so the baseline is 90 kW; matching by UTC hour would mix 80 and 90 kW.
    load = make_load(ten_per_hour, "2026-03-01", "2026-04-06", timezone=ROME)
    result = customer_baseline(
        load,
        event_start="2026-04-05 09:00+02:00",
        event_end="2026-04-05 10:00+02:00",
        timezone=ROME,
        method="caiso_10in10",
        holiday_country="IT",
    )
    assert dt.date(2026, 3, 29) in result.selected_days
    assert result.unadjusted_kw.to_numpy() == pytest.approx([90.0] * 4)


def test_hourly_data_works_the_same():
    load = make_load(ten_per_hour, "2026-03-01", "2026-04-06", timezone=ROME, step="1h")
    result = customer_baseline(
        load,
        event_start="2026-04-05 09:00+02:00",
        event_end="2026-04-05 12:00+02:00",
        timezone=ROME,
        method="caiso_10in10",
        holiday_country="IT",
    )
    assert result.unadjusted_kw.to_numpy() == pytest.approx([90.0, 100.0, 110.0])
