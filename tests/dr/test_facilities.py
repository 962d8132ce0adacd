"""The facility seed's routes over sites, on both back ends: current demand against the
contract, and the day-ahead forecast honouring ``start_time`` and ``granularity`` (or refusing
them with a 422 and a code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.analytics.forecast import Forecast
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.insights.forecasts.forecast_store import store_forecast

QUARTER = 15 * 60_000
HOUR = 4 * QUARTER


async def forecast_site(app, client, headers, name: str, step_ms: int = QUARTER) -> int:
    """A site with a stored consumption forecast issued now from the interval holding now:
    point i predicts 100 + i kW, 95 % interval +-10 kW (100 points)."""
    site = await make_site(client, headers, name)
    now = now_ms()
    start = now - now % step_ms
    index = pd.DatetimeIndex(pd.to_datetime(start + step_ms * np.arange(100), unit="ms", utc=True))
    yhat = 100.0 + np.arange(100)
    forecast = Forecast(index, yhat, yhat - 5, yhat + 5, yhat - 10, yhat + 10, step_ms, (), (), 0)
    async with app.state.sessions() as session, session.begin():
        await store_forecast(session=session, site_id=site, asset_id=None, forecast=forecast,
                             issued_ms=now, quantity="consumption")  # fmt: skip
    return site


def url(site: int) -> str:
    return f"/api/facilities/{site}/forecast"


async def test_forecast_at_15min_and_1hour_from_start_time(app, client, admin):
    site = await forecast_site(app, client, admin, "Forecast facility")
    answer = await client.get(url(site), headers=admin)
    assert answer.status_code == 200, answer.text
    points = answer.json()
    assert len(points) == 96  # the day ahead from the quarter holding now
    first = pd.Timestamp(points[0]["timestamp"]).value // 1_000_000
    quarter_now = now_ms() - now_ms() % QUARTER
    assert first in (quarter_now, quarter_now - QUARTER)  # a quarter may have begun since
    assert points[0] == {"timestamp": points[0]["timestamp"], "predicted_load_kw": 100.0,
                         "confidence_upper": 110.0, "confidence_lower": 90.0}  # fmt: skip
    assert points[-1]["predicted_load_kw"] == 195.0

    later = iso(first + 2 * HOUR + 5 * 60_000)  # 2 h 5 min later: from point 8
    points = (await client.get(url(site), params={"start_time": later}, headers=admin)).json()
    assert points[0]["timestamp"] == iso(first + 2 * HOUR)
    assert points[0]["predicted_load_kw"] == 108.0 and len(points) == 88

    hourly = await client.get(url(site), params={"granularity": "1hour"}, headers=admin)
    assert hourly.status_code == 200, hourly.text
    hours = hourly.json()
    q = (first % HOUR) // QUARTER  # the quarter of its hour the forecast starts at
    skip = (4 - q) % 4  # an hour it does not cover whole is left out
    assert len(hours) == (24 if q == 0 else 23)
    assert hours[0]["timestamp"] == iso(first + skip * QUARTER)
    # mean of points skip .. skip + 3: 100 + skip + 1.5; bounds +-10
    assert hours[0]["predicted_load_kw"] == pytest.approx(101.5 + skip)
    assert hours[0]["confidence_upper"] == pytest.approx(111.5 + skip)
    assert hours[0]["confidence_lower"] == pytest.approx(91.5 + skip)


async def test_forecast_queries_refused_with_a_code(app, client, admin):
    site = await forecast_site(app, client, admin, "Refusing facility")
    now = now_ms()
    cases = [
        ({"granularity": "5min"}, "granularity_unsupported"),
        ({"start_time": iso(now - HOUR)}, "forecast_start_out_of_range"),
        ({"start_time": iso(now + 25 * HOUR)}, "forecast_start_out_of_range"),
        ({"start_time": "yesterday"}, "validation_failed"),
        ({"granularity": "1hour", "horizon": "48h"}, "validation_failed"),
    ]
    for params, code in cases:
        answer = await client.get(url(site), params=params, headers=admin)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.json()["error"] == code, (params, answer.json())
    hourly_site = await forecast_site(app, client, admin, "Hourly facility", step_ms=HOUR)
    answer = await client.get(url(hourly_site), params={"granularity": "15min"}, headers=admin)
    assert answer.status_code == 422 and answer.json()["error"] == "granularity_unavailable"
    answer = await client.get(url(hourly_site), params={"granularity": "1hour"}, headers=admin)
    assert answer.status_code == 200 and answer.json()[0]["predicted_load_kw"] == 100.0
    unknown = await client.get(url(site), params={"horizon": "48h"}, headers=admin)
    assert unknown.json()["details"] == [
        {"loc": ["query", "horizon"], "msg": "unknown query parameter; known: granularity, "
         "start_time"}
    ]  # fmt: skip
    assert (await client.get(url(999_999), headers=admin)).status_code == 404


async def test_current_demand_in_the_seed_fields(client, admin):
    site = await make_site(client, admin, "Current facility", contract_demand_kw=200.0)
    press = await make_asset(client, admin, site, "Press", "machine")
    now = now_ms()
    readings = [{"asset": press, "metric": "power_kw", "ts": now - 5_000, "value": 150.0}]
    stored = await client.post("/api/v1/telemetry", json={"readings": readings}, headers=admin)
    assert stored.status_code == 200, stored.text
    answer = await client.get(f"/api/facilities/{site}/current", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "facility_id": site, "facility_name": "Current facility", "timestamp": iso(now - 5_000),
        "current_power_kw": 150.0, "grid_import_kw": 150.0, "contract_demand_kw": 200.0,
        "contract_utilization_pct": 75.0, "headroom_kw": 50.0, "over_contract": False,
    }  # fmt: skip
    assert (await client.get("/api/facilities/999999/current", headers=admin)).status_code == 404
