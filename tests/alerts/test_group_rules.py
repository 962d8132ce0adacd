"""Alert rules on a device group: members are covered (also those joining later), others are
not; refusals for bad targets and for groups beyond the caller's sites."""

from __future__ import annotations

from typing import Any

from tests.alerts.conftest import alerts_of

from gridpilot.auth.permissions import Role


async def _meter(env, site_id: int, name: str, **attributes: Any) -> int:
    made = await env.client.post(
        "/api/v1/assets",
        json={"site_id": site_id, "name": name, "kind": "meter", "attributes": attributes},
        headers=env.admin,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _group(env, **body: Any) -> int:
    made = await env.client.post("/api/v1/groups", json=body, headers=env.admin)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _rule_body(group_id: int, **more: Any) -> dict[str, Any]:
    return {
        "name": "Group hot",
        "kind": "threshold",
        "metric": "power_kw",
        "params": {"threshold": 10},
        "group_id": group_id,
        **more,
    }


async def test_rule_on_dynamic_group_covers_members_and_later_joiners(env, client):
    site_id, _ = await env.site("Group rules")
    member = await _meter(env, site_id, "pilot meter", tags=["pilot"])
    other = await _meter(env, site_id, "plain meter", tags=["plain"])
    group = await _group(env, name="Pilots", kind="dynamic", filter={"tags": ["pilot"]})
    rule = await env.rule(**_rule_body(group))
    assert rule["group_id"] == group and rule["site_id"] is None
    assert "group_id" not in rule["params"] and rule["params"]["threshold"] == 10.0

    await env.ingest_all({member: 50.0, other: 50.0})
    assert [a["asset_id"] for a in await env.alerts(rule_id=rule["id"])] == [member]

    joined = await client.patch(
        f"/api/v1/assets/{other}", json={"attributes": {"tags": ["pilot"]}}, headers=env.admin
    )
    assert joined.status_code == 200, joined.text
    await alerts_of(env.app).idle()  # asset.changed: the evaluator reloads the members
    await env.ingest(other, 60.0)
    raised = {a["asset_id"] for a in await env.alerts(rule_id=rule["id"])}
    assert raised == {member, other}


async def test_rule_on_static_group_and_taken_off_it(env, client):
    site_id, _ = await env.site("Group edits")
    first = await _meter(env, site_id, "first")
    second = await _meter(env, site_id, "second")
    group = await _group(env, name="Pair", kind="static", asset_ids=[first])
    rule = await env.rule(**_rule_body(group, site_id=site_id))
    await env.ingest_all({first: 50.0, second: 50.0})
    assert [a["asset_id"] for a in await env.alerts(rule_id=rule["id"])] == [first]

    url = f"/api/v1/alert-rules/{rule['id']}"
    moved = await client.patch(url, json={"group_id": None}, headers=env.operator)
    assert moved.status_code == 200, moved.text
    assert moved.json()["group_id"] is None and moved.json()["params"]["threshold"] == 10.0
    await alerts_of(env.app).idle()
    await env.ingest_all({first: 55.0, second: 55.0})
    open_alerts = await env.alerts(rule_id=rule["id"], state="open")
    assert sorted(a["asset_id"] for a in open_alerts) == sorted([first, second])


async def test_bad_group_targets_are_refused_with_clear_errors(env, client):
    _, asset_id = await env.site("Group refusals")
    group = await _group(env, name="Meters", kind="static", asset_ids=[asset_id])
    cases = [
        ({"asset_id": asset_id}, 422, "asset_id cannot be combined with group_id"),
        ({"kind": "contract_demand", "metric": None, "params": {}}, 422, "rule_group_site_kind"),
        ({"group_id": 987654}, 404, "group 987654 not found"),
        ({"group_id": 0}, 422, "group_id"),
    ]
    for extra, status, text in cases:
        body = {**_rule_body(group), **extra}
        answer = await client.post("/api/v1/alert-rules", json=body, headers=env.operator)
        assert answer.status_code == status, (extra, answer.text)
        assert text in answer.text, (extra, answer.text)


async def test_site_limited_users_target_only_groups_within_their_sites(env, client, auth_headers):
    site_a, meter_a = await env.site("Group scope A")
    site_b, meter_b = await env.site("Group scope B")
    both = await _group(env, name="A and B", kind="static", asset_ids=[meter_a, meter_b])
    only_b = await _group(env, name="B only", kind="static", asset_ids=[meter_b])
    only_a = await _group(env, name="A only", kind="dynamic", filter={"site_ids": [site_a]})
    operator_a = await auth_headers(Role.OPERATOR, sites=[site_a])
    operator_b = await auth_headers(Role.OPERATOR, sites=[site_b])

    wide = await client.post("/api/v1/alert-rules", json=_rule_body(both), headers=operator_a)
    assert wide.status_code == 403 and wide.json()["error"] == "group_out_of_scope", wide.text
    hidden = await client.post("/api/v1/alert-rules", json=_rule_body(only_b), headers=operator_a)
    assert hidden.status_code == 404, hidden.text

    own = await client.post("/api/v1/alert-rules", json=_rule_body(only_a), headers=operator_a)
    assert own.status_code == 201, own.text
    url = f"/api/v1/alert-rules/{own.json()['id']}"
    assert (await client.get(url, headers=operator_a)).json()["group_id"] == only_a
    listed = (await client.get("/api/v1/alert-rules", headers=operator_a)).json()
    assert [r["id"] for r in listed] == [own.json()["id"]]
    assert (await client.get(url, headers=operator_b)).status_code == 404
    assert (await client.get("/api/v1/alert-rules", headers=operator_b)).json() == []
    retarget = await client.patch(url, json={"group_id": both}, headers=operator_a)
    assert retarget.status_code == 403, retarget.text
