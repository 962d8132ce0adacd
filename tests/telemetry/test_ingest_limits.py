"""Ingest limits: too many readings or too many bytes is a 413 that says so; nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridpilot.core.timestamps import MS_PER_HOUR, now_ms

URL = "/api/v1/telemetry"
T0 = now_ms() // 1000 * 1000 - MS_PER_HOUR


@pytest.fixture
def settings_overrides():
    return {"max_batch_readings": 100, "max_body_bytes": 20_000}


def batch(meter, n):
    return [{"asset": meter, "metric": "power_kw", "ts": T0 + i, "value": 1.0} for i in range(n)]


async def readings_count(sessions):
    async with sessions() as session:
        return await session.scalar(text("SELECT COUNT(*) FROM readings"))


async def test_batch_over_the_reading_limit_is_413(client, operator, sessions, meter):
    response = await client.post(URL, json=batch(meter, 101), headers=operator)
    assert response.status_code == 413
    assert "limit is 100" in response.json()["message"]
    assert await readings_count(sessions) == 0
    assert (await client.post(URL, json=batch(meter, 100), headers=operator)).status_code == 200


async def test_body_over_the_byte_limit_is_413(client, operator, sessions, meter):
    body = b'{"readings": [' + b" " * 20_001 + b"]}"
    response = await client.post(
        URL, content=body, headers={**operator, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "20000 bytes" in response.json()["message"]


async def test_streamed_body_over_the_byte_limit_is_413(client, operator, meter):
    async def chunks():
        for _ in range(30):
            yield b" " * 1000

    response = await client.post(
        URL, content=chunks(), headers={**operator, "Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_ndjson_over_the_reading_limit_is_413(client, operator, meter):
    lines = "\n".join(
        f'{{"asset": {meter}, "metric": "power_kw", "ts": {T0 + i}, "value": 1}}'
        for i in range(101)
    )
    response = await client.post(
        URL, content=lines.encode(), headers={**operator, "Content-Type": "application/x-ndjson"}
    )
    assert response.status_code == 413
