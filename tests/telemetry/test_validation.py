"""Pure validation and normalisation of raw readings (no database)."""

from __future__ import annotations

import pytest

from gridpilot.core.errors import BadRequest, ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, to_ms
from gridpilot.telemetry.decoding import csv_readings, decode_json, decode_ndjson
from gridpilot.telemetry.validation import (
    HIDDEN,
    AssetTarget,
    Limits,
    MetricTarget,
    Undecodable,
    parse_ts,
    validate_readings,
)

NOW = to_ms("2026-06-01T12:00:00Z")
METER = AssetTarget(id=1, site_id=10, source_id=None)
PV = AssetTarget(id=2, site_id=20, source_id="SOLAR-PV-ITA-00001")
ASSETS = {1: METER, "1": METER, 2: PV, "2": PV, "SOLAR-PV-ITA-00001": PV}


def metrics():
    power = MetricTarget.build(5, "power_kw", "kW", -1e7, 1e7)
    energy = MetricTarget.build(6, "energy_kwh", "kWh", 0, 1e13)
    temp = MetricTarget.build(7, "temperature_c", "degC", -90, 1500)
    state = MetricTarget.build(8, "operating_state", "1", None, None)
    return {m.key: m for m in (power, energy, temp, state)}


def run(items, *, can_write=None, now=NOW, retention_days=30, future_s=300):
    return validate_readings(
        items,
        assets=ASSETS,
        metrics=metrics(),
        can_write=can_write,
        limits=Limits(now, future_s, retention_days),
    )


def r(asset=1, metric="power_kw", ts=NOW - 1000, value=1.0, **extra):
    return {"asset": asset, "metric": metric, "ts": ts, "value": value, **extra}


def test_valid_readings_become_rows_keyed_by_asset_metric_ts():
    rows, accepted, rejected = run(
        [r(), r(asset="SOLAR-PV-ITA-00001", value=2), r(asset="1", metric="energy_kwh", value=3)]
    )
    assert rejected == []
    assert accepted == 3
    assert rows == {(1, 5, NOW - 1000): 1.0, (2, 5, NOW - 1000): 2.0, (1, 6, NOW - 1000): 3.0}
    assert all(type(v) is float for v in rows.values())


@pytest.mark.parametrize(
    ("value", "unit", "metric", "expected"),
    [
        (1500, "W", "power_kw", 1.5),
        (2, "MW", "power_kw", 2000.0),
        (1.5, "kw", "power_kw", 1.5),
        (2, "MWh", "energy_kwh", 2000.0),
        (250, "Wh", "energy_kwh", 0.25),
        (300, "K", "temperature_c", pytest.approx(26.85)),
    ],
)
def test_units_are_converted(value, unit, metric, expected):
    rows, _, rejected = run([r(metric=metric, value=value, unit=unit)])
    assert rejected == []
    assert list(rows.values()) == [expected]


def test_incompatible_and_unknown_units_are_rejected_with_the_metric_named():
    _, _, rejected = run([r(unit="kWh"), r(unit="furlongs"), r(unit=5)])
    assert [x.index for x in rejected] == [0, 1, 2]
    assert rejected[0].reason == "unit 'kWh' is not compatible with power_kw (unit kW)"
    assert "furlongs" in rejected[1].reason
    assert "string" in rejected[2].reason


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (float("-inf"), "not a finite number"),
        (True, "boolean"),
        ("1.5", "must be a number, got str"),
        (None, "value is missing"),
        ([1], "must be a number, got list"),
        (10**400, "too large"),
    ],
)
def test_values_must_be_finite_numbers(value, fragment):
    rows, accepted, rejected = run([r(value=value)])
    assert rows == {} and accepted == 0
    assert fragment in rejected[0].reason


def test_plausible_range_is_checked_after_conversion():
    _, _, rejected = run([r(value=20, unit="GW"), r(value=-1, metric="energy_kwh")])
    assert len(rejected) == 2
    assert "outside the plausible range of power_kw" in rejected[0].reason
    rows, _, rejected = run([r(value=9, unit="GW"), r(metric="operating_state", value=1e300)])
    assert rejected == [] and len(rows) == 2  # no bounds: anything finite


def test_timestamps_iso_epoch_ms_and_epoch_seconds_agree():
    iso_ts = "2026-06-01T11:00:00Z"
    expected = to_ms(iso_ts)
    for ts in (
        iso_ts,
        "2026-06-01T13:00:00+02:00",
        "2026-06-01T11:00:00",
        expected,
        expected // 1000,
        str(expected),
        float(expected),
    ):
        assert parse_ts(ts) == expected, ts


def test_time_window_rejections():
    _, _, rejected = run(
        [
            r(ts=NOW + 301_000),  # future beyond 300 s
            r(ts=NOW + 299_000),  # within tolerance: ok
            r(ts=NOW - 31 * MS_PER_DAY),  # older than raw retention
            r(ts="not a time"),
            r(ts=None),
            r(ts=True),
        ]
    )
    assert [x.index for x in rejected] == [0, 2, 3, 4, 5]
    assert "more than 300 s in the future" in rejected[0].reason
    assert rejected[1].reason == "older than raw retention (30 days)"
    assert "not a time" in rejected[2].reason
    assert "missing" in rejected[3].reason
    assert "boolean" in rejected[4].reason


