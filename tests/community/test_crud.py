"""Communities, members and plants over the CER seed's paths: the envelope, validation of POD
codes, duplicates with their reason, on both back ends."""

from __future__ import annotations

from tests.community.community_data import add_member, make_community, make_plant, plant_body
from tests.insights.kpis.kpi_test_data import make_site


async def test_a_community_answers_the_seed_envelope_with_its_aggregates(client, admin):
    cer = await make_community(client, admin, "CER001")
    ann = await add_member(client, admin, cer, "Ann", share_pct="60")
    await add_member(client, admin, cer, "Bob", user_type="BUSINESS", category="sme")
    await make_plant(client, admin, cer, ann, "IT001E00000001", nominal_power_kw="6.5")
    await make_plant(client, admin, cer, ann, "IT001E00000002", nominal_power_kw="200.25")

    body = (await client.get(f"/api/cer/{cer}", headers=admin)).json()
    assert body["success"] is True and body["errors"] == []
    data = body["data"]
    assert (data["code"], data["members_count"], data["plants_count"]) == ("CER001", 2, 2)
    assert data["total_power_kw"] == "206.750"  # exact decimal, as text
    listing = (await client.get("/api/cer", headers=admin, params={"per_page": 1})).json()
    assert listing["meta"] == {"page": 1, "per_page": 1, "total": 1}
    members = (await client.get(f"/api/cer/{cer}/members", headers=admin)).json()
    assert [m["name"] for m in members["data"]] == ["Ann", "Bob"]
    assert members["data"][0]["share_pct"] == "60.00"


async def test_a_community_code_is_unique(client, admin):
    await make_community(client, admin, "DUP")
    body = {"name": "x", "code": "DUP", "primary_substations": ["A"], "market_zone": "SUD",
            "region": "Puglia"}  # fmt: skip
    response = await client.post("/api/cer", json=body, headers=admin)
    assert response.status_code == 409
    assert "DUP" in response.json()["message"]


async def test_pod_codes_are_validated_normalised_and_unique(client, admin):
    cer = await make_community(client, admin, "PODS")
    ann = await add_member(client, admin, cer, "Ann")
    site = await make_site(client, admin, "site a")
    for bad in ("IT001X00000001", "FR001E00000001", "IT01E000000011", "IT001E0000001"):
        response = await client.post(
            "/api/plants", json=plant_body(cer, ann, site, bad), headers=admin
        )
        assert response.status_code == 422, (bad, response.text)
        assert "pod_code" in response.text and "POD code" in response.text
    created = await client.post(
        "/api/plants", json=plant_body(cer, ann, site, "it001e 1234 5678"), headers=admin
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["pod_code"] == "IT001E12345678"

    other_site = await make_site(client, admin, "site b")
    again = await client.post(
        "/api/plants", json=plant_body(cer, ann, other_site, "IT001E12345678"), headers=admin
    )
    assert again.status_code == 409
    assert again.json()["details"]["reason"] == "duplicate_pod"
    assert "already registered" in again.json()["message"]


async def test_a_plant_needs_a_substation_of_its_community_and_its_own_site(client, admin):
    cer = await make_community(client, admin, "SUBS")
    ann = await add_member(client, admin, cer, "Ann")
    site = await make_site(client, admin, "site s")
    wrong = plant_body(cer, ann, site, "IT001E00000009", primary_substation="ELSEWHERE")
    response = await client.post("/api/plants", json=wrong, headers=admin)
    assert response.status_code == 422
    assert "ELSEWHERE" in response.json()["message"]
    await make_plant(client, admin, cer, ann, "IT001E00000010", site=site)
    shared = plant_body(cer, ann, site, "IT001E00000011")
    response = await client.post("/api/plants", json=shared, headers=admin)
    assert response.status_code == 409
    assert response.json()["details"]["reason"] == "site_taken"
    missing = plant_body(cer, ann, 999_999, "IT001E00000012")
    assert (await client.post("/api/plants", json=missing, headers=admin)).status_code == 422


async def test_plants_are_updated_and_deleted(client, admin):
    cer = await make_community(client, admin, "UPD")
    ann = await add_member(client, admin, cer, "Ann")
    site = await make_site(client, admin, "site u")
    plant = await make_plant(client, admin, cer, ann, "IT001E00000020", site=site)
    body = plant_body(cer, ann, site, "IT001E00000020", nominal_power_kw="250",
                      capital_grant_pct="20")  # fmt: skip
    updated = await client.put(f"/api/plants/{plant}", json=body, headers=admin)
    assert updated.status_code == 200, updated.text
    assert updated.json()["data"]["nominal_power_kw"] == "250.000"
    assert updated.json()["data"]["capital_grant_pct"] == "20.00"
    assert (await client.delete(f"/api/plants/{plant}", headers=admin)).status_code == 204
    assert (await client.get(f"/api/plants/{plant}", headers=admin)).status_code == 404


async def test_a_member_who_leaves_keeps_the_record_with_its_date(client, admin):
    cer = await make_community(client, admin, "LEAVE")
    bob = await add_member(client, admin, cer, "Bob")
    left = await client.delete(
        f"/api/cer/{cer}/members/{bob}", headers=admin, params={"left_on": "2099-01-01"}
    )
    assert left.status_code == 200 and left.json()["data"]["left_on"] == "2099-01-01"
    again = await client.delete(f"/api/cer/{cer}/members/{bob}", headers=admin)
    assert again.status_code == 404


async def test_the_seed_paths_answer_at_the_seeds_spelling_with_a_final_slash(client, admin):
    body = {"name": "CER slash", "code": "SLASH", "primary_substations": ["AC001"],
            "market_zone": "NORD", "region": "Lombardia"}  # fmt: skip
    made = await client.post("/api/cer/", json=body, headers=admin)
    assert made.status_code == 201, made.text
    cer = made.json()["data"]["id"]
    ann = await add_member(client, admin, cer, "Ann")
    plant = await make_plant(client, admin, cer, ann, "IT001E00000077")
    for path, params in (
        ("/api/cer/", {}), (f"/api/cer/{cer}/", {}), (f"/api/cer/{cer}/members/", {}),
        ("/api/plants/", {}), (f"/api/plants/{plant}/", {}),
        ("/api/energy/aggregations/", {"community": cer}),
        ("/api/economic/transactions/", {"community": cer}),
    ):  # fmt: skip
        answer = await client.get(path, params=params, headers=admin)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json()["success"] is True
    assert (await client.delete(f"/api/plants/{plant}/", headers=admin)).status_code == 204
    assert (await client.get(f"/api/plants/{plant}", headers=admin)).status_code == 404
