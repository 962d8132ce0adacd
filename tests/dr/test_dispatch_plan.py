"""What dispatch makes of each kind of flexible resource (pure, hand-computed): lighting dimmed
below its draw, a deferrable load capped within what its window lets it make up, a battery
discharging one interval at a time and handed back to its flex schedule, and the windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.dr.dr_data import local_ms

from gridpilot.analytics import dr_dispatch as dd
from gridpilot.dr.dispatch_plan import (
    AssetState,
    Candidate,
    EventSpan,
    candidate,
    command_for,
    handback,
    restore_steps,
    shed_steps,
    window_close_ms,
)
from gridpilot.flex.schedule_schemas import BatteryStepOut, ScheduleOut, StepOut
from gridpilot.flex.schemas import ResourceOut

ROME = "Europe/Rome"
Q = 900_000
START, END = local_ms("2026-11-25 14:00"), local_ms("2026-11-25 16:00")
SPAN = EventSpan([START + k * Q for k in range(8)], Q, END, ROME)


def resource(kind: str, name: str, params: dict, rid: int = 1, **extra) -> ResourceOut:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    return ResourceOut.model_validate({
        "id": rid, "site_id": 1, "kind": kind, "name": name, "asset_id": 10 + rid,
        "enabled": True, "auto_dispatch": extra.get("auto_dispatch", False), "params": params,
        "created_at": now, "updated_at": now,
    })  # fmt: skip


LIGHTS = resource("curtailable_load", "Lights", {"shed_kw": 20, "cost_eur_per_kwh": 0.4})
PRESS = resource(
    "deferrable_load", "Press",
    {"energy_kwh": 800, "power_max_kw": 200, "window_start": "06:00", "window_end": "22:00"},
    rid=2,
)  # fmt: skip


def test_window_close_in_local_time_overnight_whole_day_and_dst():
    assert window_close_ms(START, ROME, "06:00", "22:00") == local_ms("2026-11-25 22:00")
    assert window_close_ms(local_ms("2026-11-25 23:00"), ROME, "06:00", "22:00") is None
    night = ("22:00", "06:00")
    assert window_close_ms(local_ms("2026-11-25 02:00"), ROME, *night) == local_ms(
        "2026-11-25 06:00"
    )
    assert window_close_ms(local_ms("2026-11-25 23:00"), ROME, *night) == local_ms(
        "2026-11-26 06:00"
    )
    assert window_close_ms(START, ROME, "00:00", "24:00") == local_ms("2026-11-26 00:00")
    # the spring-forward day has 23 hours: the whole-day window closes at the next midnight
    spring = local_ms("2026-03-29 12:00")
    closes = window_close_ms(spring, ROME, "00:00", "24:00")
    assert closes == local_ms("2026-03-30 00:00")
    assert closes - local_ms("2026-03-29 00:00") == 23 * 3_600_000


def test_lighting_is_dimmed_below_its_draw_and_released_to_its_rating():
    """Drawing 35 kW: dimmable by min(20, 35) = 20 kW; 12 kW is a 23 kW limit; released to the
    asset's 63 kW. At night (3 kW drawn) it can give 3 kW at most."""
    asset = AssetState(kind="lighting", rated_kw=63.0, draw_kw=35.0)
    c = candidate(LIGHTS, span=SPAN, asset=asset)
    assert isinstance(c, Candidate) and c.mode == "dim"
    assert (c.shed.max_kw, c.shed.on_off, c.shed.cost_eur_per_kwh) == (20.0, False, 0.4)
    assert command_for(c, 12.0, 900) == ("set_power_limit", {"limit_kw": 23.0})
    assert command_for(c, 0.0, 900) == ("set_power_limit", {"limit_kw": 63.0})
    night = candidate(LIGHTS, span=SPAN, asset=AssetState(kind="lighting", draw_kw=3.0))
    assert isinstance(night, Candidate) and night.shed.max_kw == 3.0
    assert night.release_kw == 40.0  # no rating: twice the larger of draw and shed_kw
    unread = candidate(LIGHTS, span=SPAN, asset=AssetState(kind="lighting"))
    assert unread == "Lights: no power reading in the last 15 min: its dimming level cannot be set"
    off = AssetState(kind="lighting", attributes={"dimmable": False})
    switched = candidate(LIGHTS, span=SPAN, asset=off)
    assert isinstance(switched, Candidate) and switched.mode == "switch"
    assert command_for(switched, 20.0, 900) == ("stop", {})
    chiller = candidate(LIGHTS, span=SPAN, asset=AssetState(kind="chiller", draw_kw=50.0))
    assert isinstance(chiller, Candidate) and chiller.mode == "switch"


