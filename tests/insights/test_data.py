"""Analytics inputs: rollups as regular UTC grids with NaN gaps, per asset and summed per site."""

from __future__ import annotations

import math

import pytest
from tests.telemetry.query_test_data import MIN, T0, insert_readings, metric_id, site_with_asset

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import NotFound
from gridpilot.insights.data import load_series, load_site_series, site_assets
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * MIN


@pytest.fixture
async def two_meters(app, client, sessions, auth_headers):
    """Meter 1 draws 10 kW during hour 0, meter 2 draws 4 kW during hour 1 (one site)."""
    site, first, admin = await site_with_asset(client, auth_headers, "Data site")
    second = await client.post(
        "/api/v1/assets",
        json={"site_id": site["id"], "name": "Second meter", "kind": "meter"},
        headers=admin,
    )
    assert second.status_code == 201, second.text
    power = await metric_id(sessions, "power_kw")
    rows = [(first["id"], power, T0 + i * MIN, 10.0) for i in range(60)]
    rows += [(second.json()["id"], power, T0 + (60 + i) * MIN, 4.0) for i in range(60)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return site["id"], first["id"], second.json()["id"]


async def test_asset_series_is_a_regular_grid_with_nan_gaps(sessions, two_meters):
    _, first, _ = two_meters
    async with sessions() as session:
        values = await load_series(
            session=session,
            asset_id=first,
            metric="power_kw",
            start_ms=T0 + 5 * MIN,  # floored to the quarter hour
            end_ms=T0 + 180 * MIN,
            step_ms=QUARTER,
        )
    assert len(values) == 12
    assert values.index[0].value // 1_000_000 == T0
    assert str(values.index.tz) == "UTC"
    assert list(values.iloc[:4]) == [10.0] * 4
    assert all(math.isnan(v) for v in values.iloc[4:])


async def test_site_series_sums_assets_and_keeps_gaps(sessions, two_meters):
    site_id, _, _ = two_meters
    async with sessions() as session:
        total = await load_site_series(
            session=session,
            site_id=site_id,
            metric="power_kw",
            start_ms=T0,
            end_ms=T0 + 180 * MIN,
            step_ms=60 * MIN,
        )
        assets = await site_assets(session=session, site_id=site_id)
    assert [round(v, 6) for v in total.iloc[:2]] == [10.0, 4.0]
    assert math.isnan(total.iloc[2])
    assert len(assets) == 2


async def test_other_sites_data_and_unknown_metrics_are_not_found(sessions, two_meters):
    site_id, first, _ = two_meters
    outsider = Principal(
        subject="user:x", name="x", role=Role.VIEWER, site_ids=frozenset({site_id + 1000})
    )
    async with sessions() as session:
        with pytest.raises(NotFound):
            await load_series(
                session=session,
                asset_id=first,
                metric="power_kw",
                start_ms=T0,
                end_ms=T0 + 60 * MIN,
                step_ms=QUARTER,
                principal=outsider,
            )
        with pytest.raises(NotFound):
            await site_assets(session=session, site_id=site_id, principal=outsider)
        with pytest.raises(NotFound):
            await load_series(
                session=session,
                asset_id=first,
                metric="no_such_metric",
                start_ms=T0,
                end_ms=T0 + 60 * MIN,
                step_ms=QUARTER,
            )
