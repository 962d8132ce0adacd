"""Pure topic parsing and payload decoding, with recorded device payloads (payloads/)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gridpilot.ingest.decoders import (
    PayloadError,
    decode_telemetry,
    excerpt,
)
from gridpilot.ingest.mqtt_topics import TopicRef, parse_topic, subscription_filters
from gridpilot.telemetry.validation import parse_ts

PAYLOADS = Path(__file__).parent / "payloads"
RECEIVED = 1_756_980_000_000


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


T = TopicRef


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("gridpilot/3/17/telemetry", T("gridpilot", "3", "17", "telemetry")),
        (
            "gridpilot/3/SOLAR-PV-ITA-00001/status",
            T("gridpilot", "3", "SOLAR-PV-ITA-00001", "status"),
        ),
        ("gridpilot/3/17/commands/ack", T("gridpilot", "3", "17", "ack")),
        ("sites/s1/devices/inv-9/telemetry", T("fleet", "s1", "inv-9", "telemetry")),
        (
            "sites/s1/devices/inv-9/telemetry/power_kw",
            T("fleet", "s1", "inv-9", "telemetry", "power_kw"),
        ),
        ("sites/s1/devices/inv-9/status", T("fleet", "s1", "inv-9", "status")),
        (
            "energy/plant/123/device/DEVICE001/measurements",
            T("cer", "123", "DEVICE001", "telemetry"),
        ),
        ("energy/plant/123/device/DEVICE001/commands/ack", T("cer", "123", "DEVICE001", "ack")),
    ],
)
def test_known_topics_parse(topic, expected):
    assert parse_topic(topic) == expected
    assert parse_topic("plant7/" + topic, "plant7/") == expected


@pytest.mark.parametrize(
    "topic",
    [
        "gridpilot/3/17",
        "gridpilot/3/17/commands",  # our own outbound topic
        "gridpilot/3//telemetry",
        "gridpilot/3/17/telemetry/extra",
        "sites/s1/devices/inv-9/measurements",
        "energy/plant/123/device/D1/telemetry",
        "other/plant/123/device/D1/measurements",
        "",
    ],
)
def test_unknown_topics_are_none(topic):
    assert parse_topic(topic) is None


def test_topic_outside_the_prefix_is_unknown():
    assert parse_topic("gridpilot/3/17/telemetry", "plant7/") is None


def test_subscription_filters_use_prefix_and_share_group():
    plain = subscription_filters("p/")
    shared = subscription_filters("p/", "gridpilot")
    assert "p/gridpilot/+/+/telemetry" in plain
    assert "$share/gridpilot/p/energy/plant/+/device/+/measurements" in shared
    assert len(plain) == len(shared) == 10


def test_cer_seed_message_maps_every_field():
    ref = parse_topic("energy/plant/123/device/DEVICE001/measurements")
    assert ref is not None
    readings = decode_telemetry(ref, payload("cer_device_message.json"), received_ms=RECEIVED)
    by_metric = {r["metric"]: r for r in readings}
    assert set(by_metric) == {
        "energy_produced_kwh", "energy_consumed_kwh", "power_produced_kw", "power_consumed_kw",
        "voltage_v", "current_a", "frequency_hz", "power_factor",
        "device_battery_pct", "signal_strength_dbm",
    }  # fmt: skip
    assert by_metric["voltage_v"] == {
        "metric": "voltage_v", "ts": "2025-09-04T10:00:00Z", "value": 230.5, "unit": "V"
    }  # fmt: skip
    assert by_metric["power_factor"] == {
        "metric": "power_factor", "ts": "2025-09-04T10:00:00Z", "value": 0.95
    }  # fmt: skip
    assert by_metric["signal_strength_dbm"]["value"] == -45


def test_cer_message_for_another_device_is_refused():
    ref = parse_topic("energy/plant/123/device/DEVICE002/measurements")
    assert ref is not None
    with pytest.raises(PayloadError, match="device_id"):
        decode_telemetry(ref, payload("cer_device_message.json"), received_ms=RECEIVED)


def test_gridpilot_single_and_batched_messages():
    ref = TopicRef("gridpilot", "1", "2", "telemetry")
    single = decode_telemetry(ref, payload("gridpilot_single.json"), received_ms=RECEIVED)
    assert single == [
        {"metric": "power_kw", "ts": "2025-09-04T10:00:00Z", "value": 4.2},
        {"metric": "energy_kwh", "ts": "2025-09-04T10:00:00Z", "value": 1234.5},
    ]
    batch = decode_telemetry(ref, payload("gridpilot_batch.json"), received_ms=RECEIVED)
    assert [r["metric"] for r in batch] == ["power_kw", "power_kw", "power_kw", "voltage_v"]
    assert batch[1] == {"metric": "power_kw", "ts": 1756980060000, "value": 4300, "unit": "W"}
    assert parse_ts(batch[2]["ts"]) == 1756980120000  # epoch seconds pass through


def test_fleet_flat_object_and_metric_topics():
    ref = TopicRef("fleet", "s1", "inv-9", "telemetry")
    flat = decode_telemetry(ref, payload("fleet_flat.json"), received_ms=RECEIVED)
    assert {r["metric"]: r["value"] for r in flat} == {"power_kw": -2.5, "soc_pct": 71}
    assert parse_ts(flat[0]["ts"]) == parse_ts("2025-09-04T08:00:00Z")
    metric_ref = TopicRef("fleet", "s1", "inv-9", "telemetry", "power_kw")
    number = decode_telemetry(metric_ref, payload("fleet_metric_number.txt"), received_ms=RECEIVED)
    assert number == [{"metric": "power_kw", "ts": RECEIVED, "value": 3.25}]
    obj = decode_telemetry(metric_ref, payload("fleet_metric_object.json"), received_ms=RECEIVED)
    assert obj == [{"metric": "power_kw", "ts": "2025-09-04T10:00:00Z", "value": 5100, "unit": "W"}]


def test_nan_literal_decodes_so_validation_rejects_only_that_reading():
    ref = TopicRef("gridpilot", "1", "2", "telemetry")
    readings = decode_telemetry(ref, payload("gridpilot_nan.json"), received_ms=RECEIVED)
    assert math.isnan(readings[0]["value"])
    assert readings[1]["value"] == 230


@pytest.mark.parametrize(
    ("name", "ref", "reason"),
    [
        ("garbage_truncated.json", TopicRef("gridpilot", "1", "2", "telemetry"), "invalid JSON"),
        ("garbage_binary.bin", TopicRef("gridpilot", "1", "2", "telemetry"), "invalid JSON"),
        ("fleet_metric_number.txt", TopicRef("gridpilot", "1", "2", "telemetry"), "JSON object"),
        ("gridpilot_single.json", TopicRef("cer", "1", "2", "telemetry"), "no measurements"),
    ],
)
def test_undecodable_payloads_raise_payload_error(name, ref, reason):
    with pytest.raises(PayloadError, match=reason):
        decode_telemetry(ref, payload(name), received_ms=RECEIVED)


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"ts": 1, "values": []}', b'{"ts": 1}', b"", b'{"ts": 1, "values": {}}'],
)
def test_empty_or_misshapen_messages_raise(body):
    ref = TopicRef("gridpilot", "1", "2", "telemetry")
    with pytest.raises(PayloadError):
        decode_telemetry(ref, body, received_ms=RECEIVED)


def test_excerpt_truncates_and_escapes_binary():
    assert excerpt(b"abc") == "abc"
    long = excerpt(b"x" * 2000, limit=10)
    assert long.startswith("xxxxxxxxxx...") and "2000 bytes" in long
    assert "\\xff" in excerpt(payload("garbage_binary.bin"))
