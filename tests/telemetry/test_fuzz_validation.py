"""Fuzzing (hypothesis) of timestamps, HTTP body decoding, reading validation and WIA production.

Each answers with results, per-reading rejections or its documented error (``ValidationFailed``,
``BadRequest``; pydantic's ``ValidationError`` for a WIA body), never anything else (#13).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError
from tests.telemetry.strategies import (
    FUZZ,
    JSON_VALUES,
    NOW,
    NUMBERS,
    SCALARS,
    TIMESTAMPS,
    UNITS,
    check_validation,
    dumps,
    readings,
)

from gridpilot.core.errors import BadRequest, ValidationFailed
from gridpilot.core.timestamps import MAX_MS, MIN_DATETIME_MS, describe_ms, iso, to_ms
from gridpilot.telemetry.decoding import decode_body
from gridpilot.telemetry.validation import parse_ts
from gridpilot.wia.production import rejections_of, to_readings
from gridpilot.wia.schemas import ProductionData


@FUZZ
@given(TIMESTAMPS)
@example("\x00" * 30)  # escaped, each is 4 characters of the reason
@example("\U000e0000" * 30)
def test_to_ms_and_parse_ts_answer_an_int_or_validation_failed(value):
    for parse in (to_ms, parse_ts):
        try:
            ms = parse(value)
        except ValidationFailed as exc:
            assert exc.message and len(exc.message) <= 120, exc.message
            continue
        assert ms.__class__ is int
        assert describe_ms(ms)  # any int is described without raising


@FUZZ
@given(st.one_of(st.integers(), NUMBERS, JSON_VALUES))
def test_describe_ms_never_raises_and_iso_round_trips_in_range(value):
    assert isinstance(describe_ms(value), str)
    if value.__class__ is not int:
        return
    try:
        text = iso(value)
    except ValidationFailed:
        assert not MIN_DATETIME_MS <= value <= MAX_MS
        return
    assert to_ms(text) == value


@FUZZ
@given(st.lists(readings(), min_size=1, max_size=12))
@example([{"asset": 1, "metric": "power_kw", "ts": 10**20, "value": 1.0}])
@example([{"asset": 1, "metric": "operating_state", "ts": NOW, "value": 10**400}])
def test_validation_returns_rows_and_rejections_only(items):
    check_validation(items)


@FUZZ
@given(st.lists(readings(), min_size=2, max_size=8))
def test_each_reading_is_judged_as_it_would_be_alone(items):
    """The fast path and the full checks agree, whatever comes before a reading."""
    rows, accepted, rejected = check_validation(items)
    alone = [check_validation([item]) for item in items]
    assert accepted == sum(a[1] for a in alone)
    assert [(r.index, r.reason) for r in rejected] == [
        (i, a[2][0].reason) for i, a in enumerate(alone) if a[2]
    ]
    merged: dict = {}
    for a in alone:
        merged.update(a[0])
    assert rows == merged


def _csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["asset", "metric", "ts", "value", "unit"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")  # lone surrogates: invalid UTF-8


BODIES = st.one_of(
    st.binary(max_size=80),
    st.lists(readings(), max_size=6).map(dumps),
    st.lists(readings(), max_size=6).map(lambda items: dumps({"readings": items})),
    st.lists(readings(), max_size=6).map(lambda items: b"\n".join(dumps(i) for i in items)),
    st.lists(st.lists(st.one_of(SCALARS, TIMESTAMPS), max_size=6), max_size=6).map(_csv),
    JSON_VALUES.map(dumps),
)
MEDIA = st.sampled_from(["application/json", "application/x-ndjson", "text/csv", "", "text/plain"])


@FUZZ
@given(BODIES, MEDIA)
def test_http_bodies_decode_to_readings_or_a_documented_error(body, media):
    try:
        items = decode_body(body, media)
    except (BadRequest, ValidationFailed) as exc:
        assert exc.message
        return
    assert isinstance(items, list)
    if items:
        check_validation(items)


PRODUCTION = st.fixed_dictionaries(
    {"timestamp": TIMESTAMPS, "sourceId": st.just("SOLAR-PV-ITA-00001")},
    optional={
        "production": st.fixed_dictionaries(
            {},
            optional={
                "instantaneous": st.fixed_dictionaries(
                    {"value": NUMBERS}, optional={"unit": UNITS}
                ),
                "cumulative": st.fixed_dictionaries(
                    {}, optional={"lifetime": NUMBERS, "unit": UNITS}
                ),
            },
        ),
        "efficiency": st.fixed_dictionaries({}, optional={"current": NUMBERS}),
        "environmentalConditions": st.fixed_dictionaries(
            {}, optional={"temperature": NUMBERS, "windSpeed": NUMBERS}
        ),
    },
)


@FUZZ
@given(st.lists(PRODUCTION, min_size=1, max_size=5))
def test_wia_production_maps_to_readings_and_per_object_rejections(objects):
    items = []
    for obj in objects:
        try:
            items.append(ProductionData.model_validate_json(dumps(obj)))
        except ValidationError:
            continue  # the schema refuses the body: a 422 of its own
    batch = to_readings(items, asset_id=2)
    reading_rejections: list[tuple[int, str]] = []
    if batch.readings:
        _, _, rejected = check_validation(batch.readings)
        reading_rejections = [(r.index, r.reason) for r in rejected]
    for rejection in rejections_of(batch, reading_rejections):
        assert 0 <= rejection.index < len(items) and rejection.reason


@pytest.mark.parametrize(
    "value",
    [10**20, -(10**20), 2**63, 10**4000, -(10**4000), 1e300],
    ids=["1e20", "-1e20", "2^63", "1e4000", "-1e4000", "1e300-float"],
)
def test_describe_ms_of_the_probe_values(value):
    text = describe_ms(value)
    assert "ms" in text and len(text) <= 40
