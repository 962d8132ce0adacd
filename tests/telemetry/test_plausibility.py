"""Plausibility of power readings against their asset, pure (no database): the checks an asset
gets from its role, rated capacity, mode and the factor, and what validation does with them."""

from __future__ import annotations

import math
from typing import get_args

import pytest

from gridpilot.assets.catalogue import PLAUSIBILITY_MODES
from gridpilot.assets.schemas import PlausibilityMode
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import to_ms
from gridpilot.telemetry.plausibility import NEGATIVE_POWER, OVER_CAPACITY, plausibility
from gridpilot.telemetry.validation import (
    AssetTarget,
    Limits,
    MetricTarget,
    Rejection,
    validate_readings,
)

NOW = to_ms("2026-06-01T12:00:00Z")
TS = NOW - 60_000


def asset(id, role, capacity=None, mode="reject", factor=1.5):
    return AssetTarget(id, 10, None, plausibility(role, capacity, mode, factor))


METER = asset(1, "consumer", 300)  # 300 kW: implausible above 450 kW or below -3 kW
GRID = asset(2, "grid_connection", 300)
BATTERY = asset(3, "storage", 300)
POD = asset(4, "prosumer", 10)
PV = asset(5, "producer")  # no rated capacity: only the sign is checked
FLAGGED = asset(6, "consumer", 300, mode="flag")
OFF = asset(7, "consumer", 300, mode="off")
ASSETS = {a.id: a for a in (METER, GRID, BATTERY, POD, PV, FLAGGED, OFF)}


def metrics():
    found = [
        MetricTarget.build(1, "power_kw", "kW", -1e7, 1e7),
        MetricTarget.build(2, "power_produced_kw", "kW", -1e7, 1e7),
        MetricTarget.build(3, "power_consumed_kw", "kW", -1e7, 1e7),
        MetricTarget.build(4, "energy_kwh", "kWh", 0, 1e13),
        MetricTarget.build(5, "reactive_power_kvar", "kvar", -1e7, 1e7),
    ]
    return {m.key: m for m in found}


def run(items, flagged=None):
    return validate_readings(
        items,
        assets=ASSETS,
        metrics=metrics(),
        can_write=None,
        limits=Limits(NOW, 300, 30),
        flagged=flagged,
    )


def r(asset_id, value, metric="power_kw", ts=TS, **extra):
    return {"asset": asset_id, "metric": metric, "ts": ts, "value": value, **extra}


def test_an_asset_gets_its_checks_from_role_capacity_mode_and_factor():
    meter = plausibility("consumer", 300.0, "reject", 1.5)
    assert meter is not None and meter.max_kw == 450.0 and not meter.flag
    assert meter.one_way == {"power_kw", "power_consumed_kw"}
    assert meter.min_one_way_kw == -3.0  # 1 % of the rated capacity
    small = plausibility("consumer", 2.0, "flag", 1.5)
    assert small is not None and small.min_one_way_kw == -0.05 and small.flag  # the floor
    producer = plausibility("producer", None, "reject", 1.5)
    assert producer is not None and producer.max_kw == math.inf
    assert producer.one_way == {"power_kw", "power_produced_kw"}
    prosumer = plausibility("prosumer", 10.0, "reject", 1.5)
    assert prosumer is not None and prosumer.one_way == {"power_produced_kw", "power_consumed_kw"}
    assert plausibility("grid_connection", 300.0, "reject", 0) is None  # factor 0: no check
    assert plausibility("grid_connection", 300.0, "reject", None) is None
    assert plausibility("grid_connection", None, "reject", 1.5) is None  # nothing to check
    assert plausibility("consumer", 300.0, "off", 1.5) is None
    assert plausibility("storage", 0.0, "reject", 1.5) is None  # a capacity of 0 is unknown
    # the same inputs give the same object: validation shares bounds by identity
    assert plausibility("consumer", 300.0, "reject", 1.5) is meter


def test_the_asset_schema_offers_the_catalogue_modes():
    assert get_args(PlausibilityMode) == PLAUSIBILITY_MODES


def test_the_factor_setting_defaults_to_1_5_and_0_or_empty_turn_it_off(monkeypatch):
    assert Settings().plausibility_factor == 1.5
    monkeypatch.setenv("GRIDPILOT_PLAUSIBILITY_FACTOR", "0")
    assert Settings().plausibility_factor == 0
    monkeypatch.setenv("GRIDPILOT_PLAUSIBILITY_FACTOR", "")
    assert Settings().plausibility_factor is None
    monkeypatch.setenv("GRIDPILOT_PLAUSIBILITY_FACTOR", "-1")
    with pytest.raises(ValueError):
        Settings()


def test_a_50_mw_reading_on_a_300_kw_meter_is_rejected_and_the_rest_stored():
    items = [r(1, 120.0), r(1, 50_000.0, ts=TS + 1000), r(1, 130.0, ts=TS + 2000)]
    rows, accepted, rejected = run(items)
    assert accepted == 2 and rows == {(1, 1, TS): 120.0, (1, 1, TS + 2000): 130.0}
    [refused] = rejected
    assert refused.index == 1 and refused.code == OVER_CAPACITY
    assert "50000 kW" in refused.reason and "1.5 x" in refused.reason
    assert "300 kW" in refused.reason


