"""Energy KPIs against hand-computed values: energy, SEC, peak, load factor, carbon, contract,
self-consumption, and how gaps show in coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics import kpis
from gridpilot.core.errors import ValidationFailed

QUARTER_MS = 15 * 60_000


def series(values, start="2026-01-05T00:00Z", freq="15min") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq=freq, tz="UTC")
    return pd.Series(values, index=index, dtype="float64")


def test_interval_energy_and_back():
    power = series([4.0, 8.0, np.nan, 2.0])
    energy = kpis.interval_energy_kwh(power, QUARTER_MS)
    assert list(energy.iloc[[0, 1, 3]]) == [1.0, 2.0, 0.5]
    assert np.isnan(energy.iloc[2])
    assert list(kpis.average_power_kw(energy, QUARTER_MS).iloc[[0, 1]]) == [4.0, 8.0]
    with pytest.raises(ValidationFailed):
        kpis.interval_energy_kwh(power, 0)


def test_total_energy_sums_known_intervals_and_reports_the_gap():
    figure = kpis.total_energy(series([1.0, 2.0, np.nan, 3.0]))
    assert figure.value == 6.0
    assert figure.unit == "kWh"
    assert figure.coverage == 0.75
    empty = kpis.total_energy(series([np.nan, np.nan]))
    assert empty.value is None and empty.coverage == 0.0


def test_sec_is_energy_over_units_where_both_are_known():
    energy = series([10.0, 10.0, 10.0, np.nan])
    units = series([5.0, 5.0, np.nan, 7.0])
    figure = kpis.specific_energy_consumption(energy, units)
    assert figure.value == pytest.approx(20.0 / 10.0)
    assert figure.unit == "kWh/unit"
    assert figure.coverage == 0.5
    assert kpis.specific_energy_consumption(energy, series([0.0] * 4)).value is None


def test_peak_demand_is_the_largest_15_minute_average_not_the_largest_sample():
    # one-minute power: a 1-minute spike of 100 kW in a quarter that otherwise draws 10 kW
    minutes = [10.0] * 30
    minutes[3] = 100.0
    power = series(minutes, freq="1min")
    demand = kpis.demand_series_kw(power, QUARTER_MS)
    assert list(demand) == pytest.approx([(14 * 10 + 100) / 15, 10.0])
    peak = kpis.peak_demand(demand)
    assert peak.value == pytest.approx(16.0)
    assert peak.detail["at"] == pd.Timestamp("2026-01-05T00:00Z")
    with pytest.raises(ValidationFailed):
        kpis.demand_series_kw(series([1.0, 2.0], freq="7min"), QUARTER_MS)


def test_load_factor_is_average_over_peak():
    figure = kpis.load_factor(series([2.0, 4.0, 6.0, 8.0, np.nan]))
    assert figure.value == pytest.approx(5.0 / 8.0)
    assert figure.coverage == pytest.approx(0.8)
    assert kpis.load_factor(series([0.0, 0.0])).value is None


def test_carbon_with_a_constant_and_a_time_varying_factor():
    energy = series([10.0, 20.0, np.nan, 30.0])
    constant = kpis.carbon_kg(energy, 0.45, 0.45)
    assert constant.value == pytest.approx(60.0 * 0.45)
    assert constant.coverage == 0.75
    factors = series([0.2, np.nan, 0.9, 0.5])  # the missing factor falls back to the site's 0.4
    varying = kpis.carbon_kg(energy, factors, 0.4)
    assert varying.value == pytest.approx(10 * 0.2 + 20 * 0.4 + 30 * 0.5)
    assert varying.detail["varying_share"] == pytest.approx(40.0 / 60.0)


def test_contract_utilisation():
    peak = kpis.Figure(450.0, "kW", 1.0)
    assert kpis.contract_utilisation(peak, 500.0).value == pytest.approx(0.9)
    assert kpis.contract_utilisation(peak, None).value is None
    assert kpis.contract_utilisation(kpis.Figure(None, "kW", 0.0), 500.0).value is None


def test_self_consumption_and_self_sufficiency_per_interval():
    load = series([4.0, 4.0, 4.0, 4.0, 4.0])
    generation = series([0.0, 2.0, 6.0, 10.0, np.nan])
    consumption, sufficiency = kpis.self_consumption(load, generation)
    # per interval min(load, gen) = 0, 2, 4, 4 -> 10 kWh; generation 18; load (4 intervals) 16
    assert consumption.value == pytest.approx(10.0 / 18.0)
    assert sufficiency.value == pytest.approx(10.0 / 16.0)
    assert consumption.coverage == pytest.approx(0.8)
    none, _ = kpis.self_consumption(load, series([0.0] * 5))
    assert none.value is None
