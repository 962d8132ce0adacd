"""A deferrable load whose daily window is cut by the end of the plan's horizon (pure).

The plan starts at explicit times, every quarter hour of a whole day, so each case is met at
a known start (before, the API test met it only when run at certain hours of the day). A
non-interruptible load gets its whole run in one block inside the part of the window within
the horizon when the run fits there, else nothing (a note: a later plan takes it); never a
run cut in two or a prorated energy. An interruptible one takes at least what could not run
after the horizon at full power.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridpilot.analytics.flex import DeferrableLoad, FlexProblem, optimise
from gridpilot.flex.inputs import Horizon
from gridpilot.flex.planning import SiteData, build_problem
from gridpilot.flex.schemas import DeferrableLoadParams, ResourceOut

ZONE = ZoneInfo("Europe/Rome")
QUARTER_MS = 15 * 60_000
STEPS = 48 * 4
#: 00:00 local of the first plan start (CEST, no DST change within the three days planned).
DAY = datetime(2026, 6, 10, tzinfo=ZONE)
RUN_STEPS = 4  # 4 kWh at 4 kW


def pump(interruptible: bool, power_min_kw: float = 4.0) -> ResourceOut:
    params = DeferrableLoadParams(
        energy_kwh=4, power_min_kw=power_min_kw, power_max_kw=4, window_start="06:00",
        window_end="12:00", interruptible=interruptible,
    )  # fmt: skip
    now = datetime(2026, 6, 1, tzinfo=UTC)
    return ResourceOut(
        id=3, site_id=1, kind="deferrable_load", name="Pump", asset_id=None, enabled=True,
        auto_dispatch=False, params=params, created_at=now, updated_at=now,
    )  # fmt: skip


def site_data(start_ms: int) -> SiteData:
    """Flat 30 kW, no PV; 0.10 EUR/kWh before 08:00 and from 20:00 local, 0.40 between."""
    horizon = Horizon(start_ms, QUARTER_MS, STEPS)
    hours = [datetime.fromtimestamp(t / 1000, ZONE).hour for t in horizon.step_starts_ms]
    prices = np.array([0.40 if 8 <= h < 20 else 0.10 for h in hours])
    return SiteData(
        timezone="Europe/Rome", horizon=horizon, load_kw=np.full(STEPS, 30.0),
        pv_kw=np.zeros(STEPS), import_price_eur_per_kwh=prices,
        export_price_eur_per_kwh=np.zeros(STEPS), demand_charge_eur_per_kw=0.0,
        incumbent_peak_kw=0.0, contract_demand_kw=None,
    )  # fmt: skip


def windows(start_ms: int) -> list[tuple[int, int]]:
    """By hand: the 06:00-12:00 windows opening inside the horizon, as their steps
    ``[first, end)`` on the horizon (``end`` may lie past it)."""
    found = []
    for day in range(4):
        opens = DAY + timedelta(days=day - 1, hours=6)
        first = (int(opens.timestamp() * 1000) - start_ms) // QUARTER_MS
        if 0 <= first < STEPS:
            found.append((first, first + 24))
    return found


def starts() -> list[int]:
    """Every quarter hour of a day, local time."""
    return [int((DAY + timedelta(minutes=15 * k)).timestamp() * 1000) for k in range(96)]


def plan(
    start_ms: int, interruptible: bool, power_min_kw: float = 4.0
) -> tuple[np.ndarray, list[str]]:
    problem = build_problem([pump(interruptible, power_min_kw)], site_data(start_ms))
    schedule = optimise(problem.problem)
    assert schedule.status == "optimal", schedule.message
    power = sum(schedule.flows.deferrable_kw.values(), np.zeros(STEPS))
    return power, problem.notes


def local(start_ms: int, step: int) -> datetime:
    return datetime.fromtimestamp((start_ms + step * QUARTER_MS) / 1000, ZONE)


@pytest.mark.parametrize("power_min_kw", [4.0, 0.0])
@pytest.mark.parametrize("start_ms", starts(), ids=lambda ms: local(ms, 0).strftime("%H:%M"))
def test_a_one_block_load_runs_whole_where_its_run_fits(start_ms, power_min_kw):
    power, notes = plan(start_ms, interruptible=False, power_min_kw=power_min_kw)
    running = set(np.flatnonzero(power > 1e-6).tolist())
    left = 0
    for first, end in windows(start_ms):
        inside = min(end, STEPS) - first
        steps = sorted(t for t in running if first <= t < end)
        running -= set(steps)
        if inside < RUN_STEPS:  # the run does not fit before the horizon ends
            assert steps == [], (first, end)
            left += 1
            continue
        # one block of the whole 4 kWh, at the cheap 06:00-08:00 of its own window (four
        # quarters at 4 kW when that is its least power)
        assert steps == list(range(steps[0], steps[-1] + 1)), (first, end, steps)
        assert float(power[steps].sum()) * 0.25 == pytest.approx(4.0)
        assert all(local(start_ms, t).hour in (6, 7) for t in steps)
        if power_min_kw == 4.0:
            assert len(steps) == RUN_STEPS
    assert running == set()  # nothing outside the windows
    later = [n for n in notes if "left to a later plan" in n]
    assert len(later) == left


@pytest.mark.parametrize("start_ms", starts()[::4], ids=lambda ms: local(ms, 0).strftime("%H:%M"))
def test_an_interruptible_load_takes_what_cannot_run_after_the_horizon(start_ms):
    power, notes = plan(start_ms, interruptible=True)
    for first, end in windows(start_ms):
        after = max(0, end - STEPS)  # steps of its window past the horizon
        due = max(0.0, 4.0 - 4.0 * 0.25 * after)
        energy = float(power[first : min(end, STEPS)].sum()) * 0.25
        # the least it must take (every price is positive); all of it when the window is whole
        assert energy == pytest.approx(due), (first, end)
    assert not [n for n in notes if "left to a later plan" in n]


def cut_problem(load: DeferrableLoad, prices: list[float]) -> FlexProblem:
    """Six 15-min steps, the load's window from step 0 to step 8 (past the horizon)."""
    return FlexProblem(
        step_h=0.25, load_kw=np.full(6, 10.0), pv_kw=np.zeros(6),
        import_price_eur_per_kwh=np.array(prices), export_price_eur_per_kwh=np.zeros(6),
        deferrable_loads=[load],
    )  # fmt: skip


