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
