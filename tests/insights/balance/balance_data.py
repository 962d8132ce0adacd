"""Helpers of the balance route tests: a period of four quarter hours two days ago, readings
and the balance over HTTP."""

from __future__ import annotations

from gridpilot.core.timestamps import iso, now_ms
from gridpilot.telemetry.rollups import floor_to

DAY = 86_400_000
T0 = floor_to(now_ms() - 2 * DAY, DAY)  # a day before yesterday, within raw retention
Q = 15 * 60_000
PERIOD = {"start": iso(T0), "end": iso(T0 + 4 * Q)}


async def ingest(client, headers, readings) -> None:
    response = await client.post("/api/v1/telemetry", json=readings, headers=headers)
    assert response.status_code == 200, response.text


def reading(asset: int, metric: str, ts: int, value: float) -> dict:
    return {"asset": asset, "metric": metric, "ts": ts, "value": value}


async def balance(client, headers, site_id: int, **params) -> dict:
    query = {**PERIOD, **params}
    response = await client.get(f"/api/v1/sites/{site_id}/balance", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def column(body: dict, term: str) -> list[float | None]:
    return [i[f"{term}_kwh"] for i in body["intervals"]]


def register(asset: int, metric: str, values: list[float]) -> list[dict]:
    """Register readings on each quarter hour: the step (T0 + iQ, T0 + (i+1)Q] lies in
    interval i, which gets values[i+1] - values[i]."""
    return [reading(asset, metric, T0 + k * Q, v) for k, v in enumerate(values)]


def power(asset: int, kw: list[float]) -> list[dict]:
    """One power reading at the start of each quarter hour, held 15 min (the default
    energy_max_gap_s): energy = kW x 0.25 h."""
    return [reading(asset, "power_kw", T0 + i * Q, v) for i, v in enumerate(kw)]


async def community_metrics(client, headers) -> None:
    """The CER device message's registers (made by the MQTT worker at start otherwise)."""
    for key in ("energy_produced_kwh", "energy_consumed_kwh"):
        body = {"key": key, "unit": "kWh", "kind": "cumulative"}
        created = await client.post("/api/v1/metrics", json=body, headers=headers)
        assert created.status_code in (201, 409), created.text
