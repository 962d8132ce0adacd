"""Device groups (both back ends): dynamic membership follows asset edits, static groups keep
their list, RBAC through the members' sites, bulk commands to a group, clear 4xx codes."""

from __future__ import annotations

from tests.groups.fleet_data import make_fleet, make_group, member_ids

from gridpilot.auth.permissions import Role


async def test_a_dynamic_group_follows_asset_edits(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    group = await make_group(
        client, fleet.admin, name="east X1 batteries", kind="dynamic",
        filter={"kinds": ["battery"], "models": ["X1"], "tags": ["east"]},
    )  # fmt: skip
    assert group["filter"] == {"kinds": ["battery"], "models": ["X1"], "tags": ["east"]}
    assert await member_ids(client, fleet.admin, group["id"]) == [a["b1"], a["b3"]]
    # b2 gets the tag and the model: it joins; b1 changes model: it leaves
    edit = await client.patch(
        f"/api/v1/assets/{a['b2']}",
        json={"metadata": {"model": "X1"}, "attributes": {"tags": ["east", "roof"]}},
        headers=fleet.admin,
    )
    assert edit.status_code == 200, edit.text
    edit = await client.patch(
        f"/api/v1/assets/{a['b1']}", json={"metadata": {"model": "X9"}}, headers=fleet.admin
    )
    assert edit.status_code == 200, edit.text
    assert await member_ids(client, fleet.admin, group["id"]) == [a["b2"], a["b3"]]
    # a new matching asset joins, a deleted one leaves
    await client.delete(f"/api/v1/assets/{a['b3']}", headers=fleet.admin)
    assert await member_ids(client, fleet.admin, group["id"]) == [a["b2"]]


async def test_firmware_and_site_criteria(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    old = await make_group(
        client, fleet.admin, name="fw 1.0 in Rome", kind="dynamic",
        filter={"firmware_versions": ["1.0"], "site_ids": [fleet.rome]},
    )  # fmt: skip
    assert await member_ids(client, fleet.admin, old["id"]) == [a["b1"]]
    members = (await client.get(f"/api/v1/groups/{old['id']}/members", headers=fleet.admin)).json()
    assert members["members"][0]["firmware_version"] == "1.0"
    assert members["members"][0]["tags"] == ["east"]
    await client.patch(
        f"/api/v1/assets/{a['b1']}",
        json={"attributes": {"firmware_version": "1.1"}},
        headers=fleet.admin,
    )
    assert await member_ids(client, fleet.admin, old["id"]) == []


async def test_a_static_group_keeps_its_list(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    group = await make_group(
        client, fleet.admin, name="pilot", kind="static", asset_ids=[a["i1"], a["b1"]]
    )
    assert group["asset_ids"] == [a["b1"], a["i1"]] and group["complete"] is True
    await client.patch(
        f"/api/v1/assets/{a['b1']}", json={"metadata": {"model": "X9"}}, headers=fleet.admin
    )
    assert await member_ids(client, fleet.admin, group["id"]) == [a["b1"], a["i1"]]
    changed = await client.patch(
        f"/api/v1/groups/{group['id']}", json={"asset_ids": [a["b3"]]}, headers=fleet.admin
    )
    assert changed.status_code == 200 and changed.json()["asset_ids"] == [a["b3"]]


async def test_rbac_through_the_members_sites(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    both = await make_group(
        client, fleet.admin, name="all X1", kind="dynamic", filter={"models": ["X1"]}
    )
    lisbon_only = await make_group(
        client, fleet.admin, name="lisbon", kind="static", asset_ids=[a["b3"]]
    )
    rome_user = await auth_headers(Role.OPERATOR, sites=[fleet.rome])
    listed = (await client.get("/api/v1/groups", headers=rome_user)).json()
    assert [g["name"] for g in listed] == ["all X1"]  # the Lisbon group is not disclosed
    assert listed[0]["complete"] is False
    members = (await client.get(f"/api/v1/groups/{both['id']}/members", headers=rome_user)).json()
    assert [m["asset_id"] for m in members["members"]] == [a["b1"], a["i1"]]
    assert members["complete"] is False
    hidden = await client.get(f"/api/v1/groups/{lisbon_only['id']}", headers=rome_user)
    assert hidden.status_code == 404
    # the partly visible group cannot be changed, nor commanded, by the Rome user
    refused = await client.patch(
        f"/api/v1/groups/{both['id']}", json={"name": "mine"}, headers=rome_user
    )
    assert refused.status_code == 403 and refused.json()["error"] == "group_out_of_scope"
    bulk = await client.post(
        "/api/v1/commands", json={"kind": "stop", "group_id": both["id"]}, headers=rome_user
    )
    assert bulk.status_code == 403 and bulk.json()["error"] == "group_out_of_scope"
    # a fleet-wide dynamic group needs a user of every site; naming the site is fine
    wide = await client.post(
        "/api/v1/groups",
        json={"name": "every battery", "kind": "dynamic", "filter": {"kinds": ["battery"]}},
        headers=rome_user,
    )
    assert wide.status_code == 403 and wide.json()["error"] == "group_out_of_scope"
    mine = await make_group(
        client, rome_user, name="rome batteries", kind="dynamic",
        filter={"kinds": ["battery"], "site_ids": [fleet.rome]},
    )  # fmt: skip
    assert mine["complete"] is True
    other = await client.post(
        "/api/v1/groups",
        json={"name": "theirs", "kind": "static", "asset_ids": [a["b3"]]},
        headers=rome_user,
    )
    assert other.status_code == 404


async def test_a_bulk_command_to_a_group(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    a = fleet.assets
    group = await make_group(
        client, fleet.admin, name="batteries", kind="dynamic", filter={"kinds": ["battery"]}
    )
    sent = await client.post(
        "/api/v1/commands",
        json={"kind": "charge", "params": {"power_kw": 10}, "group_id": group["id"]},
        headers=fleet.admin,
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["created"] == 3 and body["rejected"] == []
    assert sorted(c["asset_id"] for c in body["commands"]) == [a["b1"], a["b2"], a["b3"]]
    both = await client.post(
        "/api/v1/commands",
        json={"kind": "stop", "group_id": group["id"], "site_id": fleet.rome},
        headers=fleet.admin,
    )
    assert both.status_code == 422


async def test_clear_refusals(client, auth_headers):
    fleet = await make_fleet(client, auth_headers)
    cases = [
        ({"name": "e", "kind": "dynamic", "filter": {}}, 422, "group_filter_empty"),
        ({"name": "s", "kind": "static", "filter": {"kinds": ["battery"]}}, 422, None),
        ({"name": "k", "kind": "dynamic", "filter": {"kinds": ["toaster"]}}, 422, None),
        ({"name": "t", "kind": "dynamic", "filter": {"tags": ["a", "a"]}}, 422, None),
        ({"name": "n", "kind": "static", "asset_ids": [999_999]}, 404, "not_found"),
    ]
    for body, status, code in cases:
        got = await client.post("/api/v1/groups", json=body, headers=fleet.admin)
        assert got.status_code == status, (body, got.text)
        if code is not None:
            assert got.json()["error"] == code
    await make_group(client, fleet.admin, name="dup", kind="static", asset_ids=[])
    dup = await client.post(
        "/api/v1/groups", json={"name": "dup", "kind": "static", "asset_ids": []},
        headers=fleet.admin,
    )  # fmt: skip
    assert dup.status_code == 409 and dup.json()["error"] == "group_name_taken"
    static = await make_group(client, fleet.admin, name="st", kind="static", asset_ids=[])
    mismatch = await client.patch(
        f"/api/v1/groups/{static['id']}", json={"filter": {"kinds": ["battery"]}},
        headers=fleet.admin,
    )  # fmt: skip
    assert mismatch.status_code == 422 and mismatch.json()["error"] == "group_kind_mismatch"
