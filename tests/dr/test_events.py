"""DR events through the seed's POST /api/dr-events and /api/v1/dr-events, on both back ends:
the baseline per interval against a hand-computed CAISO 10-in-10 on stored readings, past
events left out of later baselines, not enough history, list/detail/cancel, RBAC."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from tests.dr.dr_data import (
    iso_utc,
    level_kw,
    local_ms,
    make_site,
    profile,
    quarters,
    shape_kw,
    store_power,
)

from gridpilot.analytics.forecast import Forecast
from gridpilot.auth.permissions import Role
from gridpilot.insights.forecasts.forecast_store import store_forecast

SEED = "/api/dr-events"
EVENTS = "/api/v1/dr-events"
START = local_ms("2026-11-25 14:00")  # a Wednesday in Rome
END = local_ms("2026-11-25 16:00")
EVENT_SLOTS = np.arange(56, 64)  # 14:00 .. 15:45 local
WINDOW_SLOTS = np.arange(40, 52)  # 10:00 .. 12:45 local: 4 to 1 hours before the start


def caiso_by_hand(days: list[int], event_day: int) -> np.ndarray:
    """CAISO 10-in-10 of the test profile: the mean of the 10 weekdays' loads per slot
    (level + shape), times the day-of ratio over 10:00-13:00 (event day's level + shape over
    the mean's), capped to 0.8..1.2."""
    assert len(days) == 10
    mean_level = np.mean([level_kw(dt.date(2026, 11, d)) for d in days])
    unadjusted = mean_level + shape_kw(np.arange(96))
    actual = level_kw(dt.date(2026, 11, event_day)) + shape_kw(WINDOW_SLOTS)
    ratio = np.clip(actual.mean() / unadjusted[WINDOW_SLOTS].mean(), 0.8, 1.2)
    return ratio * unadjusted[EVENT_SLOTS]


async def site_with_history(app, client, headers, name: str = "Offices", days: int = 44):
    """A site whose meter reported every 15 min from ``days`` days before the event until its
    end (no curtailment)."""
    site, meter = await make_site(client, headers, name)
    ts = quarters(local_ms("2026-11-25 00:00") - days * 86_400_000, END)
    await store_power(app, meter, ts, profile(ts))
    return site, meter


def body(site: int, start: int = START, end: int = END, **extra) -> dict:
    return {"facility_id": site, "event_start": iso_utc(start), "event_end": iso_utc(end),
            "target_reduction_kw": 25.0, **extra}  # fmt: skip


async def test_the_seed_route_answers_the_baseline_per_interval(app, client, admin, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    site, _ = await site_with_history(app, client, admin)
    answer = await client.post(SEED, json=body(site), headers=operator)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["facility_id"] == site and created["status"] == "scheduled"
    assert created["baseline_method"] == "caiso_10in10"
    points = created["baseline_load"]
    assert [p["timestamp"] for p in points] == [iso_utc(int(t)) for t in quarters(START, END)]
    # the 10 weekdays before Wednesday 25 November (the weekend of 21-22 skipped)
    expected = caiso_by_hand([24, 23, 20, 19, 18, 17, 16, 13, 12, 11], 25)
    assert np.allclose([p["baseline_kw"] for p in points], expected, atol=1e-5)
    detail = (await client.get(f"{EVENTS}/{created['event_id']}", headers=operator)).json()
    assert detail["baseline"]["method"] == "caiso_10in10"
    assert detail["baseline"]["selected_days"][0] == "2026-11-11"
    rows = detail["intervals"]
    assert np.allclose([r["target_kw"] for r in rows], expected - 25.0, atol=1e-5)
    assert {r["metered_kw"] for r in rows} == {None}
    assert detail["performance_pct"] is None and detail["source"] == "manual"


async def test_earlier_events_are_left_out_of_a_baseline(app, client, admin):
    site, _ = await site_with_history(app, client, admin)
    earlier = body(site, local_ms("2026-11-18 14:00"), local_ms("2026-11-18 16:00"))
    assert (await client.post(SEED, json=earlier, headers=admin)).status_code == 201
    answer = await client.post(SEED, json=body(site), headers=admin)
    assert answer.status_code == 201, answer.text
    # Wednesday 18 November had an event: the look-back goes one weekday further (10 Nov)
    expected = caiso_by_hand([24, 23, 20, 19, 17, 16, 13, 12, 11, 10], 25)
    got = [p["baseline_kw"] for p in answer.json()["baseline_load"]]
    assert np.allclose(got, expected, atol=1e-5)
    listed = (await client.get(EVENTS, params={"status": "scheduled"}, headers=admin)).json()
    assert len(listed) == 2


@pytest.mark.parametrize("method", ["pjm_high4of5", "nyiso_high5of10"])
async def test_other_presets_can_be_chosen(app, client, admin, method):
    site, _ = await site_with_history(app, client, admin)
    answer = await client.post(SEED, json=body(site, baseline_method=method), headers=admin)
    assert answer.status_code == 201, answer.text
    assert answer.json()["baseline_method"] == method
    detail = (await client.get(f"{EVENTS}/{answer.json()['event_id']}", headers=admin)).json()
    assert detail["baseline"]["method"] == method
    assert len(detail["baseline"]["selected_days"]) in (4, 5)


async def test_not_enough_history_is_a_clear_422(app, client, admin):
    site, _ = await site_with_history(app, client, admin, days=4)
    answer = await client.post(SEED, json=body(site), headers=admin)
    assert answer.status_code == 422, answer.text
    error = answer.json()
    assert error["error"] == "cbl_not_enough_days"
    # Saturday 21 to Tuesday 24 November: 2 weekdays
    assert error["details"] == {"method": "caiso_10in10", "pool": "weekday", "found": 2,
                                "needed": 5}  # fmt: skip
    assert "2 eligible weekday days found, 5 needed" in error["message"]
    empty, _ = await make_site(client, admin, "Empty")
    answer = await client.post(SEED, json=body(empty), headers=admin)
    assert answer.status_code == 422 and answer.json()["details"]["found"] == 0
    forecast = await client.post(SEED, json=body(empty, baseline_method="forecast"),
                                 headers=admin)  # fmt: skip
    assert forecast.status_code == 422
    assert "no stored consumption forecast" in forecast.json()["message"]
    bare = await client.post("/api/v1/sites", json={"name": "No assets", "timezone": "UTC"},
                             headers=admin)  # fmt: skip
    answer = await client.post(SEED, json=body(bare.json()["id"]), headers=admin)
    assert answer.status_code == 422 and answer.json()["details"]["found"] == 0
    assert (await client.get(EVENTS, headers=admin)).json() == []


async def test_bad_windows_are_refused(app, client, admin):
    site, _ = await site_with_history(app, client, admin, days=1)
    off_grid = body(site, START + 60_000, END)
    assert (await client.post(SEED, json=off_grid, headers=admin)).status_code == 422
    backwards = body(site, END, START)
    assert (await client.post(SEED, json=backwards, headers=admin)).status_code == 422
    two_days = body(site, START, START + 30 * 3_600_000)
    answer = await client.post(SEED, json=two_days, headers=admin)
    assert answer.status_code == 422 and "25 h" in answer.json()["message"]
    unknown = await client.post(SEED, json=body(site, baseline_method="x"), headers=admin)
    assert unknown.status_code == 422


async def test_list_detail_cancel_and_external_ids(app, client, admin):
    site, _ = await site_with_history(app, client, admin)
    earlier = body(site, local_ms("2026-11-18 14:00"), local_ms("2026-11-18 16:00"))
    first = (await client.post(SEED, json=earlier, headers=admin)).json()["event_id"]
    again = body(site, external_id="UTIL-42")
    second = await client.post(SEED, json=again, headers=admin)
    repeat = await client.post(SEED, json=again, headers=admin)
    assert repeat.json()["event_id"] == second.json()["event_id"]
    clash = await client.post(SEED, json={**again, "target_reduction_kw": 10}, headers=admin)
    assert clash.status_code == 409
    listed = (await client.get(EVENTS, headers=admin)).json()
    assert [e["id"] for e in listed] == [second.json()["event_id"], first]
    period = {"start": iso_utc(local_ms("2026-11-18 00:00")), "end": iso_utc(START)}
    assert [e["id"] for e in (await client.get(EVENTS, params=period, headers=admin)).json()] == [
        first
    ]
    cancel = await client.post(f"{EVENTS}/{first}/cancel", json={"reason": "test"},
                               headers=admin)  # fmt: skip
    assert cancel.status_code == 200, cancel.text
    assert cancel.json()["status"] == "cancelled" and "test" in cancel.json()["status_reason"]
    assert (await client.post(f"{EVENTS}/{first}/cancel", headers=admin)).status_code == 409
    cancelled = await client.get(EVENTS, params={"status": "cancelled"}, headers=admin)
    assert [e["id"] for e in cancelled.json()] == [first]
    by_site = await client.get(EVENTS, params={"site_id": site + 1000}, headers=admin)
    assert by_site.json() == []
    assert (await client.get(f"{EVENTS}/999999", headers=admin)).status_code == 404


async def test_roles_and_sites(app, client, admin, auth_headers):
    mine, _ = await site_with_history(app, client, admin, "Mine", days=20)
    theirs, _ = await site_with_history(app, client, admin, "Theirs", days=20)
    theirs_event = (await client.post(SEED, json=body(theirs), headers=admin)).json()
    viewer = await auth_headers(Role.VIEWER)
    assert (await client.post(SEED, json=body(mine), headers=viewer)).status_code == 403
    limited = await auth_headers(Role.OPERATOR, sites=[mine])
    refused = await client.post(SEED, json=body(theirs), headers=limited)
    assert refused.status_code == 404
    assert (await client.get(f"{EVENTS}/{theirs_event['event_id']}", headers=limited)
            ).status_code == 404  # fmt: skip
    cancel = await client.post(f"{EVENTS}/{theirs_event['event_id']}/cancel", headers=limited)
    assert cancel.status_code == 404
    own = await client.post(SEED, json=body(mine), headers=limited)
    assert own.status_code == 201, own.text
    listed = (await client.get(EVENTS, headers=limited)).json()
    assert [e["site_id"] for e in listed] == [mine]
    viewer_cancel = await client.post(f"{EVENTS}/{own.json()['event_id']}/cancel",
                                      headers=viewer)  # fmt: skip
    assert viewer_cancel.status_code == 403
    assert (await client.get(EVENTS, headers=viewer)).status_code == 200


async def test_a_utility_api_key_creates_events_for_its_own_site_only(app, client, admin):
    mine, _ = await site_with_history(app, client, admin, "Mine", days=20)
    theirs, _ = await site_with_history(app, client, admin, "Theirs", days=20)
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "utility", "role": "operator", "site_id": mine},
        headers=admin,
    )
    assert key.status_code == 201, key.text
    utility = {"X-API-Key": key.json()["key"]}
    assert (await client.post(SEED, json=body(mine), headers=utility)).status_code == 201
    assert (await client.post(SEED, json=body(theirs), headers=utility)).status_code == 404
    service_key = await client.post(
        "/api/v1/api-keys", json={"name": "reader", "site_id": mine}, headers=admin
    )
    reader = {"X-API-Key": service_key.json()["key"]}
    assert (await client.post(SEED, json=body(mine), headers=reader)).status_code == 403


