"""Forecast endpoints and the 15-minute job on both back ends (real database, real rollups)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from tests.telemetry.query_test_data import insert_readings, metric_id, site_with_asset

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import NotFound
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.insights.data import SYSTEM
from gridpilot.insights.forecasts import service
from gridpilot.insights.forecasts.tasks import FORECASTS
from gridpilot.insights.forecasts.weather import CsvWeatherSource
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * 60_000
HOUR = 4 * QUARTER
DAY = 96 * QUARTER


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"forecast_interval_s": 0}  # the job is run explicitly here


def load_kw(ts_ms: int) -> float:
    """A building: 20 kW base, +30 kW 08-18 UTC on weekdays, small deterministic ripple."""
    stamp = pd.Timestamp(ts_ms, unit="ms", tz="UTC")
    busy = stamp.day_of_week < 5 and 8 <= stamp.hour < 18
    return 20.0 + (30.0 if busy else 0.0) + 2.0 * math.sin(ts_ms / 3_700_000)


async def with_history(
    app, sessions, asset_id: int, *, days: int, step_ms: int = QUARTER, load=load_kw
) -> int:
    """``days`` of power_kw (``load(ts_ms)``) up to the current quarter hour; returns that
    quarter's start."""
    now = now_ms()
    current = now - now % QUARTER
    power = await metric_id(sessions, "power_kw")
    first = current - days * DAY
    first -= first % step_ms
    rows = [(asset_id, power, ts, load(ts)) for ts in range(first, current, step_ms)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return current


async def test_site_and_asset_forecasts_are_computed(app, client, sessions, auth_headers):
    site, asset, _admin = await site_with_asset(client, auth_headers, "Forecast site")
    current = await with_history(app, sessions, asset["id"], days=21)
    viewer = await auth_headers(Role.VIEWER, sites=[site["id"]])
    answer = await client.get(f"/api/v1/sites/{site['id']}/forecast", headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["source"] == "computed" and body["step_s"] == 900 and body["horizon"] == 96
    assert body["site_id"] == site["id"] and body["asset_id"] is None
    assert body["quantity"] == "consumption" and body["capacity_kw"] is None
    assert body["seasonality"] == ["daily", "weekly"] and body["calibrated"] is True
    first = pd.Timestamp(body["points"][0]["ts"]).value // 1_000_000
    assert current <= first <= current + QUARTER  # the interval holding now
    for point in body["points"]:
        expected = load_kw(pd.Timestamp(point["ts"]).value // 1_000_000)
        assert abs(point["yhat"] - expected) < 6.0
        assert point["lo95"] <= point["lo80"] <= point["hi80"] <= point["hi95"]
    hour = await client.get(
        f"/api/v1/assets/{asset['id']}/forecast", params={"horizon": "1h"}, headers=viewer
    )
    assert hour.status_code == 200, hour.text
    assert hour.json()["asset_id"] == asset["id"] and len(hour.json()["points"]) == 4
    assert hour.json()["quantity"] is None


async def test_job_stores_publishes_and_the_api_serves_the_stored_forecast(
    app, client, sessions, auth_headers
):
    site, asset, admin = await site_with_asset(client, auth_headers, "Job site")
    empty = await client.post(
        "/api/v1/sites", json={"name": "No data site", "timezone": "UTC"}, headers=admin
    )
    await with_history(app, sessions, asset["id"], days=8)
    received: list[dict] = []

    async def collect(topic: str, payload: dict) -> None:
        received.append(payload)

    unsubscribe = app.state.bus.subscribe("forecast.stored", collect)
    try:
        events = await runtime_of(app).require(FORECASTS).run_once()
    finally:
        unsubscribe()
    assert [e["site_id"] for e in received] == [site["id"]] == [e["site_id"] for e in events]
    event = received[0]
    assert event["asset_id"] is None and event["metric"] == "power_kw"
    assert event["quantity"] == "net"  # no generator: the net is the consumption
    assert event["step_ms"] == QUARTER
    assert event["horizon"] == 98  # a day plus the 20-min freshness window
    assert event["peak"]["hi95"] >= event["peak"]["hi80"] >= event["peak"]["yhat"]
    answer = await client.get(f"/api/v1/sites/{site['id']}/forecast", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["source"] == "stored"
    # the event's peak is the highest of the day ahead the API serves
    peak = max(answer.json()["points"], key=lambda p: p["yhat"])
    assert event["peak"]["yhat"] == pytest.approx(peak["yhat"], abs=1e-3)
    assert event["peak"]["ts"] == pd.Timestamp(peak["ts"]).value // 1_000_000
    later = event["issued_ms"] + 16 * 60_000  # a later quarter hour, still fresh
    async with sessions() as session:
        served = await service.get_forecast(
            session=session, principal=SYSTEM, settings=app.state.settings, horizon="24h",
            now_ms=later, site_id=site["id"],
        )  # fmt: skip
    assert served.source == "stored" and len(served.points) == 96
    assert served.points[0].ts == iso(later - later % QUARTER)
    nothing = await client.get(f"/api/v1/sites/{empty.json()['id']}/forecast", headers=admin)
    assert nothing.status_code == 422
    assert nothing.json()["error"] == "validation_failed"
    assert "no asset feeding consumption or generation" in nothing.json()["message"]


async def test_other_sites_bad_horizons_and_short_history(app, client, sessions, auth_headers):
    site, asset, admin = await site_with_asset(client, auth_headers, "Scoped site")
    await with_history(app, sessions, asset["id"], days=1)
    other = await client.post(
        "/api/v1/sites", json={"name": "Other site", "timezone": "UTC"}, headers=admin
    )
    outsider = await auth_headers(Role.VIEWER, sites=[other.json()["id"]])
    for path in (f"/api/v1/sites/{site['id']}/forecast", f"/api/v1/assets/{asset['id']}/forecast"):
        assert (await client.get(path, headers=outsider)).status_code == 404
        bad = await client.get(path, params={"horizon": "2h"}, headers=admin)
        assert bad.status_code == 422
        short = await client.get(path, headers=admin)
        assert short.status_code == 422 and "too little history" in short.text
    missing = await client.get("/api/v1/sites/999999/forecast", headers=admin)
    assert missing.status_code == 404
    device = Principal(
        subject="key:device", name="device", role=Role.VIEWER,
        site_ids=frozenset({site["id"]}), asset_ids=frozenset({asset["id"]}),
    )  # fmt: skip
    async with sessions() as session:  # a device key sees its asset, not the site's balance
        with pytest.raises(NotFound):
            await service.get_forecast(
                session=session, principal=device, settings=app.state.settings, horizon="24h",
                now_ms=now_ms(), site_id=site["id"],
            )  # fmt: skip


async def test_hourly_meters_are_forecast_hourly_with_csv_weather(
    app, client, sessions, auth_headers, tmp_path: Path
):
    """An hourly meter whose load follows the outdoor temperature (a daily cycle plus a swing
    over days, so the temperature says more than the time of day) is forecast hourly, with the
    CSV's temperature as its regressor."""

    def temperature_c(ts_ms: int) -> float:
        hours = ts_ms / HOUR
        return 12.0 + (hours % 24) / 2 + 4.0 * math.sin(2 * math.pi * hours / (24 * 5.3))

    _site, asset, admin = await site_with_asset(client, auth_headers, "Hourly site")
    current = await with_history(
        app, sessions, asset["id"], days=15, step_ms=HOUR,
        load=lambda ts: load_kw(ts) + 1.5 * temperature_c(ts),
    )  # fmt: skip
    stamps = pd.date_range(
        pd.Timestamp(current - 20 * DAY, unit="ms", tz="UTC"), periods=24 * 22, freq="h"
    )
    weather = pd.DataFrame({
        "ts": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "temperature_c": [temperature_c(t.value // 1_000_000) for t in stamps],
    })  # fmt: skip
    path = tmp_path / "weather.csv"
    weather.to_csv(path, index=False)
    runtime_of(app).require(FORECASTS).weather = CsvWeatherSource(path)
    answer = await client.get(f"/api/v1/assets/{asset['id']}/forecast", headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["step_s"] == 3600 and len(body["points"]) == 24
    assert body["regressors"] == ["temperature_c"]


async def test_unknown_query_parameters_are_refused_naming_them(client, auth_headers):
    """The site and asset forecasts take ``horizon`` (and the site's ``quantity``): a
    ``start_time`` or ``granularity`` (the facility route's parameters) is a 422 naming it,
    not a forecast from now answered as if it were asked; credentials are checked first."""
    site, asset, admin = await site_with_asset(client, auth_headers, "Strict query site")
    path = f"/api/v1/sites/{site['id']}/forecast"
    answer = await client.get(
        path, params={"start_time": "2026-12-05T10:00:00Z", "granularity": "1hour"},
        headers=admin,
    )  # fmt: skip
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "validation_failed" and "start_time" in body["message"]
    known = "unknown query parameter; known: horizon, quantity"
    assert body["details"] == [
        {"loc": ["query", "granularity"], "msg": known},
        {"loc": ["query", "start_time"], "msg": known},
    ]
    answer = await client.get(f"/api/v1/assets/{asset['id']}/forecast",
                              params={"quantity": "net"}, headers=admin)  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["details"] == [
        {"loc": ["query", "quantity"], "msg": "unknown query parameter; known: horizon"}
    ]
    assert (await client.get(path, params={"start_time": "x"})).status_code == 401
