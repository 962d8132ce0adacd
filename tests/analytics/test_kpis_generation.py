"""Generation KPIs against hand-computed values (IEC 61724-1 yields, time-based availability)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics import kpis_generation as gen

HOUR_MS = 3_600_000


def hourly(values) -> pd.Series:
    index = pd.date_range("2026-06-01T00:00Z", periods=len(values), freq="1h", tz="UTC")
    return pd.Series(values, index=index, dtype="float64")


def test_capacity_factor_over_calendar_hours_counts_missing_data_as_zero():
    energy = hourly([50.0, 100.0, np.nan, 0.0])  # kWh per hour of a 100 kW plant
    figure = gen.capacity_factor(energy, 100.0, HOUR_MS)
    assert figure.value == pytest.approx(150.0 / (100.0 * 4))  # the silent hour counts as 0
    assert figure.coverage == 0.75
    assert figure.detail["basis"] == "calendar"
    assert figure.detail["hours_without_data"] == pytest.approx(1.0)
    assert figure.detail["missing_counted_as_zero"] is True
    assert gen.capacity_factor(energy, None, HOUR_MS).value is None


def test_a_pv_logger_silent_at_night_does_not_double_the_capacity_factor():
    # a 10 kWp plant over one day: 5 kW for the 12 daylight hours, nothing logged at night
    day = [np.nan] * 6 + [5.0] * 12 + [np.nan] * 6
    figure = gen.capacity_factor(hourly(day), 10.0, HOUR_MS)
    assert figure.value == pytest.approx(60.0 / (10.0 * 24))  # 0.25, not 0.5
    assert figure.coverage == pytest.approx(0.5)
    assert figure.detail["hours_with_data"] == pytest.approx(12.0)


def test_specific_yield_is_energy_per_kwp():
    figure = gen.specific_yield(hourly([10.0, 20.0, 30.0]), 12.0)
    assert figure.value == pytest.approx(5.0)
    assert figure.unit == "kWh/kWp"


def test_performance_ratio_against_irradiance():
    # 10 kWp; 2 h at 800 W/m2 and 1 h at 500 W/m2: Y_r = 2.1 h, expected 21 kWh; measured 16.8
    energy = hourly([6.8, 6.4, 3.6, np.nan])
    irradiance = hourly([800.0, 800.0, 500.0, 900.0])
    figure = gen.performance_ratio(energy, irradiance, 10.0, HOUR_MS)
    assert figure.value == pytest.approx(16.8 / 21.0)
    assert figure.detail["expected_kwh"] == pytest.approx(21.0)
    assert figure.coverage == 0.75


def test_availability_with_and_without_a_resource():
    power = hourly([0.0, 5.0, 0.0, 4.0, np.nan, 0.0])
    irradiance = hourly([0.0, 600.0, 700.0, 300.0, 500.0, 20.0])
    # expected (irradiance > 50, power known): hours 1, 2, 3 -> producing in 1 and 3
    figure = gen.availability(power, irradiance)
    assert figure.value == pytest.approx(2 / 3)
    assert figure.detail["basis"] == "resource"
    data_only = gen.availability(power)
    assert data_only.value == pytest.approx(5 / 6)
    assert data_only.detail["basis"] == "data"
