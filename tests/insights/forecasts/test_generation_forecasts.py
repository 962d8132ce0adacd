"""Physical generation forecasts through the API on both back ends, on the simulator's solar
park (PV field A and its battery) and wind farm (two turbines with their wind speed): never
below 0, never above the capacity, 0 at night; storage is not forecast from its history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.flex.schedule_data import add_battery, plan_site
from tests.insights.forecasts.test_site_forecasts import (
    DAY,
    QUARTER,
    assert_within,
    column,
    current_quarter,
    make_asset,
    store_power,
    times,
)
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.analytics.forecast_bounds import solar_night
from gridpilot.analytics.generation_physics import PvArray, clear_sky_potential_kw
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.data import SYSTEM
from gridpilot.insights.forecasts import service
from gridpilot.insights.forecasts.weather import CsvWeatherSource
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.model import SimContext
from gridpilot.sim.scenarios import portfolio
from gridpilot.sim.solar import clear_sky
from gridpilot.sim.weather import WeatherModel
from gridpilot.telemetry.rollups import refresh_pending

DAYS = 14


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"forecast_interval_s": 0, "forecast_history_days": DAYS}


def simulated(name: str, days: int = DAYS) -> tuple[object, np.ndarray, dict[str, np.ndarray]]:
    """(site spec, quarter-hour starts [ms], 15-min means) of a portfolio asset up to now."""
    for site in portfolio():
        for asset in site.assets:
            if asset.name == name:
                weather = WeatherModel(11, site.latitude, site.longitude)
                ctx = SimContext(11, site.timezone, weather, asset.device_id)
                end = current_quarter()
                start = end - days * DAY
                _, values = generate(
                    asset.model, ctx, start, end, step_ms=QUARTER, accumulator=Accumulator()
                )
                ts = np.arange(start, end, QUARTER, dtype="int64")
                return site, ts, {k: np.asarray(v)[: len(ts)] for k, v in values.items()}
    raise AssertionError(name)


async def make_site_at(client, headers, site) -> int:
    body = {
        "name": site.name,
        "timezone": site.timezone,
        "latitude": site.latitude,
        "longitude": site.longitude,
    }
    answer = await client.post("/api/v1/sites", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def store(app, sessions, metric: str, asset: int, ts: np.ndarray, values) -> None:
    key = await metric_id(sessions, metric)
    rows = [(asset, key, int(t), float(v)) for t, v in zip(ts, values, strict=True)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)


async def test_the_solar_park_is_forecast_from_the_clear_sky(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    spec, ts, pv = simulated("PV field A")
    _, _, battery = simulated("Battery 1")
    site = await make_site_at(client, admin, spec)
    field = await make_asset(client, admin, site, "solar_pv", "producer", 1200.0, "PV field A")
    store_id = await make_asset(client, admin, site, "battery", "storage", 500.0, "Battery 1")
    await store_power(app, sessions, {field: pv["power_kw"], store_id: battery["power_kw"]}, ts)
    url = f"/api/v1/sites/{site}/forecast"
    body = (await client.get(url, params={"quantity": "generation"}, headers=admin)).json()
    assert body["method"] == "physical" and body["regressors"] == ["clear_sky_index"]
    assert body["capacity_kw"] == 1200.0 and body["horizon"] == 96 and body["note"] is None
    assert_within(body, 0.0, 1200.0)  # ordered bands, within [0, 1,200 kW]
    night = solar_night(times(body), QUARTER, spec.latitude, spec.longitude)
    assert night.any() and not night.all()
    for band in ("yhat", "lo95", "hi95"):
        assert (column(body, band)[night] == 0.0).all()
    assert column(body, "hi95")[~night].max() > 0  # the sun comes up
    asset = (await client.get(f"/api/v1/assets/{field}/forecast", headers=admin)).json()
    assert asset["method"] == "physical"
    assert column(asset, "yhat") == pytest.approx(column(body, "yhat"), abs=0.5)
    # the battery is neither generation nor forecast from its history: 0, with the reason
    kept = await client.get(f"/api/v1/assets/{store_id}/forecast", headers=admin)
    assert kept.status_code == 200, kept.text
    kept_body = kept.json()
    assert kept_body["method"] == "zero" and "schedule" in kept_body["note"]
    assert {p[b] for p in kept_body["points"] for b in ("yhat", "lo95", "hi95")} == {0.0}
    # the net's terms are in its answer, each on its own
    net = (await client.get(url, params={"quantity": "net"}, headers=admin)).json()
    assert net["method"] == "derived"
    assert net["component_methods"] == {"consumption": "zero", "generation": "physical"}
    generation = np.array([p["yhat"] for p in net["components"]["generation"]])
    assert generation == pytest.approx(column(body, "yhat"), abs=1e-3)
    assert column(net, "yhat") == pytest.approx(-generation, abs=1e-3)


async def test_the_wind_farm_goes_through_its_power_curve(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    spec, ts, first = simulated("Turbine 1")
    _, _, second = simulated("Turbine 2")
    site = await make_site_at(client, admin, spec)
    turbines = [
        await make_asset(client, admin, site, "wind_onshore", "producer", 2000.0, f"WTG {i}")
        for i in (1, 2)
    ]
    for turbine, data in zip(turbines, (first, second), strict=True):
        await store(app, sessions, "power_kw", turbine, ts, data["power_kw"])
        await store(app, sessions, "wind_speed_ms", turbine, ts, data["wind_speed_ms"])
    url = f"/api/v1/sites/{site}/forecast"
    body = (await client.get(url, params={"quantity": "generation"}, headers=admin)).json()
    assert body["method"] == "physical" and body["regressors"] == ["wind_speed_ms"]
    assert body["capacity_kw"] == 4000.0
    assert_within(body, 0.0, 4000.0)
    # the first quarter: the last hour's wind through the curve, near the last hour's power
    last_hour = (first["power_kw"][-4:] + second["power_kw"][-4:]).mean()
    assert abs(column(body, "yhat")[0] - last_hour) < 0.25 * 4000
    assert column(body, "hi95").max() > column(body, "lo95").min()
    one = (await client.get(f"/api/v1/assets/{turbines[0]}/forecast", headers=admin)).json()
    assert one["method"] == "physical"
    assert_within(one, 0.0, 2000.0)


async def test_a_bad_power_curve_is_a_clear_422(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    spec, ts, data = simulated("Turbine 1", days=3)
    site = await make_site_at(client, admin, spec)
    body = {
        "site_id": site,
        "name": "WTG with a bad curve",
        "kind": "wind_onshore",
        "role": "producer",
        "rated_capacity_kw": 2000.0,
        "attributes": {"power_curve": [[3, 0], [3, 100]]},
    }
    made = await client.post("/api/v1/assets", json=body, headers=admin)
    assert made.status_code == 201, made.text
    turbine = made.json()["id"]
    await store(app, sessions, "power_kw", turbine, ts, data["power_kw"])
    answer = await client.get(f"/api/v1/assets/{turbine}/forecast", headers=admin)
    assert answer.status_code == 422
    assert answer.json()["error"] == "validation_failed"
    assert "power curve" in answer.json()["message"] and "WTG with a bad curve" in answer.text


async def test_a_custom_geometry_and_curve_are_used(app, client, sessions, auth_headers):
    """A west-facing array's attributes (tilt 60 deg, azimuth 270 deg, 1,440 kWp) shape its
    forecast: it follows that geometry's clear sky, not the default south-facing one's. Its
    history is what such an array measures (its clear sky times the simulated weather), so the
    check holds at any hour the test runs."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    spec, ts, _ = simulated("PV field A", days=7)
    west_array = PvArray(spec.latitude, spec.longitude, 1440.0, 1200.0, 60.0, 270.0)
    weather = WeatherModel(11, spec.latitude, spec.longitude)
    factor = np.asarray(weather.at(ts).clear_sky_factor)
    history = pd.DatetimeIndex(pd.to_datetime(ts, unit="ms", utc=True))
    measured = np.clip(clear_sky_potential_kw(west_array, history, QUARTER) * factor, 0, 1200)
    site = await make_site_at(client, admin, spec)
    body = {
        "site_id": site,
        "name": "West roof",
        "kind": "solar_pv",
        "role": "producer",
        "rated_capacity_kw": 1200.0,
        "attributes": {"tilt_deg": 60, "azimuth_deg": 270, "pv_kwp": 1440},
    }
    made = await client.post("/api/v1/assets", json=body, headers=admin)
    west = made.json()["id"]
    await store(app, sessions, "power_kw", west, ts, measured)
    answer = (await client.get(f"/api/v1/assets/{west}/forecast", headers=admin)).json()
    assert answer["method"] == "physical"
    yhat = column(answer, "yhat")
    index = times(answer)
    shape = {
        azimuth: clear_sky_potential_kw(
            PvArray(spec.latitude, spec.longitude, 1440.0, 1200.0, tilt, azimuth), index, QUARTER
        )
        for tilt, azimuth in ((60.0, 270.0), (30.0, 180.0))
    }
    fits = {k: float(np.corrcoef(yhat, v)[0, 1]) for k, v in shape.items()}
    # 1.0 at every hour of the day; 0.97 with the attributes ignored (its index then learns
    # the west shape by lag, only roughly)
    assert fits[270.0] > 0.99 and fits[270.0] > fits[180.0]
    assert_within(answer, 0.0, 1200.0)
    assert pd.Timestamp(answer["points"][0]["ts"]).value // 1_000_000 == current_quarter()


