"""The DR page's pure parts: grouping by status, windows in the site's time, performance,
energy reduced, the chart's steps on the site's wall clock, resources in one line."""

from __future__ import annotations

from datetime import UTC, datetime

from gridpilot.dr.models import DrEvent, DrEventInterval
from gridpilot.flex.schemas import ResourceOut
from gridpilot.web import dr_view as view

T0 = int(datetime(2026, 12, 4, 13, 0, tzinfo=UTC).timestamp() * 1000)  # 14:00 CET
Q = 900_000


def _event(i: int, status: str, start: int, **kw: float | None) -> DrEvent:
    return DrEvent(id=i, site_id=1, status=status, start_ms=start, end_ms=start + 4 * Q,
                   target_reduction_kw=20.0, **kw)  # fmt: skip


def _row(k: int, baseline: float, metered: float | None) -> DrEventInterval:
    return DrEventInterval(
        event_id=1, ts_ms=T0 + k * Q, baseline_kw=baseline, target_kw=baseline - 20.0,
        metered_kw=metered, reduction_kw=None if metered is None else baseline - metered,
    )  # fmt: skip


def test_group_by_status_and_order():
    events = [_event(1, "completed", T0 - 86_400_000), _event(2, "scheduled", T0 + 2 * Q),
              _event(3, "scheduled", T0 + Q), _event(4, "active", T0),
              _event(5, "cancelled", T0 - 3600_000)]  # fmt: skip
    grouped = view.group(events)
    assert [e.id for e in grouped.active] == [4]
    assert [e.id for e in grouped.upcoming] == [3, 2]  # soonest first
    assert [e.id for e in grouped.past] == [5, 1]  # newest first


def test_window_and_performance_in_words():
    event = _event(1, "completed", T0, achieved_reduction_kw=15.0, performance_pct=75.0)
    assert view.window(event, "Europe/Rome") == "2026-12-04 14:00 CET \u2013 15:00 CET"
    assert view.performance(event) == "15.0 kW of 20.0 kW (75 %)"
    assert view.performance(_event(2, "scheduled", T0)) == "target 20.0 kW"


def test_energy_reduced_and_the_chart_steps_on_the_sites_clock():
    rows = [_row(0, 100.0, 70.0), _row(1, 100.0, 90.0), _row(2, 100.0, None)]
    assert view.reduced_kwh(rows) == 10.0  # (30 + 10) kW x 0.25 h
    assert view.interval_stats(rows) == {"reduced": "10.0 kWh", "measured": "2 of 3",
                                         "mean": "20.0 kW"}  # fmt: skip
    options = view.event_chart(rows, "Europe/Rome")
    assert options["useUTC"] is True
    by_name = {s["name"]: s["data"] for s in options["series"]}
    hour = 3_600_000  # CET = UTC + 1 h: 14:00 on the axis
    assert by_name["Actual"] == [[T0 + hour, 70.0], [T0 + hour + Q, 90.0],
                                 [T0 + hour + 2 * Q, None], [T0 + hour + 3 * Q, None]]  # fmt: skip
    assert by_name["Target load"][0] == [T0 + hour, 80.0]
    assert all(s["step"] == "end" for s in options["series"])


def test_measured_intervals_from_a_performance_message_update_the_shown_rows():
    """The page keeps ``Interval`` copies and writes a ``dr_event.performance`` message's
    intervals into them (no database read); an interval it does not show is ignored."""
    rows = view.intervals_of([_row(0, 100.0, 70.0), _row(1, 100.0, None), _row(2, 100.0, None)])
    message = {"event_id": 1, "intervals": [
        {"ts_ms": T0 + Q, "baseline_kw": 100.0, "target_kw": 80.0, "metered_kw": 85.0,
         "reduction_kw": 15.0},
        {"ts_ms": T0 + 9 * Q, "metered_kw": 1.0, "reduction_kw": 99.0},
    ]}  # fmt: skip
    assert view.apply_measured(rows, message) is True
    assert [(r.metered_kw, r.reduction_kw) for r in rows] == [(70.0, 30.0), (85.0, 15.0),
                                                               (None, None)]  # fmt: skip
    assert view.interval_stats(rows)["mean"] == "22.5 kW"
    assert view.apply_measured(rows, message) is False  # the same again: nothing to redraw


def test_resource_lines_have_units():
    stamp = datetime(2026, 12, 4, tzinfo=UTC)
    hvac = ResourceOut.model_validate({
        "id": 1, "site_id": 1, "kind": "hvac", "name": "HVAC", "asset_id": None, "enabled": True,
        "auto_dispatch": False, "params": {"kw_per_degc": 2.5, "max_offset_degc": 2},
        "created_at": stamp, "updated_at": stamp,
    })  # fmt: skip
    assert view.resource_line(hvac) == "2.5 kW per \u00b0C, up to 2 \u00b0C"
