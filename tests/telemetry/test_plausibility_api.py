"""Plausibility against the asset through POST /api/v1/telemetry on both back ends: codes in the
answer, flag mode, and changes of an asset's capacity or mode applying to the next batch."""

from __future__ import annotations

import pytest
from tests.telemetry.test_ingest_http import HOUR_AGO, reading, stored_rows

from gridpilot.auth.permissions import Role

URL = "/api/v1/telemetry"
ASSETS = "/api/v1/assets"


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def site(client, operator):
    response = await client.post(
        "/api/v1/sites", json={"name": "Plant", "timezone": "UTC"}, headers=operator
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def make_asset(client, operator, site, **fields):
    body = {"site_id": site, "name": "Meter 300 kW", "kind": "meter", **fields}
    response = await client.post(ASSETS, json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def meter(client, operator, site):
    """A load meter rated 300 kW (role consumer): implausible above 450 kW, below -3 kW."""
    return (await make_asset(client, operator, site, rated_capacity_kw=300))["id"]


async def post(client, headers, batch):
    return await client.post(URL, json={"readings": batch}, headers=headers)


async def patch(client, headers, asset_id, **changes):
    response = await client.patch(f"{ASSETS}/{asset_id}", json=changes, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def flagged_count(app, code):
    value = app.state.metrics.registry.get_sample_value(
        "gridpilot_readings_flagged_total", {"channel": "http", "code": code}
    )
    return value or 0.0


async def test_a_50_mw_reading_on_a_300_kw_meter_is_rejected_and_the_batch_stored(
    client, operator, sessions, meter
):
    t0 = HOUR_AGO
    batch = [
        reading(meter, 120.0, t0),
        reading(meter, 50.0, t0 + 1000, unit="MW"),
        reading(meter, 130.0, t0 + 2000),
    ]
    response = await post(client, operator, batch)
    assert response.status_code == 207, response.text
    answer = response.json()
    assert answer["stored"] == 2 and "warnings" not in answer
    [refused] = answer["rejected"]
    assert refused["index"] == 1 and refused["code"] == "over_capacity"
    assert "50000 kW" in refused["reason"] and "300 kW" in refused["reason"]
    assert await stored_rows(sessions, meter) == [(t0, 120.0), (t0 + 2000, 130.0)]


async def test_negative_one_way_power_is_rejected_two_way_power_is_not(
    client, operator, sessions, site, meter
):
    grid = await make_asset(
        client, operator, site, name="Main", kind="grid_connection", rated_capacity_kw=300
    )
    t0 = HOUR_AGO
    batch = [
        reading(meter, -40.0, t0),  # a load meter reading an export
        reading(meter, -1.0, t0 + 1000),  # noise: within 1 % of 300 kW
        reading(grid["id"], -250.0, t0),  # the grid connection exporting
    ]
    response = await post(client, operator, batch)
    assert response.status_code == 207, response.text
    [refused] = response.json()["rejected"]
    assert refused["index"] == 0 and refused["code"] == "negative_power"
    assert "power_kw" in refused["reason"]
    assert await stored_rows(sessions, meter) == [(t0 + 1000, -1.0)]
    assert await stored_rows(sessions, grid["id"]) == [(t0, -250.0)]


async def test_flag_mode_stores_reports_and_counts(client, app, operator, sessions, site):
    meter = await make_asset(client, operator, site, rated_capacity_kw=300, plausibility="flag")
    assert meter["plausibility"] == "flag"
    before = flagged_count(app, "over_capacity")
    t0 = HOUR_AGO
    batch = [reading(meter["id"], 100.0, t0), reading(meter["id"], 50_000.0, t0 + 1000)]
    response = await post(client, operator, batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["stored"] == 2 and answer["rejected"] == []
    [warning] = answer["warnings"]
    assert warning["index"] == 1 and warning["code"] == "over_capacity"
    assert await stored_rows(sessions, meter["id"]) == [(t0, 100.0), (t0 + 1000, 50_000.0)]
    assert flagged_count(app, "over_capacity") == before + 1


async def test_a_mode_switched_through_the_api_applies_to_the_next_batch(
    client, operator, sessions, meter
):
    t0 = HOUR_AGO
    implausible = [reading(meter, 50_000.0, t0)]
    assert (await post(client, operator, implausible)).status_code == 422  # cached as reject
    assert (await patch(client, operator, meter, plausibility="flag"))["plausibility"] == "flag"
    flagged = await post(client, operator, implausible)
    assert flagged.status_code == 200, flagged.text
    assert flagged.json()["warnings"][0]["code"] == "over_capacity"
    await patch(client, operator, meter, plausibility="off")
    quiet = await post(client, operator, [reading(meter, 60_000.0, t0 + 1000)])
    assert quiet.json() == {"stored": 1, "rejected": []}
    await patch(client, operator, meter, plausibility="reject")
    again = await post(client, operator, [reading(meter, 70_000.0, t0 + 2000)])
    assert again.status_code == 422 and again.json()["rejected"][0]["code"] == "over_capacity"
    assert await stored_rows(sessions, meter) == [(t0, 50_000.0), (t0 + 1000, 60_000.0)]


async def test_a_capacity_or_role_change_applies_to_the_next_batch(
    client, operator, sessions, meter
):
    t0 = HOUR_AGO
    assert (await post(client, operator, [reading(meter, 600.0, t0)])).status_code == 422
    await patch(client, operator, meter, rated_capacity={"value": 1, "unit": "MW"})
    assert (await post(client, operator, [reading(meter, 600.0, t0)])).status_code == 200
    await patch(client, operator, meter, rated_capacity_kw=100)
    refused = await post(client, operator, [reading(meter, 600.0, t0 + 1000)])
    assert refused.status_code == 422 and "100 kW" in refused.json()["rejected"][0]["reason"]
    await patch(client, operator, meter, rated_capacity_kw=None)  # no capacity: no upper bound
    assert (await post(client, operator, [reading(meter, 9e5, t0 + 1000)])).status_code == 200
    assert (await post(client, operator, [reading(meter, -50.0, t0 + 2000)])).status_code == 422
    await patch(client, operator, meter, role="grid_connection")  # now it may export
    assert (await post(client, operator, [reading(meter, -50.0, t0 + 2000)])).status_code == 200
    assert len(await stored_rows(sessions, meter)) == 3


async def test_the_mode_is_checked_on_input(client, operator, site, meter):
    body = {"site_id": site, "name": "X", "kind": "meter", "plausibility": "maybe"}
    assert (await client.post(ASSETS, json=body, headers=operator)).status_code == 422
    cleared = {"plausibility": None}
    response = await client.patch(f"{ASSETS}/{meter}", json=cleared, headers=operator)
    assert response.status_code == 422 and "plausibility cannot be null" in response.text
    got = await client.get(f"{ASSETS}/{meter}", headers=operator)
    assert got.json()["plausibility"] == "reject"
