"""Stored resources as the optimiser's problem: EV sessions on the horizon's steps (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gridpilot.flex.inputs import Horizon
from gridpilot.flex.planning import _ev_sessions
from gridpilot.flex.schemas import EVChargerParams, ResourceOut

START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


def charger(*sessions: tuple[datetime, datetime]) -> tuple[ResourceOut, EVChargerParams]:
    params = EVChargerParams(
        power_max_kw=11,
        sessions=[{"arrival": a, "departure": d, "energy_kwh": 10} for a, d in sessions],
    )
    resource = ResourceOut(
        id=7, site_id=1, kind="ev_charger", name="Wallbox", asset_id=None, enabled=True,
        auto_dispatch=False, params=params, created_at=START, updated_at=START,
    )  # fmt: skip
    return resource, params


def test_sessions_become_whole_steps_inside_the_horizon():
    horizon = Horizon(int(START.timestamp() * 1000), 15 * 60_000, 96)
    resource, params = charger(
        (START + 5 * QUARTER + timedelta(minutes=5), START + 9 * QUARTER),  # steps 6..8
        (START - QUARTER, START + 2 * QUARTER + timedelta(minutes=1)),  # under way: 0..1
        (START - 9 * QUARTER, START - QUARTER),  # over
        (START + 95 * QUARTER + timedelta(minutes=5), START + 99 * QUARTER),  # last step
        (START + 10 * QUARTER + timedelta(minutes=1), START + 11 * QUARTER),  # no whole step
    )
    notes: list[str] = []
    found = _ev_sessions(resource, params, horizon, notes)
    assert [(s.name, s.arrival_step, s.departure_step) for s in found] == [
        ("ev:7:0", 6, 9),
        ("ev:7:1", 0, 2),
    ]
    assert notes == [
        "EV charger 'Wallbox': session 2 is under way; its energy_kwh is taken as what it "
        "still needs",
        "EV charger 'Wallbox': session 5 is shorter than one step",
    ]
