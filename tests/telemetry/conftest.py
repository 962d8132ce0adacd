"""Fixtures shared by the telemetry query tests."""

from __future__ import annotations

import pytest
from tests.telemetry.query_test_data import MIN, T0, insert_readings, metric_id, site_with_asset

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
