"""Week-ahead forecasts (horizon=7d) with weather regressors from the site's own outdoor
temperature sensor, the horizon from the weather-forecast adapter (a file here) or persisted,
on both back ends (real database, real rollups)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.telemetry.query_test_data import insert_readings, metric_id, site_with_asset

from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.forecasts.tasks import FORECASTS
from gridpilot.insights.forecasts.weather import CsvWeatherSource
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * 60_000
DAY = 96 * QUARTER
HEAT = (3, 5)  # days ahead of the heat wave in the weather file


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"forecast_interval_s": 0}


def outdoor_c(ts_ms: int) -> float:
    """A day/night swing and a weather pattern of a few days [degC]."""
    hours = ts_ms / 3_600_000
    return 16.0 + 6.0 * math.sin(2 * math.pi * (hours - 9) / 24) + 7.0 * math.sin(hours / 41.0)


def hvac_kw(ts_ms: int, outdoor: float) -> float:
    """An HVAC: 15 kW base, cooling 4 kW per K above 18 degC, heating 2 kW per K below 12."""
    stamp = pd.Timestamp(ts_ms, unit="ms", tz="UTC")
    busy = 6.0 if stamp.day_of_week < 5 and 7 <= stamp.hour < 19 else 0.0
    return 15.0 + busy + 4.0 * max(outdoor - 18.0, 0.0) + 2.0 * max(12.0 - outdoor, 0.0)


@pytest.fixture
async def hvac_site(app, client, sessions, auth_headers):
    """A site whose one asset, an HVAC, reports power and the outdoor temperature (21 days)."""
    site, asset, admin = await site_with_asset(client, auth_headers, "HVAC site")
    current = now_ms() // QUARTER * QUARTER
    power = await metric_id(sessions, "power_kw")
    outdoor = await metric_id(sessions, "outdoor_temperature_c")
    rows = []
    for ts in range(current - 21 * DAY, current, QUARTER):
        temperature = outdoor_c(ts)
        rows += [
            (asset["id"], power, ts, hvac_kw(ts, temperature)),
            (asset["id"], outdoor, ts, temperature),
        ]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return site, asset, admin, current


def heat_wave_file(path: Path, current: int) -> Path:
    """A weather forecast file: the true temperature, 12 K warmer on days ``HEAT`` ahead."""
    stamps = range(current - 2 * DAY, current + 8 * DAY, 4 * QUARTER)
    rows = []
    for ts in stamps:
        ahead = (ts - current) / DAY
        extra = 12.0 if HEAT[0] <= ahead < HEAT[1] else 0.0
        rows.append({"ts": pd.Timestamp(ts, unit="ms", tz="UTC").isoformat(),
                     "temperature_c": outdoor_c(ts) + extra})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def heat_days_mean(body: dict, current: int) -> float:
    stamps = np.array([pd.Timestamp(p["ts"]).value // 1_000_000 for p in body["points"]])
    ahead = (stamps - current) / DAY
    inside = (ahead >= HEAT[0]) & (ahead < HEAT[1])
    return float(np.mean([p["yhat"] for p, hit in zip(body["points"], inside, strict=True) if hit]))


async def test_week_ahead_uses_the_sites_outdoor_sensor(client, hvac_site):
    site, asset, admin, _current = hvac_site
    for path in (f"/api/v1/assets/{asset['id']}/forecast", f"/api/v1/sites/{site['id']}/forecast"):
        answer = await client.get(path, params={"horizon": "7d"}, headers=admin)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["horizon"] == 7 * 96 and len(body["points"]) == 7 * 96
        assert body["regressors"] == ["temperature_c"], path  # not [] any more
        assert f"asset {asset['id']}" in body["note"] and "persisted" in body["note"]
        assert all(p["lo95"] <= p["yhat"] <= p["hi95"] for p in body["points"])


async def test_the_weather_forecast_file_gives_the_horizon(app, client, hvac_site, tmp_path):
    _site, asset, admin, current = hvac_site
    url = f"/api/v1/assets/{asset['id']}/forecast"
    persisted = (await client.get(url, params={"horizon": "7d"}, headers=admin)).json()
    runtime_of(app).require(FORECASTS).weather = CsvWeatherSource(
        heat_wave_file(tmp_path / "w.csv", current)
    )
    forecast = (await client.get(url, params={"horizon": "7d"}, headers=admin)).json()
    assert forecast["regressors"] == ["temperature_c"]
    assert "from the weather forecast" in forecast["note"]
    # 12 K warmer for two days: at 4 kW/K of cooling, far above the persisted weather's forecast
    assert heat_days_mean(forecast, current) > heat_days_mean(persisted, current) + 25.0
