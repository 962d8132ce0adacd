"""Payload decoders of the MQTT telemetry families (pure: no I/O, no clock).

Each decoder turns one message payload into raw readings ``{"metric", "ts", "value"[, "unit"]}``
(the shape ``gridpilot.telemetry.service.ingest`` accepts, minus ``asset``, which the worker
adds after resolving the topic's device segment). Values are passed through as sent: the
telemetry validation rejects non-numbers, unknown metrics and implausible values one reading at
a time. A payload that cannot be decoded at all raises ``PayloadError``.

Payloads:

* gridpilot and fleet ``.../telemetry``: ``{"ts": T, "values": {"power_kw": 3.2, ...}}`` or a
  JSON array of such objects (batched); a value may be ``{"value": 3200, "unit": "W"}``; the
  flat form ``{"ts": T, "power_kw": 3.2}`` is accepted too.
* fleet ``.../telemetry/{metric}``: a bare number (``3.2``) or ``{"ts": T, "value": 3.2,
  "unit"?: "kW"}``.
* cer ``.../measurements``: the energy-community seed's device message (or an array of them);
  see ``CER_MEASUREMENTS`` and ``CER_STATUS`` for the metric each field becomes.

``T`` is ISO-8601 or epoch seconds/milliseconds; when a message carries no timestamp the
broker-receive time ``received_ms`` is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from gridpilot.ingest.mqtt_topics import TopicRef
from gridpilot.telemetry.validation import shown

RawReading = dict[str, Any]

#: Keys that carry the timestamp of a telemetry object (first present wins).
TS_KEYS = ("ts", "timestamp", "time")

#: CER ``measurements`` field -> (metric key, unit of the sent value or None for unitless).
CER_MEASUREMENTS: dict[str, tuple[str, str | None]] = {
    "energy_produced": ("energy_produced_kwh", "kWh"),
    "energy_consumed": ("energy_consumed_kwh", "kWh"),
    "power_produced": ("power_produced_kw", "kW"),
    "power_consumed": ("power_consumed_kw", "kW"),
    "voltage": ("voltage_v", "V"),
    "current": ("current_a", "A"),
    "frequency": ("frequency_hz", "Hz"),
    "power_factor": ("power_factor", None),
}
#: CER ``status`` field -> (metric key, unit); ``last_seen`` is not a reading.
CER_STATUS: dict[str, tuple[str, str | None]] = {
    "battery_level": ("device_battery_pct", "%"),
    "signal_strength": ("signal_strength_dbm", "dBm"),
}
#: Metrics the CER mapping needs beyond the built-in catalogue:
#: (key, unit, kind, description, min, max). The worker creates them when missing.
CER_EXTRA_METRICS: tuple[tuple[str, str, str, str, float | None, float | None], ...] = (
    ("energy_produced_kwh", "kWh", "cumulative", "Produced energy register (CER)", 0, 1e13),
    ("energy_consumed_kwh", "kWh", "cumulative", "Consumed energy register (CER)", 0, 1e13),
    ("power_produced_kw", "kW", "instantaneous", "Produced active power (CER)", 0, 1e7),
    ("power_consumed_kw", "kW", "instantaneous", "Consumed active power (CER)", 0, 1e7),
    ("device_battery_pct", "%", "instantaneous", "Device battery level", 0, 100),
    ("signal_strength_dbm", "dBm", "instantaneous", "Device radio signal strength", -200, 50),
)


class PayloadError(ValueError):
    """The payload cannot be decoded; ``str(exc)`` is the dead-letter reason."""


def parse_json(payload: bytes) -> Any:
    """JSON of ``payload`` (orjson; the standard parser accepts NaN/Infinity literals too)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        pass
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"invalid JSON: the payload is not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"invalid JSON: {exc}") from None


def _timestamp(obj: Mapping[str, Any], received_ms: int) -> Any:
    for key in TS_KEYS:
        value = obj.get(key)
        if value is not None:
            return value
    return received_ms


def _reading(metric: str, ts: Any, value: Any, unit: Any = None) -> RawReading:
    reading: RawReading = {"metric": metric, "ts": ts, "value": value}
    if unit is not None:
        reading["unit"] = unit
    return reading


def _value_and_unit(value: Any) -> tuple[Any, Any]:
    """``3.2`` -> (3.2, None); ``{"value": 3200, "unit": "W"}`` -> (3200, "W")."""
    if value.__class__ is not float and isinstance(value, Mapping):
        return value.get("value"), value.get("unit")
    return value, None