def test_without_raw_retention_only_pre_1970_is_refused():
    _, accepted, rejected = run([r(ts=NOW - 3000 * MS_PER_DAY), r(ts=-5000)], retention_days=None)
    assert accepted == 1
    assert "before 1970" in rejected[0].reason


def test_unknown_asset_metric_and_shapes():
    _, _, rejected = run(
        [
            r(asset=99),
            r(asset=True),
            r(asset=[1]),
            r(metric="nope"),
            r(metric=None),
            5,
            Undecodable("line 3: bad"),
        ]
    )
    reasons = [x.reason for x in rejected]
    assert reasons[0] == "unknown asset 99"
    assert reasons[1] == "unknown asset True"  # a boolean is not asset 1
    assert "list" in reasons[2] or "unknown asset" in reasons[2]
    assert reasons[3] == "unknown metric 'nope'"
    assert reasons[4] == "metric is missing"
    assert reasons[5] == "reading must be a JSON object"
    assert reasons[6] == "line 3: bad"


def test_duplicates_in_a_batch_last_wins_and_all_count_as_accepted():
    rows, accepted, rejected = run([r(value=1), r(value=2), r(ts=NOW - 2000, value=3), r(value=4)])
    assert accepted == 4 and rejected == []
    assert rows == {(1, 5, NOW - 1000): 4.0, (1, 5, NOW - 2000): 3.0}


def test_write_check_per_asset_hidden_or_refused():
    def can_write(asset):
        if asset.site_id != 10:
            return HIDDEN
        return None if asset.id == 1 else "not yours"

    rows, accepted, rejected = run(
        [r(asset=1), r(asset="SOLAR-PV-ITA-00001"), r(asset=2)], can_write=can_write
    )
    assert accepted == 1 and list(rows) == [(1, 5, NOW - 1000)]
    assert [x.reason for x in rejected] == [
        "unknown asset 'SOLAR-PV-ITA-00001'",
        "unknown asset 2",
    ]


def test_index_offset_shifts_indices():
    _, _, rejected = validate_readings(
        [r(), r(asset=99)],
        assets=ASSETS,
        metrics=metrics(),
        can_write=None,
        limits=Limits(NOW, 300, 30),
        index_offset=1000,
    )
    assert [x.index for x in rejected] == [1001]


def test_decode_json_accepts_non_finite_literals_and_locates_errors():
    items = decode_json(b'{"readings": [{"value": NaN}, {"value": -Infinity}]}')
    assert items[0]["value"] != items[0]["value"]
    assert items[1]["value"] == float("-inf")
    with pytest.raises(BadRequest) as error:
        decode_json(b'[{"a": 1}\n, {"b": }]')
    assert error.value.details == {"line": 2, "column": 9, "position": 18}
    with pytest.raises(ValidationFailed):
        decode_json(b'{"data": []}')


def test_decode_ndjson_marks_bad_lines():
    items = decode_ndjson(b'{"a": 1}\n\n{oops\r\n{"b": NaN}\n')
    assert items[0] == {"a": 1}
    assert isinstance(items[1], Undecodable) and items[1].reason.startswith("line 3:")
    assert items[2]["b"] != items[2]["b"]


def test_csv_columns_aliases_defaults_and_values():
    lines = ["Timestamp,Value,Unit", "2026-01-01T00:00:00Z,1500,W", "2026-01-01T00:01:00Z,x,"]
    items = list(csv_readings(lines, asset="7", metric="power_kw"))
    assert items == [
        {
            "asset": "7",
            "metric": "power_kw",
            "ts": "2026-01-01T00:00:00Z",
            "value": 1500.0,
            "unit": "W",
        },
        {
            "asset": "7",
            "metric": "power_kw",
            "ts": "2026-01-01T00:01:00Z",
            "value": "x",
            "unit": None,
        },
    ]
    with pytest.raises(ValidationFailed):
        list(csv_readings(["ts,value", "1,2"]))


def test_the_fast_path_and_the_full_checks_agree_reading_by_reading():
    """A batch mixing plain readings (the fast path) with every kind of exception gives, per
    reading, what each would give alone through the full checks."""
    iso = "2026-06-01T11:59:58Z"
    items = [
        r(asset=1, value=1),  # int value
        r(asset=True),  # a boolean is not asset 1, even after asset 1 was seen
        r(asset=1, ts=iso, value=2.0),  # ISO timestamp (cached), then the same string again
        r(asset="1", ts=iso, value=3.0),
        r(asset=1, value=float("inf")),
        r(asset=1, value=float("nan")),
        r(asset=1, value=2e7),  # outside the plausible range
        r(asset=1, value=5.0, unit="kW"),  # the canonical unit
        r(asset=1, value=5000, unit="W"),
        r(asset=1, ts=NOW + 3_600_000),  # future
        r(asset=1, ts=(NOW - 5000) // 1000, value=6.0),  # epoch seconds
        r(asset=1, metric=["power_kw"]),  # unhashable metric
        r(asset=1, value=True),
        r(asset=1, value=10**400),  # too large for a float
    ]
    rows, accepted, rejected = run(items)
    alone = [run([item]) for item in items]
    assert accepted == sum(a[1] for a in alone)
    assert [(x.index, x.reason) for x in rejected] == [
        (i, a[2][0].reason) for i, a in enumerate(alone) if a[2]
    ]
    merged: dict = {}
    for a in alone:
        merged.update(a[0])
    assert rows == merged
    assert rows[(1, 5, to_ms(iso))] == 3.0 and rows[(1, 5, NOW - 1000)] == 5.0