async def test_the_forecast_baseline_comes_from_the_stored_forecast(app, client, admin):
    site, _ = await make_site(client, admin, "Forecast only")
    issued = START - 6 * 3_600_000
    stamps = quarters(START - 3_600_000, END + 3_600_000)
    yhat = 50.0 + np.arange(len(stamps))
    forecast = Forecast(
        index=pd.to_datetime(stamps, unit="ms", utc=True), yhat=yhat, lo80=yhat - 5,
        hi80=yhat + 5, lo95=yhat - 9, hi95=yhat + 9, step_ms=900_000, seasonality=(),
        regressors=(), calibration_errors=0,
    )  # fmt: skip
    async with app.state.sessions() as session, session.begin():
        await store_forecast(
            session=session, site_id=site, asset_id=None, forecast=forecast, issued_ms=issued,
            quantity="consumption",
        )  # fmt: skip
    answer = await client.post(SEED, json=body(site, baseline_method="forecast"), headers=admin)
    assert answer.status_code == 201, answer.text
    # the forecast's points from 14:00 (the 5th: an hour before the start holds 4 quarters)
    assert [p["baseline_kw"] for p in answer.json()["baseline_load"]] == list(yhat[4:12])
    detail = (await client.get(f"{EVENTS}/{answer.json()['event_id']}", headers=admin)).json()
    assert detail["baseline_method"] == "forecast"
    assert detail["baseline"]["parameters"]["issued_at"].startswith("2026-11-25T07:00")


