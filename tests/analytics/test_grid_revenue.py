"""Grid revenue = exported energy x export price, against hand-computed amounts: flat and
time-of-use export prices, a tariff version change mid-period, no export price (0 with a note),
energy before the first tariff, local time across DST, Decimal rounding half up to the cent."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.grid_revenue import NO_EXPORT_PRICE, grid_revenue
from gridpilot.analytics.tariffs import parse_tariff
from gridpilot.core.errors import ValidationFailed

HOUR_MS = 3_600_000
START = pd.Timestamp("2026-06-01T00:00:00Z")  # a Monday; 02:00 local in Europe/Rome (CEST)


def hourly(values: list[float], start: pd.Timestamp = START) -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="1h")
    return pd.Series(values, index=index, dtype="float64")


def ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def tariff(**fields) -> object:
    return parse_tariff({"default_rate_per_kwh": 0.25, **fields})


def test_the_issue_example_10_kwh_at_8_cents_and_5_at_12_is_1_40():
    # 10 kWh at night (00:00-06:00 local: 0.08) and 5 kWh by day (0.12)
    t = tariff(
        export_rate_per_kwh=0.12,
        export_periods=[{"name": "night", "rate_per_kwh": 0.08, "start": "00:00", "end": "06:00"}],
    )
    # 00:00Z = 02:00 local (night) ... 05:00Z = 07:00 local (day)
    energy = hourly([4.0, 6.0, 0.0, 0.0, 0.0, 5.0])
    result = grid_revenue(energy, versions=[(0, t)], timezone="Europe/Rome")
    assert result.amount == Decimal("1.40")
    assert result.currency == "EUR"
    assert result.export_kwh == Decimal("15.000")
    assert result.priced_kwh == Decimal("15.000")
    by_name = {line.name: (line.energy_kwh, line.amount) for line in result.lines}
    assert by_name == {
        "night": (Decimal("10.000"), Decimal("0.80000")),
        "export": (Decimal("5.000"), Decimal("0.60000")),
    }
    assert result.notes == [] and result.priced


def test_a_version_change_mid_period_prices_each_interval_with_its_version():
    old = tariff(export_rate_per_kwh=0.08)
    new = tariff(export_rate_per_kwh="0.12")
    change = START + pd.Timedelta(hours=2)
    energy = hourly([3.0, 7.0, 2.0, 3.0])  # 10 kWh before the change, 5 after
    result = grid_revenue(energy, versions=[(0, old), (ms(change), new)], timezone="UTC")
    assert result.amount == Decimal("1.40")  # 10 x 0.08 + 5 x 0.12
    assert [(line.valid_from_ms, line.rate_per_kwh) for line in result.lines] == [
        (0, Decimal("0.08")),
        (ms(change), Decimal("0.12")),
    ]


def test_no_export_price_earns_zero_with_a_note_not_an_unknown():
    result = grid_revenue(hourly([4.0, 6.0]), versions=[(0, tariff())], timezone="UTC")
    assert result.amount == Decimal("0.00")
    assert result.notes == [NO_EXPORT_PRICE]
    assert not result.priced
    assert result.export_kwh == Decimal("10.000") and result.unpriced_kwh == Decimal("10.000")
    no_tariff = grid_revenue(hourly([4.0]), versions=[], timezone="UTC")
    assert no_tariff.amount == Decimal("0.00") and no_tariff.notes == [NO_EXPORT_PRICE]


def test_energy_before_the_first_version_is_counted_unpriced():
    first = START + pd.Timedelta(hours=1)
    t = tariff(export_rate_per_kwh=0.10)
    result = grid_revenue(hourly([2.0, 3.0]), versions=[(ms(first), t)], timezone="UTC")
    assert result.amount == Decimal("0.30")
    assert result.unpriced_kwh == Decimal("2.000")
    assert result.notes == ["2.000 kWh exported when no export price applied: counted as 0"]


def test_rounding_is_half_up_to_the_cent_once_on_the_sum():
    t = tariff(export_rate_per_kwh=0.05)
    # 0.1 kWh x 0.05 = 0.005 each hour: three hours 0.015 -> 0.02 (rounded once, half up)
    result = grid_revenue(hourly([0.1, 0.1, 0.1]), versions=[(0, t)], timezone="UTC")
    assert result.amount == Decimal("0.02")
    one = grid_revenue(hourly([0.1]), versions=[(0, t)], timezone="UTC")
    assert one.amount == Decimal("0.01")  # 0.005 -> 0.01 (half up, not to even)


def test_missing_intervals_lower_coverage_and_earn_nothing():
    t = tariff(export_rate_per_kwh=0.10)
    result = grid_revenue(hourly([5.0, np.nan, 5.0, np.nan]), versions=[(0, t)], timezone="UTC")
    assert result.amount == Decimal("1.00")
    assert result.coverage == 0.5


def test_export_periods_follow_local_time_across_the_dst_change():
    # 29 March 2026, Europe/Rome: 02:00 local jumps to 03:00. Peak export 08:00-20:00 local.
    t = tariff(
        export_rate_per_kwh=0.05,
        export_periods=[{"name": "peak", "rate_per_kwh": 0.20, "start": "08:00", "end": "20:00"}],
    )
    start = pd.Timestamp("2026-03-29T05:00:00Z")  # 07:00 CEST (after the change): off-peak
    result = grid_revenue(hourly([1.0, 1.0], start), versions=[(0, t)], timezone="Europe/Rome")
    assert result.amount == Decimal("0.25")  # 06:00Z = 08:00 CEST: peak; 1 x 0.05 + 1 x 0.20


def test_export_periods_are_validated():
    with pytest.raises(ValidationFailed, match=r"export_periods\[0\]"):
        tariff(export_periods=[{"rate_per_kwh": "a lot"}])
    with pytest.raises(ValidationFailed, match="export_periods must be a list"):
        tariff(export_periods="peak")


def test_mixed_currencies_are_refused():
    eur = tariff(export_rate_per_kwh=0.1)
    chf = parse_tariff({"currency": "CHF", "default_rate_per_kwh": 0.2, "export_rate_per_kwh": 0.1})
    with pytest.raises(ValidationFailed, match="mix currencies"):
        grid_revenue(
            hourly([1.0, 1.0]), versions=[(0, eur), (ms(START) + HOUR_MS, chf)], timezone="UTC"
        )
