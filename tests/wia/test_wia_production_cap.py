"""GET production returns the newest objects even when the window holds more readings than the
series cap (the window is narrowed instead of answering 413)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.wia.test_wia_production import SID, production, solar

from gridpilot.auth.permissions import Role

SOURCES = "/api/v1/sources"


@pytest.fixture
def settings_overrides():
    return {"max_series_points": 5}


async def test_newest_objects_beyond_the_cap(client, auth_headers):
    operator = await auth_headers(Role.OPERATOR)
    assert (await client.post(SOURCES, json=solar(), headers=operator)).status_code == 201
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    batch = [
        production(
            base + timedelta(minutes=5 * i), production={"cumulative": {"lifetime": 100 + i}}
        )
        for i in range(30)
    ]
    posted = await client.post(f"{SOURCES}/{SID}/production", json=batch, headers=operator)
    assert posted.json() == {"stored": 30, "rejected": []}

    got = await client.get(f"{SOURCES}/{SID}/production", params={"limit": 3}, headers=operator)
    assert got.status_code == 200, got.text
    items = got.json()
    assert [i["production"]["cumulative"]["lifetime"] for i in items] == [129, 128, 127]
    newest = datetime.fromisoformat(items[0]["timestamp"].replace("Z", "+00:00"))
    assert newest == base + timedelta(minutes=5 * 29)
