"""One capacity bound, checked on input, in any unit; the Energy Source as answered re-checks no
input bound, so no stored or edited source can make GET /sources fail (#13)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gridpilot.assets.schemas import MAX_CAPACITY_KW
from gridpilot.auth.permissions import Role

SOURCES = "/api/v1/sources"
SID = "HYDRO-CHE-00042"


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def source(client, operator):
    location = {"latitude": 46.5, "longitude": 8.0, "timezone": "Europe/Zurich"}
    body = {"sourceId": SID, "sourceType": "HYDRO", "name": "Dam",
            "ratedCapacity": {"value": 2, "unit": "GW"}, "location": location}  # fmt: skip
    response = await client.post(SOURCES, json=body, headers=operator)
    assert response.status_code == 201, response.text
    return response.json()


async def sources_answer(client, headers) -> dict:
    listed = await client.get(SOURCES, headers=headers)
    assert listed.status_code == 200, listed.text
    one = await client.get(f"{SOURCES}/{SID}", headers=headers)
    assert one.status_code == 200, one.text
    return one.json()


@pytest.mark.parametrize(
    "change",
    [
        {"rated_capacity_kw": 5e9},
        {"rated_capacity_kw": MAX_CAPACITY_KW * 1.001},
        {"rated_capacity": {"value": 2e6, "unit": "GW"}},
        {"rated_capacity": {"value": 1e13, "unit": "W"}},
    ],
)
async def test_capacities_over_the_bound_are_refused_on_input(client, operator, source, change):
    response = await client.patch(f"/api/v1/assets/{source['id']}", json=change, headers=operator)
    assert response.status_code == 422, response.text
    answered = await sources_answer(client, operator)
    assert answered["ratedCapacity"] == {"value": 2.0, "unit": "GW"}


async def test_the_bound_itself_is_accepted_in_every_unit(client, operator, source):
    asset = f"/api/v1/assets/{source['id']}"
    for change in ({"rated_capacity_kw": MAX_CAPACITY_KW},
                   {"rated_capacity": {"value": 1000, "unit": "GW"}},
                   {"rated_capacity": {"value": 1e12, "unit": "W"}}):  # fmt: skip
        response = await client.patch(asset, json=change, headers=operator)
        assert response.status_code == 200, response.text
        assert response.json()["rated_capacity_kw"] == MAX_CAPACITY_KW
        assert (await sources_answer(client, operator))["ratedCapacity"]["value"] == 1000


@pytest.mark.parametrize("unit", ["GW", "MW", "kW"])
async def test_wia_capacity_has_the_same_bound(client, operator, unit):
    scale = {"GW": 1e6, "MW": 1e3, "kW": 1}[unit]
    body = {"sourceId": SID, "sourceType": "HYDRO", "name": "Dam"}
    over = {**body, "ratedCapacity": {"value": MAX_CAPACITY_KW / scale * 2, "unit": unit}}
    assert (await client.post(SOURCES, json=over, headers=operator)).status_code == 422
    at = {**body, "ratedCapacity": {"value": MAX_CAPACITY_KW / scale, "unit": unit}}
    assert (await client.post(SOURCES, json=at, headers=operator)).status_code == 201


async def test_stored_or_edited_values_never_break_the_source_list(
    client, operator, sessions, source
):
    odd = {"wia": {"ratedCapacityUnit": "kW", "location": {"latitude": 500, "mood": "x"}}}
    patched = await client.patch(
        f"/api/v1/assets/{source['id']}", json={"attributes": odd}, headers=operator
    )
    assert patched.status_code == 200, patched.text
    async with sessions() as session, session.begin():  # a value stored before the bound
        await session.execute(
            text("UPDATE assets SET rated_capacity_kw = 5e12 WHERE id = :id"), {"id": source["id"]}
        )
    answered = await sources_answer(client, operator)
    assert answered["ratedCapacity"] == {"value": 5e12, "unit": "kW"}
    assert answered["location"]["latitude"] == 46.5  # the site's: the stored one is no location
