"""Alert rules: validation, scope, built-in defaults, audit; the SSRF guard of webhook channels."""

from __future__ import annotations

import pytest

from gridpilot.auth.permissions import Role


async def test_builtin_rules_exist_and_can_be_disabled_not_deleted(env, client):
    rules = (await client.get("/api/v1/alert-rules", headers=env.operator)).json()
    builtin = {r["builtin"]: r for r in rules if r["builtin"]}
    assert set(builtin) == {"offline", "contract_demand"}
    assert builtin["offline"]["kind"] == "stale" and builtin["offline"]["enabled"]
    assert builtin["offline"]["params"] == {"max_age_s": None, "factor": 3.0, "use_status": True}
    rule_url = f"/api/v1/alert-rules/{builtin['offline']['id']}"
    assert (await client.delete(rule_url, headers=env.operator)).status_code == 409
    disabled = await client.patch(rule_url, json={"enabled": False}, headers=env.operator)
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    audit = (await client.get("/api/v1/alerts/audit", headers=env.operator)).json()
    assert audit[0]["action"] == "rule.updated"
    assert audit[0]["detail"] == {"enabled": {"from": True, "to": False}}


async def test_rule_crud_with_defaults_and_audit(env, client):
    site_id, asset_id = await env.site("Crud site")
    rule = await env.rule(
        name="Hot",
        kind="threshold",
        metric="temperature_c",
        site_id=site_id,
        asset_kind="meter",
        params={"threshold": 70},
    )
    assert rule["params"] == {
        "operator": "above",
        "threshold": 70.0,
        "hysteresis": 0.0,
        "duration_s": 0.0,
    }
    assert rule["severity"] == "warning" and rule["builtin"] is None
    url = f"/api/v1/alert-rules/{rule['id']}"
    changed = await client.patch(
        url,
        json={"severity": "critical", "params": {"threshold": 80, "hysteresis": 2}},
        headers=env.operator,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["params"]["hysteresis"] == 2.0
    moved = await client.patch(
        url, json={"asset_id": asset_id, "asset_kind": None}, headers=env.operator
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["asset_id"], moved.json()["site_id"]) == (asset_id, site_id)
    assert (await client.delete(url, headers=env.operator)).status_code == 204
    assert (await client.get(url, headers=env.operator)).status_code == 404
    audit = await client.get(
        "/api/v1/alerts/audit", params={"rule_id": rule["id"]}, headers=env.operator
    )
    assert [e["action"] for e in audit.json()] == [
        "rule.deleted",
        "rule.updated",
        "rule.updated",
        "rule.created",
    ]
    assert audit.json()[-2]["detail"]["severity"] == {"from": "warning", "to": "critical"}


INVALID_RULES = [
    ({"kind": "threshold", "params": {"threshold": 1}}, "metric"),
    ({"kind": "threshold", "metric": "power_kw", "params": {}}, "params.threshold"),
    ({"kind": "threshold", "metric": "power_kw", "params": {"threshold": 1, "x": 2}}, "params.x"),
    ({"kind": "threshold", "metric": "nope_kw", "params": {"threshold": 1}}, "nope_kw"),
    (
        {"kind": "rate_of_change", "metric": "power_kw", "params": {"max_rate_per_min": -1}},
        "params.max_rate_per_min",
    ),
    ({"kind": "stale", "severity": "fatal"}, "severity"),
    ({"kind": "magic"}, "kind"),
    ({"kind": "stale", "asset_kind": "spaceship"}, "asset_kind"),
    ({"kind": "stale", "channel_ids": [987654]}, "channel"),
]


async def test_invalid_rules_are_422(env, client):
    for body, field in INVALID_RULES:
        response = await client.post(
            "/api/v1/alert-rules", json={"name": "bad", **body}, headers=env.operator
        )
        assert response.status_code == 422, (body, response.text)
        assert field in response.text, (body, response.text)


async def test_site_limited_operator_manages_only_its_sites_rules(env, client, auth_headers):
    site_a, _ = await env.site("Rules A")
    site_b, asset_b = await env.site("Rules B")
    rule_b = await env.rule(name="B rule", kind="stale", site_id=site_b)
    operator_a = await auth_headers(Role.OPERATOR, sites=[site_a])
    listed = (await client.get("/api/v1/alert-rules", headers=operator_a)).json()
    assert listed == []  # neither B's rule nor the global built-ins
    assert (
        await client.get(f"/api/v1/alert-rules/{rule_b['id']}", headers=operator_a)
    ).status_code == 404
    for body in ({"site_id": site_b}, {"asset_id": asset_b}):
        response = await client.post(
            "/api/v1/alert-rules", json={"name": "x", "kind": "stale", **body}, headers=operator_a
        )
        assert response.status_code == 404
    global_rule = await client.post(
        "/api/v1/alert-rules", json={"name": "x", "kind": "stale"}, headers=operator_a
    )
    assert global_rule.status_code == 403
    own = await client.post(
        "/api/v1/alert-rules",
        json={"name": "A", "kind": "stale", "site_id": site_a},
        headers=operator_a,
    )
    assert own.status_code == 201


async def test_disabling_a_rule_resolves_its_open_alerts(env, client, bus_events):
    _, asset_id = await env.site("Disable site")
    rule = await env.rule(
        name="Over", kind="threshold", metric="power_kw", asset_id=asset_id, params={"threshold": 1}
    )
    await env.ingest(asset_id, 5.0)
    [alert] = await env.alerts(rule_id=rule["id"])
    response = await client.patch(
        f"/api/v1/alert-rules/{rule['id']}", json={"enabled": False}, headers=env.operator
    )
    assert response.status_code == 200
    [after] = await env.alerts(rule_id=rule["id"])
    assert after["state"] == "resolved" and after["resolve_reason"] == "rule_disabled"
    assert ("alert.resolved", alert["id"]) in [(t, p["alert_id"]) for t, p in bus_events]
    await env.ingest(asset_id, 6.0)  # a disabled rule raises nothing
    assert len(await env.alerts(rule_id=rule["id"])) == 1


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "webhook_allow_private": False}


INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "ftp://example.com/hook",
]


async def test_webhooks_to_internal_addresses_are_refused(env, client):
    for url in INTERNAL_URLS:
        response = await client.post(
            "/api/v1/notification-channels",
            json={"name": "internal", "kind": "webhook", "url": url},
            headers=env.operator,
        )
        assert response.status_code == 422, (url, response.text)


async def test_channel_validation(env, client):
    bad_secret = await client.post(
        "/api/v1/notification-channels",
        json={"name": "s", "kind": "webhook", "url": "http://93.184.216.34/x", "secret": "plain"},
        headers=env.operator,
    )
    assert bad_secret.status_code == 422
    no_recipients = await client.post(
        "/api/v1/notification-channels", json={"name": "m", "kind": "email"}, headers=env.operator
    )
    assert no_recipients.status_code == 422
    bad_address = await client.post(
        "/api/v1/notification-channels",
        json={"name": "m", "kind": "email", "recipients": ["not an address"]},
        headers=env.operator,
    )
    assert bad_address.status_code == 422
    public = await client.post(
        "/api/v1/notification-channels",
        json={"name": "public", "kind": "webhook", "url": "http://93.184.216.34/x"},
        headers=env.operator,
    )
    assert public.status_code == 201, public.text
