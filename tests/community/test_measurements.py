"""The seed's energy-data paths: a plant's meter readings stored through the telemetry ingest
and read back (paged, by period), and its site's forecast; a member reaches their own plant
only, another community's caller gets 404, bad input a 422 that says why."""

from __future__ import annotations

import pytest
from tests.community.community_data import add_member, make_community, make_plant
from tests.insights.forecasts.test_site_forecasts import load_kw, stamps, store_power
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, now_ms

H = 3_600_000
T0 = (now_ms() - 2 * 86_400_000) // H * H  # two days ago, on the hour
PERIOD = {"from": iso(T0 - H), "to": iso(T0 + 10 * H)}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"forecast_interval_s": 0, "forecast_history_days": 21}


@pytest.fixture
async def cer(client, admin, person):
    """Ann's and Bob's PODs, each metered by its own site's grid connection; Bob is a user."""
    community = await make_community(client, admin, "MEAS", primary_substations=["AC001"])
    bob_user, bob = await person(Role.VIEWER)
    members = {
        "ann": await add_member(client, admin, community, "Ann"),
        "bob": await add_member(client, admin, community, "Bob", user_id=bob_user),
    }
    plants, sites = {}, {}
    for n, name in enumerate(members):
        sites[name] = await make_site(client, admin, f"{name} home")
        meter = await make_asset(client, admin, sites[name], "POD meter", "grid_connection")
        plants[name] = await make_plant(
            client, admin, community, members[name], f"IT001E0000002{n}", site=sites[name],
            asset_id=meter,
        )  # fmt: skip
    other = await make_community(client, admin, "ELSEWHERE")
    olga_user, olga = await person(Role.OPERATOR)
    await add_member(client, admin, other, "Olga", user_id=olga_user, role="ADMIN")
    return {"id": community, "plants": plants, "sites": sites, "bob": bob, "olga": olga}


def measurement(hour: int, **values: float) -> dict:
    return {"timestamp": iso(T0 + hour * H), "measurements": values}


async def test_a_measurement_is_stored_by_the_ingest_and_read_back(client, admin, cer):
    ann = cer["plants"]["ann"]
    body = measurement(0, energy_kwh=100.5, power_kw=2.25)
    stored = await client.post(f"/api/plants/{ann}/measurements/", json=body, headers=admin)
    assert stored.status_code == 201, stored.text
    assert stored.json()["data"] == {"plant_id": ann, "stored": 2, "rejected": []}
    more = {"plant_id": ann, **measurement(1, energy_kwh=101.0)}
    assert (
        await client.post("/api/energy/measurements", json=more, headers=admin)
    ).status_code == 201
    read = await client.get(f"/api/plants/{ann}/measurements", params=PERIOD, headers=admin)
    assert read.status_code == 200, read.text
    assert [(r["value"], r["unit"]) for r in read.json()["data"]] == [
        (100.5, "kWh"), (101.0, "kWh"),
    ]  # fmt: skip
    power = await client.get(
        "/api/energy/measurements/", params={**PERIOD, "plant": ann, "metric": "power_kw"},
        headers=admin,
    )  # fmt: skip
    assert [r["value"] for r in power.json()["data"]] == [2.25]
    # the same readings as the telemetry API
    meter = (await client.get(f"/api/plants/{ann}", headers=admin)).json()["data"]["asset_id"]
    series = await client.get(
        f"/api/v1/assets/{meter}/series", params={"metric": "energy_kwh", "start": PERIOD["from"],
        "end": PERIOD["to"]}, headers=admin,
    )  # fmt: skip
    assert [p["value"] for p in series.json()["points"]] == [100.5, 101.0]


async def test_readings_are_paged(client, admin, cer):
    ann = cer["plants"]["ann"]
    for hour in range(3):
        body = measurement(hour, energy_kwh=10.0 + hour)
        assert (
            await client.post(f"/api/plants/{ann}/measurements", json=body, headers=admin)
        ).status_code == 201
    page = await client.get(
        f"/api/plants/{ann}/measurements", params={**PERIOD, "page": 2, "per_page": 2},
        headers=admin,
    )  # fmt: skip
    assert [r["value"] for r in page.json()["data"]] == [12.0]
    assert page.json()["meta"] == {"page": 2, "per_page": 2, "total": 3}


