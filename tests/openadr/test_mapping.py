"""The pure mapping of OpenADR events and the opt policy, against hand-computed cases."""

from __future__ import annotations

import datetime as dt

import pytest

from gridpilot.openadr.mapping import Unsupported, flexible_kw, map_event, opts_in

T0 = dt.datetime(2026, 12, 7, 9, 5, tzinfo=dt.UTC)  # 09:05 UTC: off the 15-min grid


def event(name: str, kind: str, payloads: list[float], measurement=None, minutes: int = 50):
    signal = {
        "signal_name": name,
        "signal_type": kind,
        "intervals": [
            {
                "dtstart": T0 + dt.timedelta(minutes=10 * i),
                "duration": dt.timedelta(minutes=10),
                "signal_payload": p,
            }
            for i, p in enumerate(payloads)
        ],
    }
    if measurement:
        signal["measurement"] = measurement
    return {
        "event_descriptor": {"event_id": "E", "modification_number": 3, "event_status": "far"},
        "active_period": {"dtstart": T0, "duration": dt.timedelta(minutes=minutes)},
        "event_signals": [signal],
    }


def ms(hour: int, minute: int) -> int:
    return int(dt.datetime(2026, 12, 7, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


def test_a_simple_level_asks_the_level_times_level_pct():
    mapped = map_event(event("SIMPLE", "level", [1, 3, 2]), level_pct=10, price_pct=5)
    # 09:05 + 50 min = 09:55, widened to whole quarters: 09:00 to 10:00
    assert (mapped.start_ms, mapped.end_ms) == (ms(9, 0), ms(10, 0))
    assert (mapped.signal_kind, mapped.signal_value, mapped.target_pct, mapped.target_kw) == (
        "level",
        3.0,
        30.0,
        None,
    )
    assert (mapped.modification_number, [i["value"] for i in mapped.intervals]) == (3, [1, 3, 2])


def test_load_dispatch_in_watts_is_converted_to_kw():
    measured = {"unit": "W", "scale": "none", "description": "RealPower"}
    mapped = map_event(
        event("LOAD_DISPATCH", "delta", [-12_000, -20_500], measured), level_pct=10, price_pct=5
    )
    assert (mapped.signal_kind, mapped.target_kw) == ("kw_target", 20.5)
    scaled = map_event(
        event("LOAD_DISPATCH", "delta", [2.0], {"unit": "W", "scale": "M"}),
        level_pct=10,
        price_pct=5,
    )
    assert scaled.target_kw == 2000.0


def test_a_price_asks_price_pct():
    mapped = map_event(event("ELECTRICITY_PRICE", "price", [0.31, 0.45]), level_pct=10, price_pct=7)
    assert (mapped.signal_kind, mapped.signal_value, mapped.target_pct) == ("price", 0.45, 7)


@pytest.mark.parametrize(
    ("name", "kind", "payloads", "reason"),
    [
        ("SIMPLE", "level", [0, 0], "asks for no reduction"),
        ("LOAD_DISPATCH", "setpoint", [50], "not supported"),
        ("BID_LOAD", "setpoint", [1], "not supported"),
    ],
)
def test_what_cannot_be_mapped_says_why(name, kind, payloads, reason):
    with pytest.raises(Unsupported, match=reason):
        map_event(event(name, kind, payloads), level_pct=10, price_pct=5)


def test_an_open_ended_event_is_unsupported():
    with pytest.raises(Unsupported, match="open-ended"):
        map_event(event("SIMPLE", "level", [1], minutes=0), level_pct=10, price_pct=5)


def test_flexibility_sums_what_each_resource_can_shed():
    resources = [
        ("curtailable_load", {"shed_kw": 12.0}),
        ("battery", {"discharge_max_kw": 30}),
        ("hvac", {"kw_per_degc": 4.0, "max_offset_degc": 2.5}),
        ("ev_charger", {"power_max_kw": 22}),
        ("pv_curtailment", {"export_limit_kw": 9}),
    ]
    assert flexible_kw(resources) == 12 + 30 + 10 + 22
    assert opts_in("flexibility", target_kw=74.0, flexible=74.0)
    assert not opts_in("flexibility", target_kw=74.1, flexible=74.0)
    assert opts_in("always_in", target_kw=1e6, flexible=0)
    assert not opts_in("always_out", target_kw=0.1, flexible=1e6)
