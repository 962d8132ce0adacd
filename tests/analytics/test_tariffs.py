"""Time-of-use cost against hand-computed cases: DST days, holidays, versions, demand, fixed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.tariff_cost import cost
from gridpilot.analytics.tariffs import parse_tariff, rates_per_kwh
from gridpilot.core.errors import ValidationFailed

QUARTER_MS = 15 * 60_000
ROME = "Europe/Rome"

#: Night band 00:00-07:00 local at 0.10, the rest at 0.20 (every day).
NIGHT_DAY = {
    "currency": "EUR",
    "periods": [{"name": "night", "rate_per_kwh": 0.10, "start": "00:00", "end": "07:00"}],
    "default_rate_per_kwh": 0.20,
}


def quarters(start_utc: str, end_utc: str, kwh: float = 1.0) -> pd.Series:
    index = pd.date_range(start_utc, end_utc, freq="15min", inclusive="left", tz="UTC")
    return pd.Series(kwh, index=index, dtype="float64")


def test_october_dst_day_has_25_hours_and_prices_the_repeated_hour_twice():
    # 2026-10-25 local (Europe/Rome) runs from 2026-10-24T22:00Z to 2026-10-25T23:00Z: 25 h.
    energy = quarters("2026-10-24T22:00Z", "2026-10-25T23:00Z")
    tariff = parse_tariff({**NIGHT_DAY, "fixed_charge_per_day": 2.5})
    result = cost(energy, interval_ms=QUARTER_MS, versions=[(0, tariff)], timezone=ROME)
    # night 00:00-07:00 local holds 8 clock hours (02:00-03:00 twice): 32 quarters at 0.10
    assert result.by_period["night"]["energy_kwh"] == pytest.approx(32.0)
    assert result.by_period["default"]["energy_kwh"] == pytest.approx(68.0)
    assert result.energy_kwh == pytest.approx(100.0)
    assert result.energy_cost == pytest.approx(32 * 0.10 + 68 * 0.20)  # 16.8
    assert result.fixed_cost == pytest.approx(2.5)  # one whole local day, 25 h long
    assert result.coverage == 1.0


def test_march_dst_day_has_23_hours():
    # 2026-03-29 local runs from 2026-03-28T23:00Z to 2026-03-29T22:00Z: 23 h; 02:00 is skipped.
    energy = quarters("2026-03-28T23:00Z", "2026-03-29T22:00Z")
    tariff = parse_tariff({**NIGHT_DAY, "fixed_charge_per_day": 2.5})
    result = cost(energy, interval_ms=QUARTER_MS, versions=[(0, tariff)], timezone=ROME)
    assert result.by_period["night"]["energy_kwh"] == pytest.approx(24.0)  # 6 clock hours
    assert result.energy_cost == pytest.approx(24 * 0.10 + 68 * 0.20)  # 16.0
    assert result.fixed_cost == pytest.approx(2.5)


def test_holidays_are_priced_as_weekend_days():
    tariff = parse_tariff(
        {
            "country": "IT",
            "periods": [
                {"name": "weekday", "rate_per_kwh": 0.30, "days": "weekday"},
                {"name": "weekend", "rate_per_kwh": 0.10, "days": "weekend"},
            ],
        }
    )
    # Tue 2026-12-08 (Immacolata, a public holiday in Italy) and Wed 2026-12-09, local days.
    energy = quarters("2026-12-07T23:00Z", "2026-12-09T23:00Z", kwh=0.25)
    result = cost(energy, interval_ms=QUARTER_MS, versions=[(0, tariff)], timezone=ROME)
    assert result.by_period["weekend"]["energy_kwh"] == pytest.approx(24.0)
    assert result.by_period["weekday"]["energy_kwh"] == pytest.approx(24.0)
    assert result.energy_cost == pytest.approx(24 * 0.10 + 24 * 0.30)


def test_a_tariff_naming_holidays_prices_them_only_with_those_periods():
    tariff = parse_tariff(
        {
            "country": "IT",
            "periods": [
                {"name": "holiday", "rate_per_kwh": 0.05, "days": ["holiday"]},
                {"name": "other", "rate_per_kwh": 0.20, "days": "all"},
            ],
        }
    )
    index = pd.DatetimeIndex(["2026-12-08T11:00Z", "2026-12-12T11:00Z"])  # holiday, Saturday
    rates, names = rates_per_kwh(index, tariff, ROME)
    assert list(rates) == [0.05, 0.20]
    assert list(names) == ["holiday", "other"]


def band(name: str, rate: float, days, start: str, end: str) -> dict:
    return {"name": name, "rate_per_kwh": rate, "days": days, "start": start, "end": end}


def test_italian_f1_f2_f3_bands_by_local_time():
    tariff = parse_tariff(
        {
            "country": "IT",
            "periods": [
                band("F1", 0.30, "weekday", "08:00", "19:00"),
                band("F2", 0.20, "weekday", "07:00", "23:00"),
                band("F2", 0.20, ["sat"], "07:00", "23:00"),
            ],
            "default_rate_per_kwh": 0.10,
        }
    )
    # Mon 2026-01-12 local 08:00 (07:00Z) F1, 19:30 F2, 23:30 F3; Sat 10:00 F2; Sun 10:00 F3.
    index = pd.DatetimeIndex(
        [
            "2026-01-12T07:00Z",
            "2026-01-12T18:30Z",
            "2026-01-12T22:30Z",
            "2026-01-17T09:00Z",
            "2026-01-18T09:00Z",
        ]
    )
    rates, _ = rates_per_kwh(index, tariff, ROME)
    assert list(rates) == [0.30, 0.20, 0.10, 0.20, 0.10]


def test_periods_wrapping_midnight():
    tariff = parse_tariff({"periods": [{"rate_per_kwh": 1.0, "start": "22:00", "end": "06:00"}]})
    index = pd.DatetimeIndex(["2026-01-05T23:00Z", "2026-01-05T05:45Z"])
    rates, _ = rates_per_kwh(index, tariff, "UTC")
    assert list(rates) == [1.0, 1.0]
    with pytest.raises(ValidationFailed, match="no rate"):
        rates_per_kwh(pd.DatetimeIndex(["2026-01-05T12:00Z"]), tariff, "UTC")


def test_a_new_version_prices_only_intervals_from_its_start():
    old = parse_tariff({"default_rate_per_kwh": 0.10, "demand_charge_per_kw_month": 10.0})
    new = parse_tariff({"default_rate_per_kwh": 0.40, "demand_charge_per_kw_month": 20.0})
    energy = quarters("2026-01-05T00:00Z", "2026-01-06T00:00Z")  # 96 kWh, 1 kWh per quarter
    switch = pd.Timestamp("2026-01-05T12:00Z").value // 1_000_000
    demand = energy * 4.0
    demand.iloc[10] = 8.0  # the old version's billing peak
    demand.iloc[60] = 6.0  # the new version's billing peak
    before = cost(
        energy, interval_ms=QUARTER_MS, versions=[(0, old)], timezone="UTC", demand_kw=demand
    )
    after = cost(
        energy,
        interval_ms=QUARTER_MS,
        versions=[(0, old), (switch, new)],
        timezone="UTC",
        demand_kw=demand,
    )
    assert before.energy_cost == pytest.approx(96 * 0.10)
    assert after.energy_cost == pytest.approx(48 * 0.10 + 48 * 0.40)
    # January has 31 days: each half day is 0.5/31 of the month
    assert before.demand_cost == pytest.approx(10.0 * 8.0 * 1 / 31)
    assert after.demand_cost == pytest.approx(10.0 * 8.0 * 0.5 / 31 + 20.0 * 6.0 * 0.5 / 31)
    # the first half of the day is priced the same under both version lists
    first_half = energy.iloc[:48]
    assert cost(
        first_half, interval_ms=QUARTER_MS, versions=[(0, old), (switch, new)], timezone="UTC"
    ).energy_cost == pytest.approx(48 * 0.10)


def test_intervals_before_the_first_version_are_not_priced():
    tariff = parse_tariff({"default_rate_per_kwh": 0.5, "fixed_charge_per_month": 31.0})
    energy = quarters("2026-01-05T00:00Z", "2026-01-06T00:00Z")
    start = pd.Timestamp("2026-01-05T18:00Z").value // 1_000_000
    result = cost(energy, interval_ms=QUARTER_MS, versions=[(start, tariff)], timezone="UTC")
    assert result.energy_cost == pytest.approx(24 * 0.5)
    assert result.coverage == pytest.approx(0.25)
    assert result.fixed_cost == pytest.approx(31.0 * 0.25 / 31)  # 6 h of a 31-day month


def test_gaps_are_not_priced_and_lower_coverage_but_fixed_charges_run():
    tariff = parse_tariff({"default_rate_per_kwh": 0.2, "fixed_charge_per_day": 1.0})
    energy = quarters("2026-01-05T00:00Z", "2026-01-06T00:00Z")
    energy.iloc[:24] = np.nan  # six hours without data
    result = cost(energy, interval_ms=QUARTER_MS, versions=[(0, tariff)], timezone="UTC")
    assert result.energy_kwh == pytest.approx(72.0)
    assert result.energy_cost == pytest.approx(72 * 0.2)
    assert result.coverage == pytest.approx(0.75)
    assert result.fixed_cost == pytest.approx(1.0)
    assert result.total == pytest.approx(72 * 0.2 + 1.0)


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({}, "periods or a default"),
        ({"default_rate_per_kwh": "cheap"}, "must be a number"),
        ({"default_rate_per_kwh": 0.1, "surprise": 1}, "unknown tariff fields"),
        ({"periods": [{"rate_per_kwh": 0.1, "start": "25:00"}]}, "HH:MM"),
        ({"periods": [{"rate_per_kwh": 0.1, "days": ["funday"]}]}, "unknown day"),
        ({"default_rate_per_kwh": 0.1, "currency": "euro"}, "3-letter"),
        ({"default_rate_per_kwh": 0.1, "country": "XX"}, "holiday calendar"),
        ({"default_rate_per_kwh": 0.1, "fixed_charge_per_day": -1}, ">= 0"),
        ({"periods": [{"rate_per_kwh": 0.1, "name": float("nan")}]}, "name"),
        ({"periods": [{"rate_per_kwh": float("inf")}]}, "finite"),
    ],
)
def test_bad_definitions_are_refused_with_a_reason(definition, message):
    with pytest.raises(ValidationFailed, match=message):
        parse_tariff(definition)


def test_versions_in_different_currencies_are_refused():
    eur = parse_tariff({"default_rate_per_kwh": 0.1})
    usd = parse_tariff({"default_rate_per_kwh": 0.1, "currency": "USD"})
    with pytest.raises(ValidationFailed, match="currencies"):
        cost(quarters("2026-01-05T00:00Z", "2026-01-05T01:00Z"), interval_ms=QUARTER_MS,
             versions=[(0, eur), (1, usd)], timezone="UTC")  # fmt: skip


def test_the_export_price_is_an_optional_decimal():
    from decimal import Decimal

    assert parse_tariff(NIGHT_DAY).export_rate_per_kwh is None
    assert parse_tariff({**NIGHT_DAY, "export_rate_per_kwh": 0.11}).export_rate_per_kwh == (
        Decimal("0.11")
    )
    assert parse_tariff({**NIGHT_DAY, "export_rate_per_kwh": "-0.02"}).export_rate_per_kwh == (
        Decimal("-0.02")
    )
    for bad in ("a lot", True, float("nan"), 5000, [0.1]):
        with pytest.raises(ValidationFailed, match="export_rate_per_kwh"):
            parse_tariff({**NIGHT_DAY, "export_rate_per_kwh": bad})
