"""Test data of the DR tests: a site in Rome with one consumer meter whose power is a level per
local day plus a shape over the local time of day, stored as readings every 15 minutes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
from tests.telemetry.query_test_data import insert_readings, metric_id

from gridpilot.telemetry.rollups import refresh_pending

ZONE = "Europe/Rome"
QUARTER = 15 * 60_000
DAY = 86_400_000


def local_ms(text: str) -> int:
    """Epoch ms of a local Rome time (``2026-11-25 14:00``)."""
    return int(pd.Timestamp(text, tz=ZONE).tz_convert("UTC").value // 1_000_000)


def iso_utc(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def shape_kw(slot: np.ndarray) -> np.ndarray:
    """The daily shape [kW] by local quarter-hour slot (0..95): a ramp to the afternoon."""
    return np.where(slot < 56, slot / 4.0, (95 - slot) / 4.0)


def level_kw(day: dt.date) -> float:
    """A day's level [kW]: weekdays 100 + the day of the month, weekends 20."""
    return 20.0 if day.weekday() >= 5 else 100.0 + day.day


def profile(ts: np.ndarray, level: Callable[[dt.date], float] = level_kw) -> np.ndarray:
    """Power [kW] at each time [ms]: the local day's level plus the shape."""
    local = pd.to_datetime(ts, unit="ms", utc=True).tz_convert(ZONE)
    slot = np.asarray(local.hour * 4 + local.minute // 15)
    levels = np.array([level(d) for d in local.date])
    return levels + shape_kw(slot)


def quarters(start_ms: int, end_ms: int) -> np.ndarray:
    return np.arange(start_ms, end_ms, QUARTER, dtype="int64")


async def make_site(client, headers, name: str) -> tuple[int, int]:
    """A site in Rome with a consumer meter: (site id, meter id)."""
    site = await client.post(
        "/api/v1/sites", json={"name": name, "timezone": ZONE}, headers=headers
    )
    assert site.status_code == 201, site.text
    meter = await client.post(
        "/api/v1/assets",
        json={"site_id": site.json()["id"], "name": f"{name} meter", "kind": "meter",
              "role": "consumer"},
        headers=headers,
    )  # fmt: skip
    assert meter.status_code == 201, meter.text
    return int(site.json()["id"]), int(meter.json()["id"])


async def store_power(app, meter: int, ts: np.ndarray, values: np.ndarray) -> None:
    """Readings of ``power_kw`` of ``meter``, rolled up."""
    sessions = app.state.sessions
    power = await metric_id(sessions, "power_kw")
    rows = [(meter, power, int(t), float(v)) for t, v in zip(ts, values, strict=True)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
