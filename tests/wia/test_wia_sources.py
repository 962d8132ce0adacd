"""WIA-ENE-004 /api/v1/sources: the seed's Energy Source model, sourceId rules, scoping."""

from __future__ import annotations

import copy

import pytest

from gridpilot.auth.permissions import Role

SOURCES = "/api/v1/sources"

SOLAR = {
    "sourceId": "SOLAR-PV-ITA-00001",
    "sourceType": "SOLAR-PV",
    "name": "Alpha Solar Park",
    "ratedCapacity": {"value": 2.5, "unit": "MW"},
    "location": {"latitude": 41.9, "longitude": 12.5, "elevation": 21, "timezone": "Europe/Rome"},
    "installDate": "2023-06-15",
    "operator": "Alpha Energia S.r.l.",
    "metadata": {
        "manufacturer": "SunPower",
        "model": "X22-370",
        "serialNumber": "SP-2023-0001",
        "certifications": ["IEC 61215", "IEC 61730"],
    },
}
SEED_FIELDS = {
    "sourceId", "sourceType", "name", "ratedCapacity", "location", "installDate", "operator",
    "metadata",
}  # fmt: skip


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


def source(**changes):
    body = copy.deepcopy(SOLAR)
    body.update(changes)
    return body


async def test_register_and_read_back_the_seed_model(client, operator):
    created = await client.post(SOURCES, json=SOLAR, headers=operator)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) >= SEED_FIELDS
    assert {k: body[k] for k in SEED_FIELDS} == SOLAR  # 2.5 MW comes back as 2.5 MW

    got = await client.get(f"{SOURCES}/SOLAR-PV-ITA-00001", headers=operator)
    assert got.status_code == 200
    assert {k: got.json()[k] for k in SEED_FIELDS} == SOLAR

    # the source is an asset (kW inside) on a site of its own made from its location
    asset = (await client.get(f"/api/v1/assets/{body['id']}", headers=operator)).json()
    assert asset["kind"] == "solar_pv"
    assert asset["role"] == "producer"
    assert asset["rated_capacity_kw"] == 2500
    site = (await client.get(f"/api/v1/sites/{body['siteId']}", headers=operator)).json()
    assert site["timezone"] == "Europe/Rome"
    assert site["name"] == "Alpha Solar Park (SOLAR-PV-ITA-00001)"
    assert (site["latitude"], site["longitude"], site["elevation_m"]) == (41.9, 12.5, 21)

    listed = await client.get(SOURCES, headers=operator)
    assert [s["sourceId"] for s in listed.json()] == ["SOLAR-PV-ITA-00001"]


async def test_put_replaces_the_source(client, operator):
    await client.post(SOURCES, json=SOLAR, headers=operator)
    new = source(
        name="Alpha Solar Park II",
        ratedCapacity={"value": 3200, "unit": "kW"},
        location={"latitude": 42.0, "longitude": 12.6, "timezone": "Europe/Berlin"},
        metadata={"manufacturer": "SunPower", "certifications": []},
    )
    del new["operator"]
    response = await client.put(f"{SOURCES}/SOLAR-PV-ITA-00001", json=new, headers=operator)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Alpha Solar Park II"
    assert body["ratedCapacity"] == {"value": 3200, "unit": "kW"}
    assert body["operator"] is None  # PUT replaces: absent fields are cleared
    assert body["metadata"] == {
        "manufacturer": "SunPower", "model": None, "serialNumber": None, "certifications": []
    }  # fmt: skip
    assert body["location"]["timezone"] == "Europe/Berlin"
    assert body["location"]["elevation"] is None
    again = await client.get(f"{SOURCES}/SOLAR-PV-ITA-00001", headers=operator)
    assert again.json() == body


async def test_source_on_an_existing_site(client, operator):
    site = await client.post("/api/v1/sites", json={"name": "Farm", "timezone": "Europe/Berlin"},
                             headers=operator)  # fmt: skip
    wind = {
        "sourceId": "WIND-ON-DEU-00042", "sourceType": "WIND-ON", "name": "Turbine 42",
        "ratedCapacity": {"value": 4.2, "unit": "MW"}, "siteId": site.json()["id"],
    }  # fmt: skip
    created = await client.post(SOURCES, json=wind, headers=operator)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["siteId"] == site.json()["id"]
    assert body["location"]["timezone"] == "Europe/Berlin"  # the site's
    assert body["metadata"]["certifications"] == []
    only_wind = await client.get(SOURCES, params={"sourceType": "WIND-ON"}, headers=operator)
    assert [s["sourceId"] for s in only_wind.json()] == ["WIND-ON-DEU-00042"]
    only_solar = await client.get(SOURCES, params={"sourceType": "SOLAR-PV"}, headers=operator)
    assert only_solar.json() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"sourceId": "SOLAR-PV-ITA-1"},
        {"sourceId": "SOLAR-PV-IT-00001"},
        {"sourceId": "solar-pv-ita-00001"},
        {"sourceId": "NUCLEAR-ITA-00001"},
        {"sourceType": "NUCLEAR"},
        {"sourceType": "WIND-ON"},  # does not match the sourceId's TYPE
        {"ratedCapacity": {"value": 5, "unit": "hp"}},
        {"ratedCapacity": {"value": -1, "unit": "MW"}},
        {"location": {"timezone": "Atlantis/Capital"}},
        {"location": {"latitude": 100}},
        {"installDate": "yesterday"},
        {"colour": "green"},
        {"name": ""},
    ],
)
async def test_invalid_sources_are_422(client, operator, changes):
    response = await client.post(SOURCES, json=source(**changes), headers=operator)
    assert response.status_code == 422, response.text
    assert (await client.get(SOURCES, headers=operator)).json() == []