async def test_a_member_reaches_only_their_own_plant(client, admin, cer):
    ann, bob = cer["plants"]["ann"], cer["plants"]["bob"]
    for plant in (ann, bob):
        body = measurement(0, energy_kwh=5.0)
        await client.post(f"/api/plants/{plant}/measurements", json=body, headers=admin)
    own = await client.get(f"/api/plants/{bob}/measurements", params=PERIOD, headers=cer["bob"])
    assert [r["value"] for r in own.json()["data"]] == [5.0]
    other = await client.get(f"/api/plants/{ann}/measurements", params=PERIOD,
                             headers=cer["bob"])  # fmt: skip
    assert other.status_code == 404
    query = {**PERIOD, "plant": bob}
    assert (
        await client.get("/api/energy/measurements", params=query, headers=cer["olga"])
    ).status_code == 404
    write = measurement(1, energy_kwh=6.0)
    assert (
        await client.post(f"/api/plants/{bob}/measurements", json=write, headers=cer["olga"])
    ).status_code == 404
    # a viewer may read their plant but not write telemetry
    assert (
        await client.post(f"/api/plants/{bob}/measurements", json=write, headers=cer["bob"])
    ).status_code == 403


async def test_bad_measurements_say_why(client, admin, cer):
    ann = cer["plants"]["ann"]
    path = f"/api/plants/{ann}/measurements"
    unknown = await client.post(path, json=measurement(0, no_such_metric=1.0), headers=admin)
    assert unknown.status_code == 422
    assert unknown.json()["details"][0]["metric"] == "no_such_metric"
    partial = await client.post(
        path, json=measurement(0, energy_kwh=1.0, no_such_metric=2.0), headers=admin
    )
    assert partial.status_code == 201
    assert [r["metric"] for r in partial.json()["data"]["rejected"]] == ["no_such_metric"]
    assert partial.json()["data"]["stored"] == 1
    for body in (
        {"timestamp": "yesterday", "measurements": {"energy_kwh": 1.0}},
        {"timestamp": iso(T0), "measurements": {}},
        {"timestamp": iso(T0), "measurements": {"energy_kwh": "lots"}},
    ):
        refused = await client.post(path, json=body, headers=admin)
        assert refused.status_code == 422, body
        assert refused.json()["message"]
    bad_metric = await client.get(path, params={**PERIOD, "metric": "no_such_metric"},
                                  headers=admin)  # fmt: skip
    assert bad_metric.status_code == 422 and "no_such_metric" in bad_metric.text


async def test_a_plant_without_a_meter_asset_has_no_measurements(client, admin, cer):
    community = cer["id"]
    dora = await add_member(client, admin, community, "Dora")
    plant = await make_plant(client, admin, community, dora, "IT001E00000030")
    answer = await client.get(f"/api/plants/{plant}/measurements", headers=admin)
    assert answer.status_code == 409
    assert "asset_id" in answer.json()["message"]


async def test_predictions_are_the_site_forecast_with_intervals(app, client, sessions, admin,
                                                                cer):  # fmt: skip
    bob, site = cer["plants"]["bob"], cer["sites"]["bob"]
    query = {"plant": bob, "quantity": "consumption"}
    early = await client.get("/api/energy/predictions", params=query, headers=admin)
    assert early.status_code == 422 and early.json()["message"]
    load = await make_asset(client, admin, site, "house", "meter", role="consumer")
    ts = stamps(21)
    await store_power(app, sessions, {load: load_kw(ts)}, ts)
    answer = await client.get("/api/energy/predictions/", params=query, headers=cer["bob"])
    assert answer.status_code == 200, answer.text
    forecast = answer.json()["data"]
    assert forecast["site_id"] == site and forecast["quantity"] == "consumption"
    assert len(forecast["points"]) == 96
    assert all(p["lo95"] <= p["lo80"] <= p["yhat"] <= p["hi80"] <= p["hi95"]
               for p in forecast["points"])  # fmt: skip
    ann_query = {"plant": cer["plants"]["ann"]}
    assert (
        await client.get("/api/energy/predictions", params=ann_query, headers=cer["bob"])
    ).status_code == 404
    assert (
        await client.get("/api/energy/predictions", params=query, headers=cer["olga"])
    ).status_code == 404
