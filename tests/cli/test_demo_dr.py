"""The demo's demand response: the office building gets its flexible resources and an event
starting a few minutes ahead on the quarter hour, whose CAISO baseline comes from the
backfilled history; a re-run keeps both. Both back ends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from gridpilot.cli import demo_dr
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.dr import service as dr
from gridpilot.flex import service as flex
from gridpilot.sim.backfill import backfill
from gridpilot.sim.provision import provision

QUARTER = 900_000
ROME = ZoneInfo("Europe/Rome")


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [  # Europe/Rome in December is +01:00; 5 min lead, the next quarter hour, 60 min
        ("2026-12-04T14:02:00+01:00", "2026-12-04T14:15:00+01:00", "2026-12-04T15:15:00+01:00"),
        # 45 min left before midnight (at least half of 60): cut at midnight
        ("2026-12-04T23:05:00+01:00", "2026-12-04T23:15:00+01:00", "2026-12-05T00:00:00+01:00"),
        # 15 min left: the event moves to just after midnight
        ("2026-12-04T23:28:00+01:00", "2026-12-05T00:00:00+01:00", "2026-12-05T01:00:00+01:00"),
    ],
)
def test_the_event_stays_within_one_local_day(now, start, end):
    assert demo_dr.event_window(_ms(now), ROME) == (_ms(start), _ms(end))


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
    # the window itself is pinned by test_the_event_stays_within_one_local_day
    assert (event.start_ms, event.end_ms) == demo_dr.event_window(at, ROME)
    quarters = (event.end_ms - event.start_ms) // QUARTER
    assert len(rows) == quarters and all(r.baseline_kw > 10.0 for r in rows)  # kW: a building
    mean_kw = sum(r.baseline_kw for r in rows) / quarters
    assert event.target_reduction_kw == pytest.approx(0.05 * mean_kw, abs=1e-3)  # 5 %
    assert event.baseline_method == "caiso_10in10"
    assert sorted(r.kind for r in resources) == ["curtailable_load", "hvac"]
    assert all(r.asset_id is not None for r in resources)


async def test_without_enough_history_the_demo_says_so(app):
    await provision(sessions=app.state.sessions, bus=None, scenarios=["building"])
    line = await demo_dr.prepare(app.state.sessions, now_ms())
    assert line.startswith("demand response: no demo event (not enough history"), line