async def test_an_evening_event_across_midnight_is_baselined_day_by_day(app, client, admin):
    start, end = local_ms("2026-11-25 23:00"), local_ms("2026-11-26 01:00")
    site, meter = await make_site(client, admin, "Night shift")
    ts = quarters(local_ms("2026-11-25 00:00") - 44 * 86_400_000, end)
    await store_power(app, meter, ts, profile(ts))
    answer = await client.post(SEED, json=body(site, start, end), headers=admin)
    assert answer.status_code == 201, answer.text
    points = answer.json()["baseline_load"]
    assert [p["timestamp"] for p in points] == [iso_utc(int(t)) for t in quarters(start, end)]
    # Wednesday's part (23:00-24:00, slots 92-95): the 10 weekdays before the 25th; Thursday's
    # (00:00-01:00, slots 0-3): the 10 before the 26th but the 25th, the event's own day (read
    # up to the event's start: incomplete). One CAISO ratio for the event, from 19:00-22:00 on
    # the 25th (slots 76-87), on both parts.
    wednesday = [24, 23, 20, 19, 18, 17, 16, 13, 12, 11]
    thursday = wednesday
    level = {d: np.mean([level_kw(dt.date(2026, 11, x)) for x in days]) for d, days in
             (("wed", wednesday), ("thu", thursday))}  # fmt: skip
    window = np.arange(76, 88)
    actual = level_kw(dt.date(2026, 11, 25)) + shape_kw(window)
    ratio = np.clip(actual.mean() / (level["wed"] + shape_kw(window)).mean(), 0.8, 1.2)
    expected = ratio * np.concatenate(
        [level["wed"] + shape_kw(np.arange(92, 96)), level["thu"] + shape_kw(np.arange(0, 4))]
    )
    assert np.allclose([p["baseline_kw"] for p in points], expected, atol=1e-5)