async def test_a_weather_file_with_irradiance_steers_the_pv_forecast(
    app, client, sessions, auth_headers, tmp_path
):
    """The weather CSV holds the irradiance measured so far and a forecast for the next day;
    the forecast uses it (``irradiance_wm2`` among its inputs) and keeps its bounds."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    spec, ts, pv = simulated("PV field A", days=7)
    site = await make_site_at(client, admin, spec)
    field = await make_asset(client, admin, site, "solar_pv", "producer", 1200.0, "PV field A")
    await store_power(app, sessions, {field: pv["power_kw"]}, ts)
    stamps = np.arange(ts[0], ts[-1] + 2 * DAY, QUARTER, dtype="int64")
    weather = WeatherModel(11, spec.latitude, spec.longitude)
    ghi = clear_sky(stamps, spec.latitude, spec.longitude)[1]["ghi"].to_numpy()
    factor = np.asarray(weather.at(stamps).clear_sky_factor)
    factor[stamps > ts[-1]] = 0.5  # the forecast: half the clear sky all day tomorrow
    path = tmp_path / "weather.csv"
    pd.DataFrame({"ts": stamps + QUARTER // 2, "irradiance_wm2": ghi * factor}).to_csv(
        path, index=False
    )
    async with sessions() as session:
        answer = await service.get_forecast(
            session=session, principal=SYSTEM, settings=app.state.settings, horizon="24h",
            now_ms=now_ms(), asset_id=field, weather=CsvWeatherSource(path),
        )  # fmt: skip
    body = answer.model_dump()
    assert body["method"] == "physical"
    assert body["regressors"] == ["clear_sky_index", "irradiance_wm2"]
    assert_within(body, 0.0, 1200.0)
    night = solar_night(times(body), QUARTER, spec.latitude, spec.longitude)
    assert (column(body, "hi95")[night] == 0).all()


async def test_a_battery_forecast_is_its_flex_schedule(client, sessions, auth_headers):
    """Without a schedule a battery is forecast 0 with a note; once the site's schedule is
    planned, the battery's forecast is its planned charge (> 0) and discharge (< 0)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await plan_site(client, sessions, admin, "Battery plan")
    battery = await add_battery(client, admin, site)
    url = f"/api/v1/assets/{battery}/forecast"
    before = (await client.get(url, headers=admin)).json()
    assert before["method"] == "zero" and "schedule" in before["note"]
    plan = await client.post(f"/api/v1/sites/{site}/schedule", headers=admin)
    assert plan.status_code == 200, plan.text
    planned = {
        pd.Timestamp(s["ts"]): s["batteries"]["BESS"]["charge_kw"]
        - s["batteries"]["BESS"]["discharge_kw"]
        for s in plan.json()["steps"]
    }
    after = (await client.get(url, headers=admin)).json()
    assert after["method"] == "schedule" and "flex schedule" in after["note"]
    matched = 0
    for point in after["points"]:
        expected = planned.get(pd.Timestamp(point["ts"]))
        if expected is not None:
            matched += 1
            assert point["yhat"] == pytest.approx(expected, abs=1e-3)
            assert point["lo95"] == point["yhat"] == point["hi95"]
    assert matched >= 90  # the plan starts at the current quarter hour, or the next
    assert any(abs(p["yhat"]) > 1 for p in after["points"])  # it does plan to cycle
