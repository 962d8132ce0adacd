"""The demo's demand response: the office building gets its flexible resources and an event
starting a few minutes ahead on the quarter hour, whose CAISO baseline comes from the
backfilled history; a re-run keeps both. Both back ends."""

from __future__ import annotations

import pytest

from gridpilot.cli import demo_dr
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.dr import service as dr
from gridpilot.flex import service as flex
from gridpilot.sim.backfill import backfill
from gridpilot.sim.provision import provision

QUARTER = 900_000


async def test_the_demo_schedules_an_event_to_watch_and_reruns_keep_it(app):
    sessions = app.state.sessions
    assets = await provision(sessions=sessions, bus=None, scenarios=["building"])
    end = now_ms() // QUARTER * QUARTER
    await backfill(assets, runtime=app.state.telemetry, seed=4, span_ms=10 * MS_PER_DAY,
                   step_ms=QUARTER, end_ms=end)  # fmt: skip
    at = now_ms()
    line = await demo_dr.prepare(sessions, at)
    assert "demand response: event" in line and "/dr/" in line, line
    again = await demo_dr.prepare(sessions, at + 60_000)  # a re-run a minute later
    async with sessions() as session:
        site_id = assets[0].site_id
        events = await dr.list_events(session=session, principal=dr.SYSTEM, site_id=site_id)
        resources = await flex.list_resources(session=session, site_id=site_id)
        rows = await dr.intervals(session=session, event_id=events[0].id)
    event = events[0]
    assert len(events) == 1 and f"event {event.id} " in line and f"event {event.id} " in again
    assert event.status == "scheduled" and event.start_ms % QUARTER == 0
    assert at + 5 * 60_000 <= event.start_ms < at + 5 * 60_000 + QUARTER
    assert event.end_ms - event.start_ms == 60 * 60_000
    assert len(rows) == 4 and all(r.baseline_kw > 10.0 for r in rows)  # kW: a real building
    mean_kw = sum(r.baseline_kw for r in rows) / 4
    assert event.target_reduction_kw == pytest.approx(0.05 * mean_kw, abs=1e-3)  # 5 %
    assert event.baseline_method == "caiso_10in10"
    assert sorted(r.kind for r in resources) == ["curtailable_load", "hvac"]
    assert all(r.asset_id is not None for r in resources)


async def test_without_enough_history_the_demo_says_so(app):
    await provision(sessions=app.state.sessions, bus=None, scenarios=["building"])
    line = await demo_dr.prepare(app.state.sessions, now_ms())
    assert line.startswith("demand response: no demo event (not enough history"), line
