"""Fixtures shared by the telemetry tests (a module may define its own of the same name)."""

from __future__ import annotations

import pytest
from tests.telemetry.query_test_data import MIN, T0, insert_readings, metric_id, site_with_asset

from gridpilot.auth.permissions import Role
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
async def power_asset(app, client, sessions, auth_headers):
    """An asset with power_kw = i kW at T0 + i min for two hours, rolled up.

    Returns (asset id, metric id, the operator's headers).
    """
    _, asset, headers = await site_with_asset(client, auth_headers, "Series site")
    power = await metric_id(sessions, "power_kw")
    await insert_readings(
        sessions, [(asset["id"], power, T0 + i * MIN, float(i)) for i in range(120)]
    )
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return asset["id"], power, headers


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def meter(client, operator):
    """A meter on a new site; returns its id."""
    site = await client.post(
        "/api/v1/sites", json={"name": "L", "timezone": "UTC"}, headers=operator
    )
    body = {"site_id": site.json()["id"], "name": "M", "kind": "meter"}
    return (await client.post("/api/v1/assets", json=body, headers=operator)).json()["id"]
