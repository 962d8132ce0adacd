"""Weather regression, forecast as baseline, achieved reduction and placebo accuracy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.cbl import (
    CblResult,
    NotEnoughDays,
    event_performance,
    forecast_baseline,
    placebo_accuracy,
    placebo_windows,
    weather_baseline,
)
from gridpilot.core.errors import ValidationFailed

ROME = "Europe/Rome"


def summer(days: int = 40) -> tuple[pd.Series, pd.Series]:
    """Temperature 16-32 degC, warmest at 15:00 local, varying by day;
    load = 50 + 2 x max(0, T - 22) kW."""
    index = pd.date_range("2026-06-01 00:00+02:00", periods=days * 96, freq="15min")
    index = index.tz_convert("UTC")
    step = np.arange(len(index))
    daily = np.sin(2 * np.pi * (step / 96 - 0.375))
    temp = 24 + 6 * daily + 2 * np.sin(2 * np.pi * step / (96 * 7.3))
    load = 50 + 2 * np.maximum(0.0, temp - 22)
    return pd.Series(load, index=index), pd.Series(temp, index=index)


def test_the_weather_regression_recovers_a_noise_free_cooling_load():
    load, temp = summer()
    event_day = pd.Timestamp("2026-07-08 14:00+02:00").tz_convert("UTC")
    temp[event_day : event_day + pd.Timedelta(hours=2)] = 30.0  # a hot afternoon
    result = weather_baseline(
        load,
        temp,
        event_start="2026-07-08 14:00+02:00",
        event_end="2026-07-08 16:00+02:00",
        timezone=ROME,
        holiday_country="IT",
    )
    assert result.method == "weather_regression"
    assert result.baseline_kw.to_numpy() == pytest.approx([66.0] * 8)  # 50 + 2 x (30 - 22)


def test_the_weather_regression_needs_enough_days():
    load, temp = summer(days=8)
    with pytest.raises(NotEnoughDays):
        weather_baseline(
            load,
            temp,
            event_start="2026-06-08 14:00+02:00",
            event_end="2026-06-08 16:00+02:00",
            timezone=ROME,
            holidays=[],
        )


def test_a_forecast_baseline_takes_the_forecast_over_the_event():
    index = pd.date_range("2026-07-08 00:00", periods=96, freq="15min", tz="UTC")
    forecast = pd.Series(np.arange(96.0), index=index)
    result = forecast_baseline(
        forecast,
        event_start="2026-07-08 14:00+02:00",  # 12:00 UTC = row 48
        event_end="2026-07-08 15:00+02:00",
        timezone=ROME,
        issued_at="2026-07-07 18:00+02:00",
        model="gridpilot forecast",
    )
    assert result.baseline_kw.to_numpy() == pytest.approx([48.0, 49.0, 50.0, 51.0])
    assert result.record()["method"] == "forecast"
    assert result.record()["parameters"]["issued_at"].startswith("2026-07-07T18:00")


def test_a_forecast_issued_after_the_event_started_is_refused():
    index = pd.date_range("2026-07-08 00:00", periods=96, freq="15min", tz="UTC")
    with pytest.raises(ValidationFailed, match="before the event"):
        forecast_baseline(
            pd.Series(1.0, index=index),
            event_start="2026-07-08 14:00+02:00",
            event_end="2026-07-08 15:00+02:00",
            timezone=ROME,
            issued_at="2026-07-08 14:30+02:00",
        )


def test_reduction_is_baseline_minus_metered_and_performance_is_against_the_target():
    index = pd.date_range("2026-07-08 12:00", periods=4, freq="15min", tz="UTC")
    baseline = pd.Series([100.0, 100.0, 100.0, 100.0], index=index)
    metered = pd.Series([80.0, 70.0, 90.0], index=index[:3])  # the last reading is missing
    perf = event_performance(baseline, metered, target_kw=40.0, step_minutes=15)
    assert perf.reduction_kw.iloc[:3].tolist() == [20.0, 30.0, 10.0]
    assert perf.energy_kwh == pytest.approx(15.0)  # 60 kW x 0.25 h
    assert perf.mean_reduction_kw == pytest.approx(20.0)
    assert perf.performance_pct == pytest.approx(50.0)
    assert perf.missing_intervals == 1


def test_consumption_above_the_baseline_counts_against_the_event():
    index = pd.date_range("2026-07-08 12:00", periods=2, freq="15min", tz="UTC")
    perf = event_performance(
        pd.Series([100.0, 100.0], index=index),
        pd.Series([60.0, 120.0], index=index),
        target_kw=40.0,
        step_minutes=15,
    )
    assert perf.mean_reduction_kw == pytest.approx(10.0)  # (40 - 20) / 2
    assert perf.performance_pct == pytest.approx(25.0)


def _result(index: pd.DatetimeIndex, values: list[float]) -> CblResult:
    series = pd.Series(values, index=index)
    return CblResult("m", {}, series, series)


def test_placebo_bias_and_cv_rmse_follow_ashrae_guideline_14_with_no_fitted_parameter():
    day1 = pd.date_range("2026-07-06 12:00", periods=2, freq="15min", tz="UTC")
    day2 = pd.date_range("2026-07-07 12:00", periods=2, freq="15min", tz="UTC")
    actual = pd.Series([100.0, 100.0, 50.0, 50.0], index=day1.append(day2))
    acc = placebo_accuracy("m", actual, [_result(day1, [110.0, 90.0]), _result(day2, [60.0, 60.0])])
    # ybar = 75; baseline - actual = 10, -10, 10, 10: bias = 100 x 20 / (4 x 75)
    assert acc.bias_pct == pytest.approx(100 * 20 / 300)
    assert acc.cv_rmse_pct == pytest.approx(100 * 10 / 75)  # sqrt(400 / 4) = 10
    assert (acc.days, acc.intervals) == (2, 4)


def test_placebo_windows_are_local_times():
    ((start, end),) = placebo_windows(
        [dt.date(2026, 3, 29)], start=dt.time(1), end=dt.time(4), timezone=ROME
    )
    assert (start, end) == (
        pd.Timestamp("2026-03-29 00:00", tz="UTC"),
        pd.Timestamp("2026-03-29 02:00", tz="UTC"),
    )


def test_the_weather_regression_finds_the_building_s_balance_point():
    """A heating load that starts below 17 degC (not the default 15 degC): asked to search,
    the base found is 17 and the baseline exact; the default 15 degC misses a cold afternoon."""
    index = pd.date_range("2026-10-01 00:00+02:00", periods=50 * 96, freq="15min")
    index = index.tz_convert("UTC")
    step = np.arange(len(index))
    temp = 14 + 5 * np.sin(2 * np.pi * step / (96 * 9.1)) + 2 * np.sin(2 * np.pi * step / 96)
    load = pd.Series(40 + 5 * np.maximum(0.0, 17 - temp), index=index)
    temp = pd.Series(temp, index=index)
    start = pd.Timestamp("2026-11-18 14:00+01:00").tz_convert("UTC")
    temp[start : start + pd.Timedelta(minutes=105)] = 6.0  # a cold afternoon
    window = {"event_start": "2026-11-18 14:00+01:00", "event_end": "2026-11-18 16:00+01:00",
              "timezone": ROME, "holidays": []}  # fmt: skip
    result = weather_baseline(load, temp, heating_base_c=None, cooling_base_c=None, **window)
    assert result.parameters["heating_base_c"] == 17.0
    assert result.parameters["bases"] == "searched"
    assert result.baseline_kw.to_numpy() == pytest.approx([40 + 5 * 11] * 8)
    fixed = weather_baseline(load, temp, **window)  # the default bases, 15 and 22 degC
    assert fixed.parameters["bases"] == "given"
    assert abs(fixed.baseline_kw.mean() - 95.0) > 1.0
