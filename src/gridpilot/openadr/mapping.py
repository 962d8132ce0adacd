"""From an OpenADR 2.0b event (as openleadr parses it) to what a gridpilot DR event needs, and
the opt decision. Pure functions: no database, no I/O.

Signals (the event's first signal; OpenADR 2.0b profile specification, signal names and types):

- ``SIMPLE`` / ``level`` (0-3): signal ``level``, target = highest level x ``level_pct`` % of
  the baseline;
- ``ELECTRICITY_PRICE`` / ``price``, ``priceRelative``, ``priceMultiplier``: signal ``price``,
  target = ``price_pct`` % of the baseline;
- ``LOAD_DISPATCH`` / ``delta``: signal ``kw_target``, target = largest abs(payload) [kW].

The window is the event's active period widened to whole 15-min intervals. Power payloads are
converted to kW from the signal's measurement (unit W with SI scale none / k / M; no measurement:
kW).

References: OpenADR Alliance, "OpenADR 2.0b Profile Specification" (2015), sections 8.2
(event signals) and 8.4 (opt).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

QUARTER_MS = 15 * 60_000
#: Factor from a power payload of SI scale ``scale`` (unit W) to kW.
SCALE_TO_KW = {"none": 1e-3, "k": 1.0, "M": 1e3, "G": 1e6}
PRICE_TYPES = ("price", "priceRelative", "priceMultiplier")
POLICIES = ("always_in", "always_out", "flexibility")


class Unsupported(ValueError):
    """An event gridpilot cannot map (its reason is recorded and the VEN opts out)."""


@dataclass(frozen=True)
class Mapped:
    """A received event in gridpilot's terms: window [ms], signal, and the target as kW or as a
    percentage of the baseline (one of the two)."""

    event_id: str
    modification_number: int
    status: str
    start_ms: int
    end_ms: int
    signal_name: str
    signal_type: str
    signal_kind: str  # kw_target | level | price
    signal_value: float
    intervals: list[dict[str, Any]]
    target_kw: float | None
    target_pct: float | None


def to_ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        raise Unsupported("a naive time in the event")
    return int(value.timestamp() * 1000)


def _intervals(signal: Mapping[str, Any], default_start_ms: int) -> list[dict[str, Any]]:
    rows = []
    start = default_start_ms
    for interval in signal.get("intervals") or []:
        if interval.get("dtstart") is not None:
            start = to_ms(interval["dtstart"])
        duration = int(interval["duration"].total_seconds() * 1000)
        rows.append(
            {"start_ms": start, "duration_ms": duration, "value": float(interval["signal_payload"])}
        )
        start += duration
    if not rows:
        raise Unsupported("the event's signal has no intervals")
    return rows


def _kw_factor(signal: Mapping[str, Any]) -> float:
    measurement = signal.get("measurement") or {}
    scale = measurement.get("scale") or ("k" if not measurement else "none")
    if scale not in SCALE_TO_KW:
        raise Unsupported(f"power scale {scale!r} is not supported")
    return SCALE_TO_KW[scale]


def _window(event: Mapping[str, Any]) -> tuple[int, int]:
    period = event.get("active_period") or {}
    start_ms = to_ms(period["dtstart"])
    duration = period.get("duration")
    if duration is None or duration.total_seconds() <= 0:
        raise Unsupported("open-ended events (no duration) are not supported")
    end_ms = start_ms + int(duration.total_seconds() * 1000)
    start = start_ms - start_ms % QUARTER_MS
    end = end_ms + (-end_ms) % QUARTER_MS
    return start, end


def _signals(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    signals = event.get("event_signals") or []
    if isinstance(signals, Mapping):
        signals = signals.get("event_signals") or []
    if not signals:
        raise Unsupported("the event has no signal")
    return list(signals)


def map_event(event: Mapping[str, Any], *, level_pct: float, price_pct: float) -> Mapped:
    """The gridpilot reading of an openleadr event dict; ``Unsupported`` with the reason."""
    descriptor = event["event_descriptor"]
    start_ms, end_ms = _window(event)
    signal = _signals(event)[0]
    name, kind = str(signal["signal_name"]), str(signal["signal_type"])
    rows = _intervals(signal, start_ms)
    values = [r["value"] for r in rows]
    target_kw = target_pct = None
    if name == "SIMPLE" and kind == "level":
        signal_kind, value = "level", max(values)
        target_pct = value * level_pct
    elif name == "ELECTRICITY_PRICE" and kind in PRICE_TYPES:
        signal_kind, value = "price", max(values)
        target_pct = price_pct
    elif name == "LOAD_DISPATCH" and kind == "delta":
        signal_kind = "kw_target"
        value = round(max(abs(v) for v in values) * _kw_factor(signal), 6)
        target_kw = value
    else:
        raise Unsupported(f"signal {name} of type {kind} is not supported")
    if (target_kw is not None and target_kw <= 0) or (target_pct is not None and target_pct <= 0):
        raise Unsupported(f"signal {name} {value:g} asks for no reduction")
    return Mapped(
        event_id=str(descriptor["event_id"]),
        modification_number=int(descriptor.get("modification_number") or 0),
        status=str(descriptor.get("event_status") or "far"),
        start_ms=start_ms,
        end_ms=end_ms,
        signal_name=name,
        signal_type=kind,
        signal_kind=signal_kind,
        signal_value=value,
        intervals=rows,
        target_kw=target_kw,
        target_pct=None if target_pct is None else min(target_pct, 100.0),
    )


def flexible_kw(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> float:
    """The load a site can shed at once [kW]: the sum over its enabled flexible resources
    ``(kind, params)`` of curtailable ``shed_kw``, battery ``discharge_max_kw``, HVAC
    ``kw_per_degc * max_offset_degc``, EV charger and deferrable load ``power_max_kw``."""
    total = 0.0
    for kind, params in resources:
        if kind == "curtailable_load":
            total += float(params.get("shed_kw", 0))
        elif kind == "battery":
            total += float(params.get("discharge_max_kw", 0))
        elif kind == "hvac":
            total += float(params.get("kw_per_degc", 0)) * float(params.get("max_offset_degc", 0))
        elif kind in ("ev_charger", "deferrable_load"):
            total += float(params.get("power_max_kw", 0))
    return total


def opts_in(policy: str, *, target_kw: float, flexible: float) -> bool:
    """Whether a site takes part: ``always_in``, ``always_out``, or ``flexibility`` (its
    flexible kW cover the target kW)."""
    if policy == "always_in":
        return True
    if policy == "always_out":
        return False
    return flexible >= target_kw