async def test_type_mismatch_message_is_clear(client, operator):
    response = await client.post(SOURCES, json=source(sourceType="HYDRO"), headers=operator)
    assert response.status_code == 422
    assert "SOLAR-PV" in response.json()["message"]
    assert "HYDRO" in response.json()["message"]


async def test_duplicate_source_is_409_and_put_must_match_path(client, operator):
    assert (await client.post(SOURCES, json=SOLAR, headers=operator)).status_code == 201
    duplicate = await client.post(SOURCES, json=source(name="Other"), headers=operator)
    assert duplicate.status_code == 409
    other_id = source(sourceId="SOLAR-PV-ITA-00002")
    mismatch = await client.put(f"{SOURCES}/SOLAR-PV-ITA-00001", json=other_id, headers=operator)
    assert mismatch.status_code == 422
    missing = await client.put(f"{SOURCES}/SOLAR-PV-ITA-00002", json=other_id, headers=operator)
    assert missing.status_code == 404
    assert (await client.get(f"{SOURCES}/SOLAR-PV-ITA-00009", headers=operator)).status_code == 404


async def test_viewer_reads_but_cannot_write(client, auth_headers, operator):
    viewer = await auth_headers(Role.VIEWER)
    await client.post(SOURCES, json=SOLAR, headers=operator)
    assert (await client.get(SOURCES, headers=viewer)).status_code == 200
    assert (await client.post(SOURCES, json=source(sourceId="SOLAR-PV-ITA-00003"),
                              headers=viewer)).status_code == 403  # fmt: skip
    put = await client.put(f"{SOURCES}/SOLAR-PV-ITA-00001", json=source(name="x"), headers=viewer)
    assert put.status_code == 403
    assert (await client.get(f"{SOURCES}/SOLAR-PV-ITA-00001", headers=viewer)).json()["name"] == (
        SOLAR["name"]
    )
    assert (await client.get(f"{SOURCES}/SOLAR-PV-ITA-00001/alerts", headers=viewer)).json() == []


async def test_site_limited_user_gets_404_for_other_sites_sources(client, auth_headers, operator):
    a = (await client.post(SOURCES, json=SOLAR, headers=operator)).json()
    b = (await client.post(SOURCES, json=source(sourceId="SOLAR-PV-ITA-00002", name="Beta"),
                           headers=operator)).json()  # fmt: skip
    limited = await auth_headers(Role.OPERATOR, sites=[a["siteId"]])
    assert [s["sourceId"] for s in (await client.get(SOURCES, headers=limited)).json()] == [
        "SOLAR-PV-ITA-00001"
    ]
    other = f"{SOURCES}/{b['sourceId']}"
    for path in (other, f"{other}/alerts"):
        assert (await client.get(path, headers=limited)).status_code == 404, path
    put = await client.put(other, json=source(sourceId=b["sourceId"], name="x"), headers=limited)
    assert put.status_code == 404
    # a site-limited user may register a source on one of its sites, not make a new site
    on_own_site = source(sourceId="SOLAR-PV-ITA-00003", name="Gamma", siteId=a["siteId"])
    assert (await client.post(SOURCES, json=on_own_site, headers=limited)).status_code == 201
    own_site = source(sourceId="SOLAR-PV-ITA-00004", name="Delta")
    assert (await client.post(SOURCES, json=own_site, headers=limited)).status_code == 403
    elsewhere = source(sourceId="SOLAR-PV-ITA-00005", name="Eps", siteId=b["siteId"])
    assert (await client.post(SOURCES, json=elsewhere, headers=limited)).status_code == 404


async def test_unauthenticated_is_401(client):
    assert (await client.get(SOURCES)).status_code == 401
    assert (await client.post(SOURCES, json=SOLAR)).status_code == 401
