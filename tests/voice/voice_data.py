"""Test data of the voice tests: sites, machines and readings with hand-known values."""

from __future__ import annotations

import numpy as np
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.core.timestamps import now_ms
from gridpilot.telemetry.rollups import refresh_pending

ZONE = "Europe/Rome"
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000


async def make_site(client, headers, name: str) -> int:
    answer = await client.post(
        "/api/v1/sites", json={"name": name, "timezone": ZONE}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def make_asset(client, headers, site: int, name: str, kind: str) -> int:
    answer = await client.post(
        "/api/v1/assets", json={"site_id": site, "name": name, "kind": kind}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def store(app, asset: int, metric: str, ts, values) -> None:
    sessions = app.state.sessions
    key = await metric_id(sessions, metric)
    rows = [(asset, key, int(t), float(v)) for t, v in zip(ts, values, strict=True)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)


async def steady_power(app, asset: int, kw: float, *, hours: int = 3) -> int:
    """``kw`` every minute from ``hours`` ago to 5 minutes ahead (so a window ending when the
    request runs is covered whole): the energy of a window of h hours is kw x h. Returns the
    time of the last reading [ms]."""
    end = now_ms() // MINUTE * MINUTE + 5 * MINUTE
    ts = np.arange(end - hours * HOUR, end + 1, MINUTE, dtype="int64")
    await store(app, asset, "power_kw", ts, np.full(len(ts), kw))
    return end


async def plants(app, client, headers) -> dict[str, int]:
    """Plant A (Compressor 1: 60 kW, HVAC 1, a weather station) and Plant B (Compressor 2:
    80 kW), ids by name."""
    a = await make_site(client, headers, "Plant A")
    b = await make_site(client, headers, "Plant B")
    ids = {
        "Plant A": a,
        "Plant B": b,
        "Compressor 1": await make_asset(client, headers, a, "Compressor 1", "compressor"),
        "HVAC 1": await make_asset(client, headers, a, "HVAC 1", "hvac"),
        "Weather station": await make_asset(client, headers, a, "Weather station", "meter"),
        "Compressor 2": await make_asset(client, headers, b, "Compressor 2", "compressor"),
    }
    await steady_power(app, ids["Compressor 1"], 60.0)
    await steady_power(app, ids["Compressor 2"], 80.0)
    return ids


def daily_temperatures(days: int) -> np.ndarray:
    """A day's outdoor temperature [degC]: 10 + (day x 7 mod 13), varied and known."""
    return 10.0 + (np.arange(days) * 7 % 13)


async def hvac_on_temperature(app, ids: dict[str, int], days: int = 30) -> None:
    """The last ``days`` whole UTC days: the weather station's temperature T per day, and
    the HVAC drawing 10 + 2 T kW all that day (hourly readings), so its daily energy is
    240 + 48 T kWh: slope 48 kWh/degC, r = 1."""
    end = now_ms() // DAY * DAY
    start = end - days * DAY
    ts = np.arange(start, end, HOUR, dtype="int64")
    temperature = np.repeat(daily_temperatures(days), 24)
    await store(app, ids["Weather station"], "outdoor_temperature_c", ts, temperature)
    await store(app, ids["HVAC 1"], "power_kw", ts, 10.0 + 2.0 * temperature)
