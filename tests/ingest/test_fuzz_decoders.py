"""Fuzzing (hypothesis) of the MQTT path's pure parts: topics, payload decoders, the validation of
what they decode, status/ack parsing and the dead-letter excerpt (#13).

Each answers with results or its documented error (``PayloadError`` for a payload,
``ValidationFailed`` for a status/ack), never anything else: an unexpected exception is what
once stopped MQTT ingestion for good.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from tests.telemetry.strategies import (
    FUZZ,
    GOOD_FIELDS,
    JSON_VALUES,
    NOW,
    NUMBERS,
    SCALARS,
    TIMESTAMPS,
    UNITS,
    check_validation,
    dumps,
)

from gridpilot.control.inbound import parse_ack, parse_status
from gridpilot.core.errors import ValidationFailed
from gridpilot.ingest.decoders import (
    CER_MEASUREMENTS,
    CER_STATUS,
    PayloadError,
    decode_telemetry,
    excerpt,
)
from gridpilot.ingest.mqtt_topics import TopicRef, parse_topic

REFS = st.sampled_from(
    [
        TopicRef("gridpilot", "1", "1", "telemetry"),
        TopicRef("fleet", "s1", "1", "telemetry"),
        TopicRef("fleet", "s1", "1", "telemetry", "power_kw"),
        TopicRef("cer", "123", "DEVICE001", "telemetry"),
        TopicRef("gridpilot", "1", "1", "status"),
    ]
)
METRICS = st.one_of(st.sampled_from(["power_kw", "energy_kwh", "voltage_v", "nope"]), st.text())
PLAUSIBLE = st.floats(-1000, 1000)
VALUES = st.one_of(
    PLAUSIBLE,
    NUMBERS,
    JSON_VALUES,
    st.fixed_dictionaries({"value": st.one_of(NUMBERS, JSON_VALUES)}, optional={"unit": UNITS}),
)
STAMPS = st.one_of(TIMESTAMPS, GOOD_FIELDS["ts"])
TS_FIELDS = {"ts": STAMPS, "timestamp": STAMPS, "time": STAMPS}
TELEMETRY = st.one_of(
    st.fixed_dictionaries(
        {"ts": STAMPS, "values": st.dictionaries(st.sampled_from(["power_kw"]), PLAUSIBLE)}
    ),
    st.fixed_dictionaries(
        {}, optional={**TS_FIELDS, "values": st.one_of(st.dictionaries(METRICS, VALUES), SCALARS)}
    ),
    st.dictionaries(st.one_of(METRICS, st.sampled_from(list(TS_FIELDS))), VALUES, max_size=4),
)
CER_KEYS = st.sampled_from([*CER_MEASUREMENTS, *CER_STATUS, "last_seen", "other"])
CER = st.fixed_dictionaries(
    {},
    optional={
        **TS_FIELDS,
        "device_id": st.one_of(st.just("DEVICE001"), SCALARS, JSON_VALUES),
        "plant_id": st.one_of(st.just(123), st.just("123"), SCALARS),
        "measurements": st.one_of(st.dictionaries(CER_KEYS, VALUES, max_size=4), SCALARS),
        "status": st.one_of(st.dictionaries(CER_KEYS, VALUES, max_size=3), SCALARS),
    },
)
MESSAGES = st.one_of(TELEMETRY, CER, VALUES, st.lists(st.one_of(TELEMETRY, CER), max_size=3))
PAYLOADS = st.one_of(MESSAGES.map(dumps), st.binary(max_size=64), NUMBERS.map(dumps))


@FUZZ
@given(REFS, PAYLOADS)
@example(TopicRef("gridpilot", "1", "1", "telemetry"), b'{"ts": 1e20, "values": {"power_kw": 1}}')
@example(TopicRef("fleet", "s", "1", "telemetry", "power_kw"), b'{"ts": -1e20, "value": 1}')
def test_decoders_answer_readings_or_payload_error_and_validation_judges_each(ref, payload):
    try:
        decoded = decode_telemetry(ref, payload, received_ms=NOW)
    except PayloadError as exc:
        assert str(exc) and len(str(exc)) <= 200, str(exc)
        return
    assert decoded, "a decodable message has readings"
    items: list[Any] = []
    for reading in decoded:
        assert set(reading) <= {"metric", "ts", "value", "unit"}
        assert isinstance(reading["metric"], str)
        items.append({**reading, "asset": 1})
    check_validation(items)


@FUZZ
@given(st.text(max_size=120), st.sampled_from(["", "p/", "t1/"]))
def test_any_topic_parses_to_a_ref_or_none(topic, prefix):
    ref = parse_topic(topic, prefix)
    assert ref is None or isinstance(ref, TopicRef)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=64),
        st.fixed_dictionaries(
            {"status": st.one_of(st.sampled_from(["online", "offline"]), SCALARS)},
            optional={"ts": TIMESTAMPS},
        ).map(dumps),
        st.fixed_dictionaries(
            {
                "command_id": st.one_of(st.integers(), NUMBERS, SCALARS),
                "state": st.sampled_from(["acknowledged", "succeeded", "failed", "lost"]),
            },
            optional={"ts": TIMESTAMPS, "detail": SCALARS},
        ).map(dumps),
    )
)
@example(b'{"status": "online", "ts": -100000000000000000000}')
@example(b'{"command_id": 7, "state": "failed", "ts": "0001-01-01T00:00:00Z"}')
@example(b'{"command_id": "%s", "state": "failed"}' % (b"9" * 5000))
def test_status_and_ack_parse_or_raise_validation_failed(payload):
    """Event times are never after reception nor before 1970: both are stored and shown."""
    for parse in (parse_status, parse_ack):
        try:
            parsed = parse(payload, NOW)
        except ValidationFailed as exc:
            assert exc.message
            continue
        event_ms = parsed[-1]
        assert event_ms.__class__ is int and 0 <= event_ms <= NOW


@FUZZ
@given(st.binary(max_size=3000), st.integers(1, 600))
def test_excerpt_is_storable_text(payload, limit):
    text = excerpt(payload, limit)
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogates
