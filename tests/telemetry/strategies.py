"""Hypothesis strategies of hostile ingest input and the invariants every validation keeps (#13).

Numbers at and beyond every limit (64-bit, float range, NaN/inf, 1e20 ms), timestamps of odd
form, nested JSON where a scalar belongs. ``check_validation`` runs ``validate_readings`` and
asserts it only ever returns rows and per-reading rejections with short, deliberate reasons.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from gridpilot.telemetry.validation import (
    INTERNAL_ERROR,
    AssetTarget,
    Limits,
    MetricTarget,
    validate_readings,
)

#: Modest example counts: the suite runs on two cores.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

NOW = 1_780_315_200_000  # 2026-06-01T12:00:00Z
LIMITS = Limits(NOW, 300, 30)
PV = AssetTarget(id=2, site_id=20, source_id="SOLAR-PV-ITA-00001")
ASSETS: dict[object, AssetTarget] = {1: AssetTarget(1, 10), "1": AssetTarget(1, 10), 2: PV}
ASSETS["SOLAR-PV-ITA-00001"] = PV
METRIC_KEYS = ["power_kw", "energy_kwh", "temperature_c", "operating_state", "voltage_v"]


def metrics() -> dict[object, MetricTarget]:
    found = [
        MetricTarget.build(5, "power_kw", "kW", -1e7, 1e7),
        MetricTarget.build(6, "energy_kwh", "kWh", 0, 1e13),
        MetricTarget.build(7, "temperature_c", "degC", -90, 1500),
        MetricTarget.build(8, "operating_state", "1", None, None),  # unbounded
        MetricTarget.build(9, "voltage_v", "V", 0, 1.2e6),
    ]
    return {m.key: m for m in found}


EXTREME_INTS = st.sampled_from(
    [
        0,
        1,
        -1,
        9_999_999_999,
        10_000_000_000,
        2**31,
        2**53 + 1,
        2**63 - 1,
        2**63,
        2**64,
        -(2**63) - 1,
        10**20,
        -(10**20),
        10**30,
        10**308,
        10**309,
        -(10**400),
        10**4000,
    ]
)
EXTREME_FLOATS = st.sampled_from(
    [
        1e20,
        -1e20,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        5e-324,
        1e300,
        -0.0,
        math.nan,
        math.inf,
        -math.inf,
        253402300799.999,
        -62135596800.0,
    ]
)
NUMBERS = st.one_of(st.integers(), EXTREME_INTS, st.floats(), EXTREME_FLOATS)
ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "-",
        "--5",
        "+5",
        "1e20",
        "9" * 30,
        "9" * 31,
        "-" + "9" * 40,
        "9" * 5000,
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00",
        "2026-06-01T11:59:00Z",
        "2026-06-01T11:59:00z",
        "2026-02-30T00:00:00Z",
        "20260601",
        "T",
        "\u0663",
        "1_000",
        "NaN",
        "inf",
        "-inf",
        "\x00",
        "\ud800",
        "2026-06-01T11:59:00\x00",
    ]
)
TIMESTAMPS = st.one_of(
    NUMBERS,
    ODD_STRINGS,
    st.text(max_size=30),
    st.from_regex(r"-?[0-9]{1,40}", fullmatch=True),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.none(),
    st.booleans(),
)
SCALARS = st.one_of(NUMBERS, ODD_STRINGS, st.text(max_size=12), st.none(), st.booleans())
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
UNITS = st.one_of(st.sampled_from(["W", "kW", "MW", "GW", "K", "degC", "V", "kV", "%"]), SCALARS)
REFERENCES = st.one_of(st.sampled_from([1, "1", 2, "SOLAR-PV-ITA-00001", 3, "3"]), SCALARS)
KEYS = st.one_of(st.sampled_from(METRIC_KEYS), st.text(max_size=10), SCALARS)


DAY_MS = 86_400_000
#: Fields of a reading that passes, so that one hostile field at a time reaches every check.
GOOD_FIELDS = {
    "asset": st.sampled_from([1, "1", 2, "SOLAR-PV-ITA-00001"]),
    "metric": st.sampled_from(METRIC_KEYS),
    "ts": st.one_of(
        st.integers(NOW - 40 * DAY_MS, NOW + 3_600_000),
        st.sampled_from(["2026-06-01T11:59:00Z", "2026-06-01T11:59:00", "1780315000"]),
    ),
    "value": st.one_of(st.floats(-1000, 1000), st.integers(-1000, 1000)),
    "unit": st.sampled_from([None, "kW", "W", "kWh", "degC", "K", "V", "1"]),
}
HOSTILE_FIELDS = {
    "asset": REFERENCES,
    "metric": KEYS,
    "ts": TIMESTAMPS,
    "value": st.one_of(NUMBERS, JSON_VALUES),
    "unit": UNITS,
}


@st.composite
def readings(draw: st.DrawFn) -> Any:
    """One raw reading: each field good, hostile or absent; now and then not a mapping."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)
    reading = {}
    for name, good in GOOD_FIELDS.items():
        choice = draw(st.integers(0, 4))
        if choice:
            reading[name] = draw(HOSTILE_FIELDS[name] if choice == 1 else good)
    return reading


def dumps(value: Any) -> bytes:
    """JSON as a careless sender writes it: NaN/Infinity literals, integers of any size."""
    return json.dumps(value, allow_nan=True).encode()


def check_validation(items: list[Any]) -> tuple[dict, int, list]:
    """``validate_readings`` of ``items``, with every invariant of its answer checked."""
    rows, accepted, rejected = validate_readings(
        items, assets=ASSETS, metrics=metrics(), can_write=None, limits=LIMITS
    )
    assert accepted + len(rejected) == len(items)
    indices = [r.index for r in rejected]
    assert indices == sorted(set(indices)) and all(0 <= i < len(items) for i in indices)
    for rejection in rejected:
        assert isinstance(rejection.reason, str) and rejection.reason
        assert len(rejection.reason) <= 200, rejection.reason
        assert not rejection.reason.startswith(INTERNAL_ERROR), rejection.reason
    bounds = {m.id: (m.min_value, m.max_value) for m in metrics().values()}
    for (asset_id, metric_id, ts), value in rows.items():
        assert asset_id in (1, 2) and ts.__class__ is int and value.__class__ is float
        assert LIMITS.oldest_ms <= ts <= LIMITS.newest_ms  # type: ignore[operator]
        low, high = bounds[metric_id]
        assert math.isfinite(value) and low <= value <= high
    return rows, accepted, rejected
