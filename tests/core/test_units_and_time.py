"""Unit conversion to canonical units and timestamp parsing (epoch ms inside)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import (
    floor_ms,
    iso,
    iso_local,
    local_midnight_ms,
    parse_period,
    to_ms,
)
from gridpilot.core.units import capacity_to_kw, normalise_unit, to_canonical


@pytest.mark.parametrize(
    ("value", "unit", "canonical", "expected"),
    [
        (1500, "W", "kW", 1.5),
        (2.5, "MW", "kW", 2500),
        (1.2, "GW", "kW", 1_200_000),
        (750, "Wh", "kWh", 0.75),
        (3, "MWh", "kWh", 3000),
        (20, "kV", "V", 20_000),
        (293.15, "K", "degC", 20.0),
        (36, "km/h", "m/s", 10.0),
        (12, "kw", "kW", 12),  # case-insensitive alias
    ],
)
def test_conversions(value, unit, canonical, expected):
    assert to_canonical(value, unit, canonical) == pytest.approx(expected)


def test_incompatible_unit_is_rejected_with_a_reason():
    with pytest.raises(ValidationFailed, match="'kWh' cannot be converted to 'kW'"):
        to_canonical(1, "kWh", "kW")


def test_capacity_and_unit_spelling():
    assert capacity_to_kw(5, "MW") == 5000
    assert normalise_unit(" mwh ") == "MWh"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-01-01T00:00:00Z", 1_767_225_600_000),
        ("2026-01-01T01:00:00+01:00", 1_767_225_600_000),
        ("2026-01-01T00:00:00", 1_767_225_600_000),  # naive = UTC
        (1_767_225_600_000, 1_767_225_600_000),  # epoch ms
        (1_767_225_600, 1_767_225_600_000),  # epoch s
        ("1767225600000", 1_767_225_600_000),
        (datetime(2026, 1, 1, tzinfo=UTC), 1_767_225_600_000),
    ],
)
def test_to_ms_accepts_iso_and_epoch(given, expected):
    assert to_ms(given) == expected


@pytest.mark.parametrize(
    "bad", ["yesterday", "³", True, float("nan"), None, "2026-13-01T00:00:00Z"]
)
def test_to_ms_rejects_garbage(bad):
    with pytest.raises(ValidationFailed):
        to_ms(bad)


def test_iso_and_floor():
    assert iso(1_767_225_600_000) == "2026-01-01T00:00:00Z"
    assert iso(1_767_225_600_123) == "2026-01-01T00:00:00.123Z"
    assert floor_ms(1_767_225_659_999, 60_000) == 1_767_225_600_000


def test_parse_period_defaults_and_checks():
    start, end = parse_period(None, "2026-01-02T00:00:00Z")
    assert (start, end) == (1_767_225_600_000, 1_767_312_000_000)  # the 24 h before end
    assert parse_period("2026-01-01T00:00:00Z", 1_767_225_660_000) == (
        1_767_225_600_000,
        1_767_225_660_000,
    )
    with pytest.raises(ValidationFailed, match="end must be after start"):
        parse_period("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")
    with pytest.raises(ValidationFailed, match="between 1970 and 9999"):
        parse_period(-5, 10)


def test_local_midnight_across_dst_changes() -> None:
    rome = "Europe/Rome"
    # 29 March 2026: clocks go forward at 02:00, the day has 23 hours
    day = local_midnight_ms(rome, to_ms("2026-03-29T12:00:00Z"))
    assert iso_local(day, rome) == "2026-03-29T00:00:00+01:00"
    after = local_midnight_ms(rome, to_ms("2026-03-30T12:00:00Z"))
    assert (after - day) / 3_600_000 == 23
    # 25 October 2026: clocks go back, 25 hours
    day = local_midnight_ms(rome, to_ms("2026-10-25T12:00:00Z"))
    after = local_midnight_ms(rome, to_ms("2026-10-26T12:00:00Z"))
    assert iso_local(after, rome) == "2026-10-26T00:00:00+01:00"
    assert (after - day) / 3_600_000 == 25
    # just before local midnight still belongs to the day before
    assert local_midnight_ms(rome, to_ms("2026-10-25T22:59:59Z")) == day
