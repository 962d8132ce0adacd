"""Assets: CRUD, kinds and roles, capacity units, WIA sourceIds, scoping and bus events."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role

SITES = "/api/v1/sites"
ASSETS = "/api/v1/assets"


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def site(client, operator):
    response = await client.post(
        SITES, json={"name": "Factory", "timezone": "UTC"}, headers=operator
    )
    assert response.status_code == 201
    return response.json()


async def post_asset(client, headers, site_id, name="Compressor 1", kind="compressor", **fields):
    return await client.post(
        ASSETS, json={"site_id": site_id, "name": name, "kind": kind, **fields}, headers=headers
    )


async def test_asset_crud_round_trip(client, operator, site):
    response = await post_asset(
        client, operator, site["id"],
        rated_capacity_kw=75, expected_interval_s=60, install_date="2024-03-01",
        metadata={"manufacturer": "Atlas Copco", "model": "GA75", "serial_number": "S-1",
                  "certifications": ["CE"]},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    asset = response.json()
    assert asset["id"] > 0
    assert asset["role"] == "consumer"  # the default role of a compressor
    assert asset["rated_capacity_kw"] == 75
    assert asset["metadata"]["certifications"] == ["CE"]
    assert asset["install_date"] == "2024-03-01"

    patched = await client.patch(
        f"{ASSETS}/{asset['id']}",
        json={"rated_capacity": {"value": 0.09, "unit": "MW"}, "metadata": {"model": "GA90"}},
        headers=operator,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["rated_capacity_kw"] == pytest.approx(90)
    assert body["metadata"]["model"] == "GA90"
    assert body["metadata"]["manufacturer"] == "Atlas Copco"  # untouched
    assert body["expected_interval_s"] == 60

    got = await client.get(f"{ASSETS}/{asset['id']}", headers=operator)
    assert got.json()["metadata"]["model"] == "GA90"

    assert (await client.delete(f"{ASSETS}/{asset['id']}", headers=operator)).status_code == 204
    assert (await client.get(f"{ASSETS}/{asset['id']}", headers=operator)).status_code == 404


@pytest.mark.parametrize(
    ("capacity", "expected_kw"),
    [
        ({"value": 1500, "unit": "W"}, 1.5),
        ({"value": 250, "unit": "kW"}, 250),
        ({"value": 2.5, "unit": "MW"}, 2500),
        ({"value": 1.2, "unit": "GW"}, 1_200_000),
    ],
)
async def test_rated_capacity_units_are_normalised_to_kw(
    client, operator, site, capacity, expected_kw
):
    response = await post_asset(
        client, operator, site["id"], "PV", "solar_pv", rated_capacity=capacity
    )
    assert response.status_code == 201, response.text
    assert response.json()["rated_capacity_kw"] == pytest.approx(expected_kw)
    assert response.json()["role"] == "producer"


async def test_asset_validation_errors(client, operator, site):
    sid = site["id"]
    bad = [
        {"kind": "flux_capacitor"},
        {"kind": "pump", "role": "hoarder"},
        {"kind": "pump", "rated_capacity": {"value": 5, "unit": "hp"}},
        {"kind": "pump", "rated_capacity": {"value": -5, "unit": "kW"}},
        {"kind": "pump", "rated_capacity_kw": 5, "rated_capacity": {"value": 5, "unit": "kW"}},
        {"kind": "pump", "expected_interval_s": 0},
        {"kind": "solar_pv", "source_id": "SOLAR-PV-ITA-1"},
        {"kind": "solar_pv", "source_id": "SOLAR-XX-ITA-00001"},
        {"kind": "hydro", "source_id": "SOLAR-PV-ITA-00001"},  # type does not match the kind
        {"kind": "pump", "serial": "mass assignment"},
    ]
    for fields in bad:
        response = await post_asset(client, operator, sid, "A", **fields)
        assert response.status_code == 422, (fields, response.text)
    missing_site = await post_asset(client, operator, 99999, "A")
    assert missing_site.status_code == 404
    assert (await client.get(ASSETS, headers=operator)).json() == []


async def test_duplicate_asset_name_and_source_id_are_409(client, operator, site):
    first = await post_asset(client, operator, site["id"], "PV", "solar_pv",
                             source_id="SOLAR-PV-ITA-00001")  # fmt: skip
    assert first.status_code == 201
    same_name = await post_asset(client, operator, site["id"], "PV", "pump")
    assert same_name.status_code == 409
    same_source = await post_asset(client, operator, site["id"], "PV 2", "solar_pv",
                                   source_id="SOLAR-PV-ITA-00001")  # fmt: skip
    assert same_source.status_code == 409
    assert "SOLAR-PV-ITA-00001" in same_source.json()["message"]


async def test_list_filters(client, operator, site):
    kinds = [("M1", "meter", {}), ("PV", "solar_pv", {}), ("Bat", "battery", {}),
             ("Grid", "meter", {"role": "prosumer"})]  # fmt: skip
    for name, kind, extra in kinds:
        assert (
            await post_asset(client, operator, site["id"], name, kind, **extra)
        ).status_code == 201
    names = lambda r: sorted(a["name"] for a in r.json())  # noqa: E731
    assert names(await client.get(ASSETS, params={"kind": "meter"}, headers=operator)) == [
        "Grid",
        "M1",
    ]
    assert names(await client.get(ASSETS, params={"role": "storage"}, headers=operator)) == ["Bat"]
    assert names(await client.get(ASSETS, params={"site_id": site["id"], "role": "producer"},
                                  headers=operator)) == ["PV"]  # fmt: skip
    assert (await client.get(ASSETS, params={"kind": "nope"}, headers=operator)).status_code == 422


async def test_viewer_cannot_write_assets(client, auth_headers, operator, site):
    viewer = await auth_headers(Role.VIEWER)
    asset = (await post_asset(client, operator, site["id"])).json()
    assert (await post_asset(client, viewer, site["id"], "V")).status_code == 403
    patch = await client.patch(f"{ASSETS}/{asset['id']}", json={"name": "V"}, headers=viewer)
    assert patch.status_code == 403
    assert (await client.delete(f"{ASSETS}/{asset['id']}", headers=viewer)).status_code == 403
    assert (await client.get(f"{ASSETS}/{asset['id']}", headers=viewer)).json()["name"] == asset[
        "name"
    ]


async def test_site_limited_user_gets_404_for_other_sites_assets(client, auth_headers, operator):
    ids = []
    for name in ("Site A", "Site B"):
        site = await client.post(SITES, json={"name": name, "timezone": "UTC"}, headers=operator)
        ids.append(site.json()["id"])
    a_asset = (await post_asset(client, operator, ids[0], "A meter", "meter")).json()
    b_asset = (await post_asset(client, operator, ids[1], "B meter", "meter")).json()
    limited = await auth_headers(Role.OPERATOR, sites=[ids[0]])

    assert [a["name"] for a in (await client.get(ASSETS, headers=limited)).json()] == ["A meter"]
    assert (await client.get(ASSETS, params={"site_id": ids[1]}, headers=limited)).json() == []
    assert (await client.get(f"{ASSETS}/{a_asset['id']}", headers=limited)).status_code == 200
    assert (await client.get(f"{ASSETS}/{b_asset['id']}", headers=limited)).status_code == 404
    patch = await client.patch(f"{ASSETS}/{b_asset['id']}", json={"name": "x"}, headers=limited)
    assert patch.status_code == 404
    assert (await client.delete(f"{ASSETS}/{b_asset['id']}", headers=limited)).status_code == 404
    # neither create on site B nor move an asset there
    assert (await post_asset(client, limited, ids[1], "sneaky")).status_code == 404
    move = await client.patch(
        f"{ASSETS}/{a_asset['id']}", json={"site_id": ids[1]}, headers=limited
    )
    assert move.status_code == 404
    assert (await client.get(f"{ASSETS}/{a_asset['id']}", headers=operator)).json()[
        "site_id"
    ] == ids[0]


async def test_asset_changes_are_published_on_the_bus(app, client, operator, site):
    events = []

    async def record(topic, payload):
        events.append((topic, payload))

    unsubscribe = app.state.bus.subscribe("*.changed", record)
    try:
        asset = (await post_asset(client, operator, site["id"])).json()
        await client.patch(f"{ASSETS}/{asset['id']}", json={"name": "C2"}, headers=operator)
        await client.delete(f"{ASSETS}/{asset['id']}", headers=operator)
        other = (await post_asset(client, operator, site["id"], "P", "pump")).json()
        await client.delete(f"{SITES}/{site['id']}", headers=operator)
    finally:
        unsubscribe()
    assert events == [
        ("asset.changed", {"asset_id": asset["id"], "action": "created"}),
        ("asset.changed", {"asset_id": asset["id"], "action": "updated"}),
        ("asset.changed", {"asset_id": asset["id"], "action": "deleted"}),
        ("asset.changed", {"asset_id": other["id"], "action": "created"}),
        ("asset.changed", {"asset_id": other["id"], "action": "deleted"}),  # by the site's delete
    ]
    assert (await client.get(f"{ASSETS}/{other['id']}", headers=operator)).status_code == 404


async def test_deleted_asset_ids_are_not_reused(client, operator, site):
    first = (await post_asset(client, operator, site["id"], "First")).json()
    await client.delete(f"{ASSETS}/{first['id']}", headers=operator)
    second = (await post_asset(client, operator, site["id"], "Second")).json()
    # a reused id would inherit the readings of the deleted asset
    assert second["id"] > first["id"]
