"""Series, latest and energy routes: level choice, hand-computed values, freshness, cap, scope."""

from __future__ import annotations

import pytest
from tests.telemetry.query_test_data import (
    HOUR,
    MIN,
    T0,
    insert_readings,
    metric_id,
    site_with_asset,
)

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso
from gridpilot.telemetry.queries import last_seen
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
def settings_overrides():
    return {"max_series_points": 200}


async def get_series(client, asset_id, headers, **params):
    params = {"metric": "power_kw", "start": iso(T0), "end": iso(T0 + 2 * HOUR), **params}
    return await client.get(f"/api/v1/assets/{asset_id}/series", params=params, headers=headers)


def values(body):
    return [p["value"] for p in body["points"]]


@pytest.mark.parametrize(
    ("resolution", "agg", "source", "expected"),
    [
        ("15m", "avg", "15m", [15 * k + 7 for k in range(8)]),
        ("30m", "avg", "15m", [30 * k + 14.5 for k in range(4)]),
        ("5m", "max", "1m", [5 * k + 4 for k in range(24)]),
        ("1h", "min", "1h", [0, 60]),
        ("1d", "count", "1d", [120]),
        ("30m", "first", "15m", [0, 30, 60, 90]),
        ("30m", "last", "15m", [29, 59, 89, 119]),
        ("1h", "sum", "1h", [sum(range(60)), sum(range(60, 120))]),
        ("30m", "delta", "15m", [29, 30, 30, 30]),  # the step into a bucket belongs to it
        ("90s", "count", "raw", [2, 1] * 40),  # no level divides 90 s: aggregated from raw
    ],
)
async def test_series_picks_the_coarsest_level_and_aggregates_up(
    client, power_asset, resolution, agg, source, expected
):
    asset_id, _, headers = power_asset
    response = await get_series(client, asset_id, headers, resolution=resolution, agg=agg)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == source
    assert body["unit"] == "kW" and body["metric"] == "power_kw" and body["agg"] == agg
    assert body["resolution"] == resolution
    assert values(body) == pytest.approx(expected)
    assert body["points"][0]["ts"] == iso(T0)


async def test_raw_series_and_whole_buckets(client, power_asset):
    asset_id, _, headers = power_asset
    raw = (await get_series(client, asset_id, headers, start=str(T0 + 100 * MIN))).json()
    assert raw["source"] == "raw" and raw["resolution"] == "raw"
    assert values(raw) == list(range(100, 120))
    assert raw["points"][0]["ts"] == "2026-01-05T01:40:00Z"
    # a start inside a bucket widens to the whole bucket
    body = (
        await get_series(client, asset_id, headers, start=iso(T0 + 7 * MIN), resolution="15m")
    ).json()
    assert body["points"][0] == {"ts": iso(T0), "value": 7}


async def test_data_newer_than_the_last_refresh_is_in_the_answer(
    app, client, sessions, power_asset
):
    asset_id, power, headers = power_asset
    late = [(asset_id, power, T0 + i * MIN, 1000.0) for i in range(110, 150)]
    await insert_readings(sessions, late)  # pending, not rolled up yet
    params = {"resolution": "15m", "agg": "avg", "end": iso(T0 + 3 * HOUR)}
    before = (await get_series(client, asset_id, headers, **params)).json()
    assert before["source"] == "15m"
    assert values(before)[7] == pytest.approx((105 + 106 + 107 + 108 + 109 + 10 * 1000) / 15)
    assert values(before)[-1] == 1000.0 and len(before["points"]) == 10
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    after = (await get_series(client, asset_id, headers, **params)).json()
    assert after == before


async def test_too_many_points_is_413_with_a_useful_message(client, power_asset):
    asset_id, _, headers = power_asset
    response = await get_series(client, asset_id, headers, resolution="1m", end=iso(T0 + 4 * HOUR))
    assert response.status_code == 413
    body = response.json()
    assert "240 points" in body["message"] and "cap of 200" in body["message"]
    assert "resolution=5m" in body["message"]
    assert body["details"]["suggested_resolution"] == "5m"

    raw = await get_series(client, asset_id, headers, start=iso(T0 - HOUR))
    assert raw.status_code == 200  # 120 readings: under the cap
    response = await get_series(client, asset_id, headers, end=iso(T0 + 5 * HOUR))
    assert response.status_code == 200


async def test_raw_readings_over_the_cap_are_413(app, client, sessions, power_asset):
    asset_id, power, headers = power_asset
    await insert_readings(
        sessions, [(asset_id, power, T0 + 2 * HOUR + i * 1000, 1.0) for i in range(100)]
    )
    response = await get_series(client, asset_id, headers, end=iso(T0 + 3 * HOUR))
    assert response.status_code == 413
    assert "220 raw readings" in response.json()["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"metric": "no_such_metric"},
        {"start": iso(T0 + HOUR), "end": iso(T0)},
        {"resolution": "7x"},
        {"agg": "median"},
        {"start": "yesterday"},
    ],
)
async def test_bad_queries_are_422(client, power_asset, params):
    asset_id, _, headers = power_asset
    response = await get_series(client, asset_id, headers, **params)
    assert response.status_code == 422, response.text
    assert response.json()["message"]


async def test_latest_values_per_metric(app, client, sessions, power_asset):
    asset_id, _, headers = power_asset
    voltage = await metric_id(sessions, "voltage_v")
    await insert_readings(sessions, [(asset_id, voltage, T0 + 5 * MIN, 230.5)])  # not refreshed
    body = (await client.get(f"/api/v1/assets/{asset_id}/latest", headers=headers)).json()
    assert body == {
        "power_kw": {"ts": iso(T0 + 119 * MIN), "value": 119.0, "unit": "kW"},
        "voltage_v": {"ts": iso(T0 + 5 * MIN), "value": 230.5, "unit": "V"},
    }
    only = await client.get(
        f"/api/v1/assets/{asset_id}/latest", params={"metric": "voltage_v"}, headers=headers
    )
    assert list(only.json()) == ["voltage_v"]
    async with sessions() as session:
        seen = await last_seen(session=session, asset_ids=[asset_id, 999_999])
    assert seen == {asset_id: T0 + 119 * MIN, 999_999: None}


async def test_site_limited_user_gets_404_for_another_sites_telemetry(
    client, auth_headers, power_asset
):
    asset_id, _, _ = power_asset
    other_site, other_asset, _ = await site_with_asset(client, auth_headers, "Other site")
    own_site_id = (await client.get(f"/api/v1/assets/{asset_id}", headers=power_asset[2])).json()[
        "site_id"
    ]
    limited = await auth_headers(Role.VIEWER, sites=[other_site["id"]])
    for path in ("series?metric=power_kw", "latest", "energy"):
        hidden = await client.get(f"/api/v1/assets/{asset_id}/{path}", headers=limited)
        assert hidden.status_code == 404, path
        mine = await client.get(f"/api/v1/assets/{other_asset['id']}/{path}", headers=limited)
        assert mine.status_code == 200, path
    assert own_site_id != other_site["id"]
    assert (await client.get(f"/api/v1/assets/{asset_id}/latest")).status_code == 401
