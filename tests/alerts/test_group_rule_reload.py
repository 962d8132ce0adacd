"""A rule on a static group covers a member added to the group at once: ``group.changed`` makes
the evaluator reload (its periodic reload is an hour away here)."""

from __future__ import annotations

import pytest
from tests.alerts.conftest import alerts_of


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"alerts_eval_interval_s": 3600.0, "rollup_interval_s": 3600.0}


async def test_a_member_added_to_a_static_group_is_covered_at_once(env, client):
    site_id, first = await env.site("Static group reload")
    second = await client.post(
        "/api/v1/assets",
        json={"site_id": site_id, "name": "second", "kind": "meter"},
        headers=env.admin,
    )
    second_id = second.json()["id"]
    group = await client.post(
        "/api/v1/groups",
        json={"name": "Growing", "kind": "static", "asset_ids": [first]},
        headers=env.admin,
    )
    group_id = group.json()["id"]
    rule = await env.rule(
        name="Static hot",
        kind="threshold",
        metric="power_kw",
        params={"threshold": 10},
        group_id=group_id,
    )
    await env.ingest(second_id, 50.0)
    assert await env.alerts(rule_id=rule["id"]) == []

    grown = await client.patch(
        f"/api/v1/groups/{group_id}", json={"asset_ids": [first, second_id]}, headers=env.admin
    )
    assert grown.status_code == 200, grown.text
    await alerts_of(env.app).idle()
    await env.ingest(second_id, 60.0)
    assert [a["asset_id"] for a in await env.alerts(rule_id=rule["id"])] == [second_id]
