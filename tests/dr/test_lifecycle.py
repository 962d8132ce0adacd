"""Event status over time and the measured reduction, on both back ends: the DR loop's step is
called with explicit times after the readings are stored (no sleeping), and the transitions it
publishes on the bus are collected."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from tests.dr.dr_data import (
    DAY,
    ZONE,
    iso_utc,
    level_kw,
    local_ms,
    make_site,
    profile,
    quarters,
    shape_kw,
    store_power,
)

from gridpilot.core import events as catalogue
from gridpilot.dr.tasks import DrRuntime

SEED = "/api/dr-events"
EVENTS = "/api/v1/dr-events"
EVENT_SLOTS = np.arange(56, 64)  # 14:00 .. 15:45 local
WINDOW_SLOTS = np.arange(40, 52)  # 10:00 .. 12:45 local
CURTAILED_KW = 30.0
MIN = 60_000


def caiso_by_hand(days: list[int], event_day: int) -> np.ndarray:
    """CAISO 10-in-10 of the test profile over 14:00-16:00 (see test_events.py)."""
    mean_level = np.mean([level_kw(dt.date(2026, 11, d)) for d in days])
    unadjusted = mean_level + shape_kw(np.arange(96))
    actual = level_kw(dt.date(2026, 11, event_day)) + shape_kw(WINDOW_SLOTS)
    ratio = np.clip(actual.mean() / unadjusted[WINDOW_SLOTS].mean(), 0.8, 1.2)
    return ratio * unadjusted[EVENT_SLOTS]


def window(day: int) -> tuple[int, int]:
    return local_ms(f"2026-11-{day} 14:00"), local_ms(f"2026-11-{day} 16:00")


async def create(client, headers, site: int, day: int, target_kw: float) -> int:
    start, end = window(day)
    answer = await client.post(
        SEED,
        json={"facility_id": site, "event_start": iso_utc(start), "event_end": iso_utc(end),
              "target_reduction_kw": target_kw},
        headers=headers,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return int(answer.json()["event_id"])


def collect(app) -> list[dict]:
    seen: list[dict] = []

    async def handler(topic: str, payload: dict) -> None:
        seen.append(payload)

    app.state.bus.subscribe(catalogue.DR_EVENT_UPDATED.name, handler)
    return seen


async def test_events_start_get_measured_and_end(app, client, admin):
    site, meter = await make_site(client, admin, "Offices")
    curtailed_start, curtailed_end = window(25)
    ts = quarters(local_ms("2026-10-12 00:00"), local_ms("2026-11-26 00:00"))
    load = profile(ts)
    load[(ts >= curtailed_start) & (ts < curtailed_end)] -= CURTAILED_KW  # the 25th curtails
    await store_power(app, meter, ts, load)
    plain = await create(client, admin, site, 18, target_kw=20.0)  # nothing curtailed
    curtailing = await create(client, admin, site, 25, target_kw=25.0)
    seen = collect(app)
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)

    assert await runtime.step(local_ms("2026-11-18 13:59")) == []
    changes = await runtime.step(local_ms("2026-11-18 14:20"))
    assert [(c["event_id"], c["previous"], c["status"]) for c in changes] == [
        (plain, "scheduled", "active")
    ]
    detail = (await client.get(f"{EVENTS}/{plain}", headers=admin)).json()
    assert detail["status"] == "active"
    metered = [r["metered_kw"] for r in detail["intervals"]]
    # the first quarter has ended: 118 kW (the 18th's level) + the shape at 14:00 (9.75 kW)
    assert metered[0] == 127.75 and metered[1:] == [None] * 7

    changes = await runtime.step(local_ms("2026-11-18 16:00"))
    assert [(c["event_id"], c["previous"], c["status"]) for c in changes] == [
        (plain, "active", "failed")
    ]
    detail = (await client.get(f"{EVENTS}/{plain}", headers=admin)).json()
    baseline = caiso_by_hand([17, 16, 13, 12, 11, 10, 9, 6, 5, 4], 18)
    truth = 118.0 + shape_kw(EVENT_SLOTS)
    reduction = baseline - truth  # only the day-of adjustment's leftover
    assert np.allclose([r["reduction_kw"] for r in detail["intervals"]], reduction, atol=1e-5)
    assert abs(detail["achieved_reduction_kw"] - reduction.mean()) < 1e-5
    assert abs(detail["performance_pct"] - 100 * reduction.mean() / 20.0) < 1e-2
    assert detail["performance_pct"] < 100 and "% needed" in detail["status_reason"]

    await runtime.step(local_ms("2026-11-25 14:20"))
    assert [(c["event_id"], c["status"]) for c in seen[-1:]] == [(curtailing, "active")]
    changes = await runtime.step(local_ms("2026-11-25 16:05"))
    assert [(c["event_id"], c["previous"], c["status"]) for c in changes] == [
        (curtailing, "active", "completed")
    ]
    detail = (await client.get(f"{EVENTS}/{curtailing}", headers=admin)).json()
    # the 18th had an event: left out of the 25th's baseline
    baseline = caiso_by_hand([24, 23, 20, 19, 17, 16, 13, 12, 11, 10], 25)
    metered = 125.0 + shape_kw(EVENT_SLOTS) - CURTAILED_KW
    rows = detail["intervals"]
    assert np.allclose([r["baseline_kw"] for r in rows], baseline, atol=1e-5)
    assert np.allclose([r["metered_kw"] for r in rows], metered, atol=1e-6)
    assert np.allclose([r["reduction_kw"] for r in rows], baseline - metered, atol=1e-5)
    achieved = (baseline - metered).mean()
    assert achieved > 25.0
    assert abs(detail["achieved_reduction_kw"] - achieved) < 1e-5
    assert abs(detail["performance_pct"] - 100 * achieved / 25.0) < 1e-2
    assert [(s["event_id"], s["previous"], s["status"]) for s in seen] == [
        (plain, "scheduled", "active"),
        (plain, "active", "failed"),
        (curtailing, "scheduled", "active"),
        (curtailing, "active", "completed"),
    ]
    assert seen[-1]["achieved_reduction_kw"] == detail["achieved_reduction_kw"]
    assert await runtime.step(local_ms("2026-11-26 12:00")) == []  # ended events stay put


async def test_an_event_without_metered_data_fails_after_waiting(app, client, admin):
    site, meter = await make_site(client, admin, "Silent")
    start, end = window(25)
    ts = quarters(start - 30 * DAY, start)  # the meter stops at the event's start
    await store_power(app, meter, ts, profile(ts))
    event = await create(client, admin, site, 25, target_kw=10.0)
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    await runtime.step(start + 20 * MIN)
    changes = await runtime.step(end + 30 * MIN)  # waits up to an hour for late readings
    assert changes == []
    detail = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
    assert detail["status"] == "active"
    assert {r["metered_kw"] for r in detail["intervals"]} == {None}
    changes = await runtime.step(end + 61 * MIN)
    assert [(c["previous"], c["status"]) for c in changes] == [("active", "failed")]
    detail = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
    assert detail["status_reason"] == "no metered consumption during the event"
    assert detail["achieved_reduction_kw"] is None


async def test_cancelled_and_opted_out_events(app, client, admin):
    # opting out is for events that have not ended: this one is tomorrow
    tomorrow = (pd.Timestamp.now(tz=ZONE) + pd.Timedelta(days=1)).date().isoformat()
    start, end = local_ms(f"{tomorrow} 14:00"), local_ms(f"{tomorrow} 16:00")
    site, meter = await make_site(client, admin, "Opting")
    ts = quarters(start - 30 * DAY, end)
    await store_power(app, meter, ts, profile(ts))
    body = {"facility_id": site, "event_start": iso_utc(start), "event_end": iso_utc(end),
            "target_reduction_kw": 50.0}  # fmt: skip
    opted = (await client.post(SEED, json=body, headers=admin)).json()["event_id"]
    other, other_meter = await make_site(client, admin, "Cancelling")
    await store_power(app, other_meter, ts, profile(ts))
    cancelled = (await client.post(SEED, json={**body, "facility_id": other},
                                   headers=admin)).json()["event_id"]  # fmt: skip
    opt = await client.post(f"{EVENTS}/{opted}/opt", json={"opt_out": True}, headers=admin)
    assert opt.status_code == 200 and opt.json()["opt_out"] is True
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    await runtime.step(start + 20 * MIN)
    seen = collect(app)
    cancel = await client.post(f"{EVENTS}/{cancelled}/cancel", headers=admin)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert [(s["event_id"], s["previous"], s["status"]) for s in seen] == [
        (cancelled, "active", "cancelled")
    ]
    await runtime.step(end + 5 * MIN)
    detail = (await client.get(f"{EVENTS}/{opted}", headers=admin)).json()
    # nothing curtailed, so far below its target, but opted out: completed, not failed
    assert detail["status"] == "completed" and detail["performance_pct"] < 50
    assert "opted out" in detail["status_reason"]
    gone = (await client.get(f"{EVENTS}/{cancelled}", headers=admin)).json()
    assert gone["status"] == "cancelled"
    # measured until it was cancelled (the first quarter), not after
    assert [r["metered_kw"] is None for r in gone["intervals"]] == [False] + [True] * 7
    late = await client.post(f"{EVENTS}/{opted}/opt", json={"opt_out": False}, headers=admin)
    assert late.status_code == 409


async def test_a_baseline_made_ahead_is_adjusted_when_the_event_starts(app, client, admin):
    site, meter = await make_site(client, admin, "Announced ahead")
    start, end = window(25)
    day_start = local_ms("2026-11-25 00:00")
    history = quarters(local_ms("2026-10-12 00:00"), day_start)  # up to the event's day
    await store_power(app, meter, history, profile(history))
    event = await create(client, admin, site, 25, target_kw=25.0)
    made = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
    assert made["baseline"]["adjustment"]["applied"] is None  # no readings of the 25th yet
    unadjusted = np.mean([level_kw(dt.date(2026, 11, d))
                          for d in (24, 23, 20, 19, 18, 17, 16, 13, 12, 11)]) + shape_kw(
        EVENT_SLOTS
    )  # fmt: skip
    assert np.allclose([r["baseline_kw"] for r in made["intervals"]], unadjusted, atol=1e-5)
    morning = quarters(day_start, end)  # the event day's readings arrive
    await store_power(app, meter, morning, profile(morning))
    runtime = DrRuntime(app.state.settings, app.state.sessions, app.state.bus)
    await runtime.step(start + 20 * MIN)
    detail = (await client.get(f"{EVENTS}/{event}", headers=admin)).json()
    adjusted = caiso_by_hand([24, 23, 20, 19, 18, 17, 16, 13, 12, 11], 25)
    assert np.allclose([r["baseline_kw"] for r in detail["intervals"]], adjusted, atol=1e-5)
    assert np.allclose([r["target_kw"] for r in detail["intervals"]], adjusted - 25, atol=1e-5)
    assert detail["baseline"]["adjustment"]["applied"] > 1.0
    assert detail["target_reduction_kw"] == 25.0 and "recomputed_ms" in detail["baseline"]
