"""Who sees what (docs/community.md, "Access"): a community admin sees every member, a member
only themself and the community's aggregates, nobody another community (404, never 403)."""

from __future__ import annotations

import pytest
from tests.community.community_data import add_member, make_community, make_plant

from gridpilot.auth.permissions import Role


@pytest.fixture
async def two_communities(client, admin, person):
    """A: Olga (ADMIN, operator), Ann and Bob (members, with a plant each). B: Carl (ADMIN)."""
    a = await make_community(client, admin, "A")
    b = await make_community(client, admin, "B")
    olga_user, olga = await person(Role.OPERATOR)
    ann_user, ann = await person(Role.VIEWER)
    bob_user, bob = await person(Role.VIEWER)
    carl_user, carl = await person(Role.OPERATOR)
    await add_member(client, admin, a, "Olga", user_id=olga_user, role="ADMIN")
    ann_id = await add_member(client, admin, a, "Ann", user_id=ann_user)
    bob_id = await add_member(client, admin, a, "Bob", user_id=bob_user)
    carl_id = await add_member(client, admin, b, "Carl", user_id=carl_user, role="ADMIN")
    plants = {
        "ann": await make_plant(client, admin, a, ann_id, "IT001E00000101"),
        "bob": await make_plant(client, admin, a, bob_id, "IT001E00000102"),
        "carl": await make_plant(client, admin, b, carl_id, "IT001E00000201"),
    }
    headers = {"olga": olga, "ann": ann, "bob": bob, "carl": carl}
    return {"a": a, "b": b, "plants": plants, "h": headers, "ann_id": ann_id, "bob_id": bob_id}


async def test_nobody_sees_another_community(client, two_communities):
    t = two_communities
    carl = t["h"]["carl"]
    a = t["a"]
    for path in (
        f"/api/cer/{a}", f"/api/cer/{a}/members", f"/api/plants/{t['plants']['ann']}",
    ):  # fmt: skip
        response = await client.get(path, headers=carl)
        assert response.status_code == 404, (path, response.text)
    assert (
        await client.get("/api/plants", headers=carl, params={"community_id": a})
    ).status_code == 404
    put = await client.put(
        f"/api/cer/{a}", headers=carl,
        json={"name": "x", "code": "A", "primary_substations": ["AC001", "AC002"],
              "market_zone": "NORD", "region": "Lombardia"},
    )  # fmt: skip
    assert put.status_code == 404
    aggregates = await client.get("/api/energy/aggregations", params={"community": a}, headers=carl)
    assert aggregates.status_code == 404
    listing = (await client.get("/api/cer", headers=carl)).json()
    assert [c["code"] for c in listing["data"]] == ["B"]
    plants = (await client.get("/api/plants", headers=carl)).json()
    assert [p["id"] for p in plants["data"]] == [t["plants"]["carl"]]


async def test_a_member_sees_own_data_and_the_aggregates_only(client, two_communities):
    t = two_communities
    ann = t["h"]["ann"]
    community = (await client.get(f"/api/cer/{t['a']}", headers=ann)).json()["data"]
    assert (community["members_count"], community["plants_count"]) == (3, 2)
    assert community["my_role"] == "MEMBER"
    aggregates = await client.get(
        "/api/energy/aggregations", params={"community": t["a"]}, headers=ann
    )
    assert aggregates.status_code == 200
    members = (await client.get(f"/api/cer/{t['a']}/members", headers=ann)).json()
    assert [m["name"] for m in members["data"]] == ["Ann"]
    assert members["meta"]["total"] == 1
    mine = (await client.get("/api/plants", headers=ann)).json()
    assert [p["id"] for p in mine["data"]] == [t["plants"]["ann"]]
    assert (await client.get(f"/api/plants/{t['plants']['bob']}", headers=ann)).status_code == 404
    assert (await client.get(f"/api/plants/{t['plants']['ann']}", headers=ann)).status_code == 200
    removal = await client.delete(f"/api/cer/{t['a']}/members/{t['bob_id']}", headers=ann)
    assert removal.status_code == 403


async def test_a_community_admin_sees_and_manages_every_member(client, two_communities):
    t = two_communities
    olga = t["h"]["olga"]
    members = (await client.get(f"/api/cer/{t['a']}/members", headers=olga)).json()
    assert [m["name"] for m in members["data"]] == ["Olga", "Ann", "Bob"]
    plants = (await client.get("/api/plants", headers=olga)).json()
    assert sorted(p["id"] for p in plants["data"]) == sorted(
        [t["plants"]["ann"], t["plants"]["bob"]]
    )
    bob_plant = await client.get(f"/api/plants/{t['plants']['bob']}", headers=olga)
    assert bob_plant.status_code == 200
    left = await client.delete(f"/api/cer/{t['a']}/members/{t['bob_id']}", headers=olga)
    assert left.status_code == 200
    # Bob has left: community A is gone for him
    assert (await client.get(f"/api/cer/{t['a']}", headers=t["h"]["bob"])).status_code == 404


async def test_only_a_gridpilot_administrator_creates_a_community(client, two_communities):
    body = {"name": "x", "code": "NEW", "primary_substations": ["S"], "market_zone": "SUD",
            "region": "Puglia"}  # fmt: skip
    response = await client.post("/api/cer", json=body, headers=two_communities["h"]["olga"])
    assert response.status_code == 403