@pytest.mark.parametrize(
    ("value", "unit", "code"),
    [
        (450.0, None, None),  # exactly the bound
        (450.001, None, OVER_CAPACITY),
        (50, "MW", OVER_CAPACITY),  # converted first: 50,000 kW
        (0.4, "MW", None),
        (449_000, "W", None),
        (-2.9, None, None),  # within the noise tolerance of 3 kW
        (-3.1, None, NEGATIVE_POWER),
        (-500.0, None, OVER_CAPACITY),  # beyond the capacity: that reason first
    ],
)
def test_meter_bounds_apply_after_unit_conversion(value, unit, code):
    extra = {"unit": unit} if unit else {}
    _, accepted, rejected = run([r(1, value, **extra)])
    assert [x.code for x in rejected] == ([code] if code else [])
    assert accepted == (0 if code else 1)


@pytest.mark.parametrize(
    ("asset_id", "metric", "value", "code"),
    [
        (2, "power_kw", -300.0, None),  # grid connection: export
        (2, "power_kw", -451.0, OVER_CAPACITY),  # the capacity bounds both directions
        (3, "power_kw", -400.0, None),  # battery discharging
        (4, "power_kw", -12.0, None),  # prosumer exporting
        (4, "power_produced_kw", -1.0, NEGATIVE_POWER),
        (4, "power_consumed_kw", -1.0, NEGATIVE_POWER),
        (4, "power_produced_kw", 16.0, OVER_CAPACITY),
        (5, "power_kw", -0.04, None),  # inverter standby at night, within 0.05 kW
        (5, "power_kw", -0.2, NEGATIVE_POWER),
        (5, "power_kw", 1e6, None),  # no rated capacity: no upper check
        (1, "power_produced_kw", -5.0, None),  # not a term of a consumer: sign unchecked
        (1, "energy_kwh", 1e9, None),  # energy registers: no rated energy
        (1, "reactive_power_kvar", -1e5, None),  # not kW
        (7, "power_kw", 50_000.0, None),  # mode off
    ],
)
def test_two_way_metrics_may_be_negative_one_way_metrics_not(asset_id, metric, value, code):
    rows, _, rejected = run([r(asset_id, value, metric=metric)])
    assert [x.code for x in rejected] == ([code] if code else [])
    assert len(rows) == (0 if code else 1)


def test_flag_mode_stores_and_reports_with_the_same_code():
    flagged: list[Rejection] = []
    items = [r(6, 50_000.0), r(6, -10.0, ts=TS + 1000), r(6, 100.0, ts=TS + 2000)]
    rows, accepted, rejected = run(items, flagged)
    assert rejected == [] and accepted == 3
    assert rows == {(6, 1, TS): 50_000.0, (6, 1, TS + 1000): -10.0, (6, 1, TS + 2000): 100.0}
    assert [(f.index, f.code) for f in flagged] == [(0, OVER_CAPACITY), (1, NEGATIVE_POWER)]
    assert run(items)[1] == 3  # without a list to report to, still stored


def test_a_flagged_reading_that_fails_another_check_is_rejected_not_flagged():
    flagged: list[Rejection] = []
    _, accepted, rejected = run([r(6, 50_000.0, ts=NOW + 3_600_000)], flagged)
    assert accepted == 0 and flagged == [] and "in the future" in rejected[0].reason


def test_the_fast_path_and_the_full_checks_agree_with_plausibility():
    """Assets of one ``Plausibility`` share the fast path's bounds; a mixed batch gives, per
    reading, what each reading gives alone."""
    twin = asset(8, "consumer", 300)  # the same object as METER's checks
    assert twin.plausibility is METER.plausibility
    ASSETS[8] = twin
    try:
        items = [
            r(1, 100.0), r(8, 500.0), r(1, 500.0), r(8, 100.0), r(2, -300.0), r(1, -300.0),
            r(6, 900.0), r(6, 1.0), r(4, -1.0, metric="power_produced_kw"), r(4, -1.0),
            r(1, 0.5, unit="MW"), r(1, 1e300), r(7, 1e6), r(5, -1.0), r(5, 3.0),
        ]  # fmt: skip
        items = [dict(item, ts=TS + i) for i, item in enumerate(items)]
        flagged: list[Rejection] = []
        rows, accepted, rejected = run(items, flagged)
        alone = []
        for item in items:
            single: list[Rejection] = []
            alone.append((run([item], single), single))
    finally:
        del ASSETS[8]
    assert accepted == sum(a[0][1] for a in alone)
    assert [(x.index, x.code, x.reason) for x in rejected] == [
        (i, a[0][2][0].code, a[0][2][0].reason) for i, a in enumerate(alone) if a[0][2]
    ]
    assert [(x.index, x.code) for x in flagged] == [
        (i, a[1][0].code) for i, a in enumerate(alone) if a[1]
    ]
    merged: dict = {}
    for a in alone:
        merged.update(a[0][0])
    assert rows == merged
    assert [x.index for x in rejected] == [1, 2, 5, 8, 10, 11, 13]