def _objects(data: Any, what: str) -> list[Mapping[str, Any]]:
    if data.__class__ is dict:  # the common single object
        return [data]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise PayloadError(f"{what}: the array is empty")
    for position, item in enumerate(items):
        if item.__class__ is not dict and not isinstance(item, Mapping):
            where = f" (item {position})" if isinstance(data, list) else ""
            raise PayloadError(f"{what}: expected a JSON object{where}, got {type(item).__name__}")
    return items


def decode_values_message(payload: bytes, *, received_ms: int) -> list[RawReading]:
    """Readings of a gridpilot/fleet ``.../telemetry`` payload (object or array of objects)."""
    readings: list[RawReading] = []
    for obj in _objects(parse_json(payload), "telemetry"):
        ts = _timestamp(obj, received_ms)
        values = obj.get("values")
        if values is None:
            values = {k: v for k, v in obj.items() if k not in TS_KEYS}
        elif values.__class__ is not dict and not isinstance(values, Mapping):
            raise PayloadError(f'"values" must be an object of metric: value, not {shown(values)}')
        if not values:
            raise PayloadError("telemetry object has no values")
        for metric, raw in values.items():
            if raw.__class__ is float or raw.__class__ is int:  # the common bare number
                readings.append({"metric": metric, "ts": ts, "value": raw})
                continue
            value, unit = _value_and_unit(raw)
            readings.append(_reading(str(metric), ts, value, unit))
    return readings


def decode_metric_message(payload: bytes, metric: str, *, received_ms: int) -> list[RawReading]:
    """Readings of a fleet ``.../telemetry/{metric}`` payload: a number or ``{"ts","value"}``."""
    text = payload.strip()
    if not text:
        raise PayloadError("empty payload")
    data = parse_json(text)
    if isinstance(data, Mapping):
        value, unit = _value_and_unit(data)
        if "value" not in data:
            raise PayloadError('a metric message object needs "value"')
        return [_reading(metric, _timestamp(data, received_ms), value, unit)]
    if isinstance(data, list):
        return [
            _reading(metric, _timestamp(o, received_ms), *_value_and_unit(o))
            for o in _objects(data, "metric message")
        ]
    return [_reading(metric, received_ms, data)]


def _cer_fields(
    section: Any, mapping: Mapping[str, tuple[str, str | None]], ts: Any, name: str
) -> list[RawReading]:
    if section is None:
        return []
    if not isinstance(section, Mapping):
        raise PayloadError(f'"{name}" must be an object')
    readings: list[RawReading] = []
    for field, value in section.items():
        if name == "status" and field not in mapping:
            continue  # status also carries non-readings (last_seen...)
        metric, unit = mapping.get(field, (str(field), None))
        readings.append(_reading(metric, ts, value, unit))
    return readings


def decode_cer_message(payload: bytes, ref: TopicRef, *, received_ms: int) -> list[RawReading]:
    """Readings of an energy-community ``measurements`` device message (object or array).

    ``device_id``/``plant_id`` in the message, when present, must match the topic's.
    """
    readings: list[RawReading] = []
    for obj in _objects(parse_json(payload), "device message"):
        device = obj.get("device_id")
        if device is not None and str(device) != ref.device:
            raise PayloadError(
                f"device_id {shown(device)} does not match the topic's {ref.device!r}"
            )
        plant = obj.get("plant_id")
        if plant is not None and str(plant) != ref.site:
            raise PayloadError(f"plant_id {shown(plant)} does not match the topic's {ref.site!r}")
        ts = _timestamp(obj, received_ms)
        found = _cer_fields(obj.get("measurements"), CER_MEASUREMENTS, ts, "measurements")
        found += _cer_fields(obj.get("status"), CER_STATUS, ts, "status")
        if not found:
            raise PayloadError("device message has no measurements")
        readings += found
    return readings


def decode_telemetry(ref: TopicRef, payload: bytes, *, received_ms: int) -> list[RawReading]:
    """Readings (without ``asset``) of a telemetry message on the topic ``ref``."""
    if ref.kind != "telemetry":
        raise PayloadError(f"{ref.kind} messages carry no telemetry")
    if ref.family == "cer":
        return decode_cer_message(payload, ref, received_ms=received_ms)
    if ref.metric is not None:
        return decode_metric_message(payload, ref.metric, received_ms=received_ms)
    return decode_values_message(payload, received_ms=received_ms)


def excerpt(payload: bytes, limit: int = 500) -> str:
    """The first ``limit`` characters of ``payload`` for a dead letter (binary and NUL escaped)."""
    head = payload[: limit * 4]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("utf-8", errors="backslashreplace")
    text = text.replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL
    if len(text) > limit or len(payload) > len(head):
        return text[:limit] + f"... ({len(payload)} bytes)"
    return text