def test_a_one_block_run_ends_inside_the_horizon_with_its_minimum_run():
    # 1 kWh at up to 4 kW, every run at least 4 steps; the last step is by far the cheapest:
    # starting there would leave a 1-step run whose rest is never planned
    load = DeferrableLoad(
        "heater", 1.0, 4.0, window_start_step=0, window_end_step=8, interruptible=False,
        min_run_steps=4,
    )  # fmt: skip
    schedule = optimise(cut_problem(load, [0.4, 0.4, 0.3, 0.3, 0.3, 0.01]))
    assert schedule.status == "optimal", schedule.message
    power = schedule.flows.deferrable_kw["heater"]
    assert np.flatnonzero(power > 1e-6).tolist() == [2, 3, 4, 5]
    assert float(power.sum()) * 0.25 == pytest.approx(1.0)


def test_an_interruptible_load_below_its_minimum_power_step_stays_feasible():
    # 2.5 kWh at 3-4 kW, 2 window steps past the horizon (2 kWh): at least 0.5 kWh now, but one
    # step at the minimum power is 0.75 kWh; an equality at 0.5 kWh had no solution
    load = DeferrableLoad("dryer", 2.5, 4.0, 3.0, window_start_step=0, window_end_step=8)
    schedule = optimise(cut_problem(load, [0.3] * 6))
    assert schedule.status == "optimal", schedule.message
    assert float(schedule.flows.deferrable_kw["dryer"].sum()) * 0.25 == pytest.approx(0.75)
