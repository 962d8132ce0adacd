"""Intervals of one day in the site's time zone: local midnight to local midnight, 23 h and
25 h at the DST changes (Europe/Rome, 2026), from raw readings and rollups, on both back ends.
Raw retention is off in this module so that readings of March and October are accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.insights.balance.balance_data import column, ingest, reading
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.balance.grid import local_days
from gridpilot.core.timestamps import iso
from gridpilot.telemetry.rollups import refresh_pending

H = 3_600_000


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"retention_raw_days": None, "retention_1m_days": None}


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


def utc_ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def test_local_days_are_23_and_25_hours_at_the_dst_changes():
    march = local_days(utc_ms(2026, 3, 28, 12), utc_ms(2026, 3, 30, 12), "Europe/Rome")
    assert [b - a for a, b in zip(march.edges, march.edges[1:], strict=False)] == [
        24 * H,
        23 * H,
        24 * H,
    ]
    assert march.edges[0] == utc_ms(2026, 3, 27, 23) and march.level_ms == H
    october = local_days(utc_ms(2026, 10, 25, 0), utc_ms(2026, 10, 25, 1), "Europe/Rome")
    assert october.edges == (utc_ms(2026, 10, 24, 22), utc_ms(2026, 10, 25, 23))
    kolkata = local_days(utc_ms(2026, 1, 1), utc_ms(2026, 1, 2), "Asia/Kolkata")
    assert kolkata.level_ms == 15 * 60_000  # midnight is 18:30 UTC: hourly rollups do not nest


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_days_of_23_and_25_hours(client, admin, app, sessions, rolled_up):
    """A 1 kW load read every 15 min and a main meter read at local midnights (0, 24, 47, 71):
    the days of 28, 29 and 30 March give 24, 23 and 24 kWh of both; 25 October gives 25."""
    site = await make_site(client, admin, "Rome", timezone="Europe/Rome")
    main = await make_asset(client, admin, site, "Main", "grid_connection")
    load = await make_asset(client, admin, site, "Load", "meter", expected_interval_s=900)
    start, end = utc_ms(2026, 3, 27, 23), utc_ms(2026, 3, 30, 22)
    october = utc_ms(2026, 10, 24, 22)
    quarter = 15 * 60_000
    readings = [reading(load, "power_kw", t, 1.0) for t in range(start, end, quarter)]
    readings += [
        reading(load, "power_kw", t, 1.0) for t in range(october, october + 25 * H, quarter)
    ]
    midnights = (start, utc_ms(2026, 3, 28, 23), utc_ms(2026, 3, 29, 22), end)
    readings += [
        reading(main, "energy_kwh", t, v) for t, v in zip(midnights, (0, 24, 47, 71), strict=True)
    ]
    await ingest(client, admin, readings)
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    params = {
        "start": "2026-03-28T00:00:00+01:00",
        "end": "2026-03-31T00:00:00+02:00",
        "interval": "1d",
    }
    response = await client.get(f"/api/v1/sites/{site}/balance", params=params, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [i["start"] for i in body["intervals"]] == [iso(t) for t in midnights[:3]]
    assert body["end"] == iso(end)
    assert column(body, "consumption") == [24, 23, 24]
    assert column(body, "import") == [24, 23, 24]
    assert body["flagged_intervals"] == 0
    params = {
        "start": "2026-10-25T00:00:00+02:00",
        "end": "2026-10-25T12:00:00+01:00",
        "interval": "1d",
    }
    response = await client.get(f"/api/v1/sites/{site}/balance", params=params, headers=admin)
    assert column(response.json(), "consumption") == [25]


async def test_an_interval_too_long_for_its_period_is_refused(client, admin):
    site = await make_site(client, admin, "Long")
    params = {"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z", "interval": "15m"}
    response = await client.get(f"/api/v1/sites/{site}/balance", params=params, headers=admin)
    assert response.status_code == 422 and "31 days" in response.json()["message"]