def test_a_deferrable_load_is_capped_within_what_its_window_lets_it_make_up():
    """Drawing 120 kW of its 200 kW, window until 22:00, event ending 16:00: 80 kW x 6 h =
    480 kWh could be made up, less the 30 kWh held back already: 450 kWh."""
    asset = AssetState(kind="injection_molding", draw_kw=120.0, deferred_kwh=30.0)
    c = candidate(PRESS, span=SPAN, asset=asset)
    assert isinstance(c, Candidate) and c.mode == "defer"
    assert c.shed.max_kw == 120.0 and c.shed.energy_kwh == pytest.approx(450.0)
    assert c.shed.rebound_frac == 1.0 and c.shed.cost_eur_per_kwh == 0.10
    assert command_for(c, 50.0, 900) == ("set_power_limit", {"limit_kw": 70.0})
    late = EventSpan([local_ms("2026-11-25 21:00")], Q, local_ms("2026-11-25 22:00"), ROME)
    refused = candidate(PRESS, span=late, asset=asset)
    assert isinstance(refused, str) and "could not be made up" in refused
    outside = EventSpan([local_ms("2026-11-25 23:00")], Q, local_ms("2026-11-25 23:15"), ROME)
    assert "outside its window 06:00-22:00" in str(candidate(PRESS, span=outside, asset=asset))
    block = resource("deferrable_load", "Oven",
                     {"energy_kwh": 10, "power_max_kw": 20, "interruptible": False})  # fmt: skip
    assert "runs in one block" in str(candidate(block, span=SPAN, asset=asset))


def test_restore_pays_a_deferral_back_at_its_rate_then_lifts_the_cap():
    """Held 50 kW for 4 intervals at the end: released to draw + 50 = 170 kW (the make-up runs
    at about the rate it was held) and, 4 intervals later, to its 200 kW."""
    c = candidate(PRESS, span=SPAN, asset=AssetState(draw_kw=120.0))
    assert isinstance(c, Candidate)
    held = [dd.Held("Press", 50.0, rebound_frac=1.0, held_steps=4)]
    specs, plan = restore_steps({"Press": c}, held, baseline_kw=[300.0] * 8,
                                pre_event_kw=500.0, from_ms=END, step_ms=Q)  # fmt: skip
    assert plan.held_kw["Press"][0] == 0.0
    assert [(s.start_ms, s.command) for s in specs] == [
        (END, ("set_power_limit", {"limit_kw": 170.0})),
        (END + 4 * Q, ("set_power_limit", {"limit_kw": 200.0})),
    ]


BESS = resource(
    "battery", "BESS",
    {"capacity_kwh": 100, "charge_max_kw": 40, "discharge_max_kw": 40, "soc_min_pct": 10,
     "soc_max_pct": 90},
    rid=3, auto_dispatch=True,
)  # fmt: skip


def test_a_battery_discharges_one_interval_at_a_time_and_is_never_stopped():
    """40 kW in the first three intervals, then 0: three discharges, each to its interval's
    end + 60 s (the first from 14:05), and a step without a command when it leaves the plan."""
    c = candidate(BESS, span=SPAN, asset=AssetState(kind="battery", soc_pct=90.0))
    assert isinstance(c, Candidate)
    plan = dd.ReductionPlan("optimal", {"BESS": [40.0] * 3 + [0.0] * 5}, [0.0] * 8, 0, 0.0)
    specs = shed_steps([c], plan, starts_ms=SPAN.starts_ms, step_ms=Q, from_ms=START + 300_000)
    assert [(s.start_ms - START, s.reduction_kw, s.command) for s in specs] == [
        (300_000, 40.0, ("discharge", {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 660})),
        (Q, 40.0, ("discharge", {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 960})),
        (2 * Q, 40.0, ("discharge", {"power_kw": 40.0, "min_soc_pct": 10.0, "duration_s": 960})),
        (3 * Q, 0.0, None),
    ]
    whole = dd.ReductionPlan("optimal", {"BESS": [40.0] * 8}, [0.0] * 8, 0, 0.0)
    last = shed_steps([c], whole, starts_ms=SPAN.starts_ms, step_ms=Q, from_ms=START)[-1]
    assert last.command is not None and last.command[1]["duration_s"] == 900  # ends at the end


def _schedule(discharge_kw: float, charge_kw: float) -> ScheduleOut:
    planned = BatteryStepOut(charge_kw=charge_kw, discharge_kw=discharge_kw, soc_pct=50.0)
    steps = [
        StepOut.model_construct(
            ts=datetime.fromtimestamp((END + k * Q) / 1000, UTC).isoformat(),
            batteries={"BESS": planned},
        )
        for k in range(4)
    ]
    return ScheduleOut.model_construct(step_s=900, steps=steps)


def test_a_battery_goes_back_to_its_flex_schedule_step():
    c = candidate(BESS, span=SPAN, asset=AssetState(kind="battery"))
    assert isinstance(c, Candidate)
    at = END + Q + 120_000  # 2 min into the schedule's second step
    assert handback(_schedule(0.0, 25.0), c, at) == (
        "charge",
        {"power_kw": 25.0, "target_soc_pct": 90.0, "duration_s": 780},
    )
    assert handback(_schedule(12.5, 0.0), c, at) == (
        "discharge",
        {"power_kw": 12.5, "min_soc_pct": 10.0, "duration_s": 780},
    )
    assert handback(_schedule(0.0, 0.0), c, at) is None  # an idle step: nothing to send
    assert handback(_schedule(0.0, 25.0), c, END + 4 * Q) is None  # past the schedule
