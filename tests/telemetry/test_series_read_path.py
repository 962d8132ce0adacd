"""The one-statement series read path: merge at any split, scope checks first, fast ISO times."""

from __future__ import annotations

import pytest
from tests.telemetry.query_test_data import (
    HOUR,
    MIN,
    T0,
    insert_readings,
    site_with_asset,
)

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import NotFound
from gridpilot.core.timestamps import iso
from gridpilot.telemetry.queries import AGGREGATES, series
from gridpilot.telemetry.query_routes import iso_cached
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
def settings_overrides():
    return {"max_series_points": 200}


def test_iso_cached_matches_core_iso():
    samples = [0, 1, 999, 1000, 86_399_999, 86_400_000, T0, T0 + 7, T0 + 15 * MIN + 123]
    samples += list(range(0, 253_402_300_799_999, 9_876_543_210_987))
    for ms in samples:
        assert iso_cached(ms) == iso(ms), ms


@pytest.mark.parametrize("agg", AGGREGATES)
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (T0, T0 + 3 * HOUR),  # the pending range starts inside the window
        (T0, T0 + HOUR + 30 * MIN),  # ... and ends after it
        (T0 + 2 * HOUR, T0 + 3 * HOUR),  # the window starts after the pending start
        (T0, T0 + HOUR),  # the window ends before the pending range: rollups only
    ],
)
async def test_answer_before_refresh_equals_answer_after(
    app, client, sessions, power_asset, agg, start, end
):
    asset_id, power, headers = power_asset
    late = [(asset_id, power, T0 + i * MIN + 30_000, 500.0 - i) for i in range(75, 150)]
    await insert_readings(sessions, late)  # pending from T0 + 75.5 min, not rolled up
    params = {"metric": "power_kw", "start": iso(start), "end": iso(end), "agg": agg}
    url = f"/api/v1/assets/{asset_id}/series"
    before = {}
    for resolution in ("15m", "30m", "90s"):
        response = await client.get(
            url, params={**params, "resolution": resolution}, headers=headers
        )
        assert response.status_code == 200, response.text
        before[resolution] = response.json()
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    for resolution, answer in before.items():
        response = await client.get(
            url, params={**params, "resolution": resolution}, headers=headers
        )
        assert response.json() == answer, resolution
    assert before["15m"]["points"], "the window holds data"


@pytest.mark.parametrize(
    "params",
    [
        {"metric": "no_such_metric"},
        {"resolution": "7x"},
        {"agg": "median"},
        {"start": "yesterday"},
        {"resolution": "1m", "end": iso(T0 + 5 * HOUR)},  # 413 for a visible asset
        {"start": iso(T0 - HOUR), "end": iso(T0 + 5 * HOUR)},  # raw, within the cap
    ],
)
async def test_hidden_or_missing_asset_is_404_before_any_other_error(
    client, auth_headers, power_asset, params
):
    asset_id, _, _ = power_asset
    other_site, _, _ = await site_with_asset(client, auth_headers, "Elsewhere")
    limited = await auth_headers(Role.VIEWER, sites=[other_site["id"]])
    query = {"metric": "power_kw", "start": iso(T0), "end": iso(T0 + 2 * HOUR), **params}
    for target in (asset_id, 2**31 - 1):
        response = await client.get(
            f"/api/v1/assets/{target}/series", params=query, headers=limited
        )
        assert response.status_code == 404, (target, response.text)
        assert response.json()["error"]


async def test_a_device_scoped_principal_sees_only_its_asset(sessions, power_asset):
    asset_id, power, _ = power_asset
    window = {"metric_id": power, "start_ms": T0, "end_ms": T0 + HOUR, "max_points": 200}
    own = Principal(
        subject="key:own", name="own", role=Role.SERVICE, asset_ids=frozenset({asset_id})
    )
    other = Principal(subject="key:x", name="x", role=Role.SERVICE, asset_ids=frozenset({-1}))
    async with sessions() as session:
        for step_ms, agg in ((15 * MIN, "avg"), (90_000, "max"), (None, "avg")):
            found = await series(
                session=session,
                asset_id=asset_id,
                step_ms=step_ms,
                agg=agg,
                principal=own,
                **window,
            )
            assert found.points, (step_ms, agg)
            with pytest.raises(NotFound):
                await series(
                    session=session,
                    asset_id=asset_id,
                    step_ms=step_ms,
                    agg=agg,
                    principal=other,
                    **window,
                )
        with pytest.raises(NotFound):  # scope goes before the cap
            await series(
                session=session,
                asset_id=asset_id,
                step_ms=MIN,
                agg="avg",
                principal=other,
                metric_id=power,
                start_ms=T0,
                end_ms=T0 + 10 * HOUR,
                max_points=200,
            )
