"""Threshold evaluation on ingested readings, stale data, acknowledgement, site scope, WIA."""

from __future__ import annotations

from tests.alerts.conftest import alerts_of, eventually

from gridpilot.auth.permissions import Role


async def test_threshold_breach_raises_exactly_one_alert_and_resolves(env, bus_events):
    site_id, asset_id = await env.site("Threshold site")
    rule = await env.rule(
        name="High load",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        severity="critical",
        params={"operator": "above", "threshold": 100, "hysteresis": 5},
    )
    await env.ingest(asset_id, 50.0)
    assert await env.alerts(rule_id=rule["id"]) == []

    await env.ingest(asset_id, 120.0)
    await env.ingest(asset_id, 130.0)  # still breached: no second alert
    await env.ingest(asset_id, 97.0)  # below the threshold but inside the hysteresis band
    alerts = await env.alerts(rule_id=rule["id"])
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["state"] == "active"
    assert (alert["site_id"], alert["asset_id"], alert["severity"]) == (
        site_id,
        asset_id,
        "critical",
    )
    assert alert["value"] == 120.0

    await env.ingest(asset_id, 90.0)  # clear of the hysteresis band
    [resolved] = await env.alerts(rule_id=rule["id"])
    assert resolved["id"] == alert["id"]
    assert resolved["state"] == "resolved"
    assert resolved["resolve_reason"] == "cleared"
    assert resolved["resolved_by"] is None

    raised = [p for t, p in bus_events if t == "alert.raised" and p["rule_id"] == rule["id"]]
    cleared = [p for t, p in bus_events if t == "alert.resolved" and p["rule_id"] == rule["id"]]
    assert len(raised) == 1 and len(cleared) == 1
    assert raised[0]["site_id"] == site_id and raised[0]["asset_id"] == asset_id
    assert set(raised[0]) == {
        "alert_id",
        "rule_id",
        "asset_id",
        "site_id",
        "kind",
        "severity",
        "state",
        "title",
        "message",
        "value",
        "flapping",
        "ts",
    }
    assert raised[0]["flapping"] is False and raised[0]["kind"] == "threshold"

    await env.ingest(asset_id, 150.0)  # a new breach is a new alert
    assert [a["state"] for a in await env.alerts(rule_id=rule["id"])] == ["active", "resolved"]


async def test_duration_holds_the_alert_back_until_the_breach_lasted(env):
    _, asset_id = await env.site("Duration site")
    rule = await env.rule(
        name="Sustained low",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        params={"operator": "below", "threshold": 10, "duration_s": 3600},
    )
    await env.ingest(asset_id, 1.0)
    await env.ingest(asset_id, 2.0)
    assert await env.alerts(rule_id=rule["id"]) == []


async def test_offline_detection_fires_when_data_stops_and_clears_when_it_returns(env, app):
    site_id, asset_id = await env.site("Stale site")
    rule = await env.rule(
        name="Silent meter",
        kind="stale",
        site_id=site_id,
        params={"max_age_s": 2, "use_status": False},
    )
    await env.ingest(asset_id, 5.0)

    async def raised():
        return [a for a in await env.alerts(rule_id=rule["id"]) if a["state"] == "active"]

    [alert] = await eventually(raised)
    assert alert["asset_id"] == asset_id and alert["kind"] == "stale"
    assert "No data" in alert["message"]

    await env.ingest(asset_id, 6.0)
    [after] = await env.alerts(rule_id=rule["id"])
    assert after["id"] == alert["id"] and after["state"] == "resolved"


async def test_device_reported_offline_raises_the_stale_rule(env, app):
    site_id, asset_id = await env.site("Status site")
    rule = await env.rule(name="Offline", kind="stale", site_id=site_id)
    payload = {
        "asset_id": asset_id,
        "site_id": site_id,
        "status": "offline",
        "previous": "online",
        "reason": "lwt",
        "last_seen_ms": None,
        "changed_ms": 0,
    }
    await app.state.bus.publish("asset.status", payload)
    await alerts_of(app).idle()
    [alert] = await env.alerts(rule_id=rule["id"])
    assert alert["state"] == "active" and "reported offline" in alert["message"]
    await app.state.bus.publish("asset.status", {**payload, "status": "online"})
    await alerts_of(app).idle()
    assert (await env.alerts(rule_id=rule["id"]))[0]["state"] == "resolved"


async def test_acknowledgement_needs_an_operator_and_is_audited(
    env, client, auth_headers, bus_events
):
    _, asset_id = await env.site("Ack site")
    rule = await env.rule(
        name="Hot",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        params={"operator": "above", "threshold": 1},
    )
    await env.ingest(asset_id, 2.0)
    [alert] = await env.alerts(rule_id=rule["id"])
    url = f"/api/v1/alerts/{alert['id']}"

    viewer = await auth_headers(Role.VIEWER)
    assert (await client.get(url, headers=viewer)).status_code == 200
    denied = await client.post(f"{url}/acknowledge", json={}, headers=viewer)
    assert denied.status_code == 403
    assert (await client.post(f"{url}/resolve", json={}, headers=viewer)).status_code == 403

    acked = await client.post(f"{url}/acknowledge", json={"comment": "on it"}, headers=env.operator)
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["state"] == "acknowledged"
    assert body["ack_comment"] == "on it"
    assert body["acknowledged_by"].startswith("operator-")
    assert body["acknowledged_at"] is not None
    again = await client.post(f"{url}/acknowledge", json={}, headers=env.operator)
    assert again.status_code == 409

    resolved = await client.post(f"{url}/resolve", json={"comment": "fixed"}, headers=env.operator)
    assert resolved.status_code == 200
    assert resolved.json()["resolve_reason"] == "manual"
    assert resolved.json()["resolved_by"] == body["acknowledged_by"]
    topics = [t for t, p in bus_events if p["alert_id"] == alert["id"]]
    assert topics == ["alert.raised", "alert.acknowledged", "alert.resolved"]

    audit = await client.get(
        "/api/v1/alerts/audit", params={"alert_id": alert["id"]}, headers=env.operator
    )
    assert audit.status_code == 200
    actions = [(e["action"], e["detail"].get("comment")) for e in audit.json()]
    assert actions == [("alert.resolved", "fixed"), ("alert.acknowledged", "on it")]
    assert (await client.get("/api/v1/alerts/audit", headers=viewer)).status_code == 403


async def test_site_limited_viewer_never_sees_another_sites_alerts(
    env, client, auth_headers, bus_events
):
    site_a, asset_a = await env.site("Scope A")
    site_b, asset_b = await env.site("Scope B")
    for asset in (asset_a, asset_b):
        await env.rule(
            name=f"Limit {asset}",
            kind="threshold",
            metric="power_kw",
            asset_id=asset,
            params={"operator": "above", "threshold": 10},
        )
        await env.ingest(asset, 20.0)
    everything = await env.alerts()
    by_site = {a["site_id"]: a for a in everything}
    assert set(by_site) >= {site_a, site_b}

    viewer = await auth_headers(Role.VIEWER, sites=[site_a])
    seen = await env.alerts(headers=viewer)
    assert {a["site_id"] for a in seen} == {site_a}
    assert await env.alerts(headers=viewer, site_id=site_b) == []
    assert await env.alerts(headers=viewer, asset_id=asset_b) == []
    hidden = await client.get(f"/api/v1/alerts/{by_site[site_b]['id']}", headers=viewer)
    assert hidden.status_code == 404
    # an operator of site A cannot acknowledge B's alert either: it does not exist for them
    operator_a = await auth_headers(Role.OPERATOR, sites=[site_a])
    ack = await client.post(
        f"/api/v1/alerts/{by_site[site_b]['id']}/acknowledge", json={}, headers=operator_a
    )
    assert ack.status_code == 404
    # every bus event names its site, so the WebSocket can filter on it
    assert {p["site_id"] for t, p in bus_events if t == "alert.raised"} == {site_a, site_b}


async def test_alert_filters(env):
    _, asset_id = await env.site("Filter site")
    warn = await env.rule(
        name="W",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        severity="warning",
        params={"threshold": 1},
    )
    crit = await env.rule(
        name="C",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        severity="critical",
        params={"threshold": 5},
    )
    await env.ingest(asset_id, 10.0)
    assert {a["rule_id"] for a in await env.alerts(asset_id=asset_id)} == {warn["id"], crit["id"]}
    assert [a["rule_id"] for a in await env.alerts(severity="critical", asset_id=asset_id)] == [
        crit["id"]
    ]
    assert len(await env.alerts(state="open", asset_id=asset_id)) == 2
    assert await env.alerts(state="resolved", asset_id=asset_id) == []
    assert await env.alerts(since="2999-01-01T00:00:00Z") == []
    response = await env.client.get(
        "/api/v1/alerts", params={"state": "bogus"}, headers=env.operator
    )
    assert response.status_code == 422


async def test_wia_source_alerts_lists_the_active_alerts(env, client):
    source = {
        "sourceId": "SOLAR-PV-ITA-00042",
        "sourceType": "SOLAR-PV",
        "name": "Roof",
        "ratedCapacity": {"value": 50, "unit": "kW"},
    }
    created = await client.post("/api/v1/sources", json=source, headers=env.admin)
    assert created.status_code == 201, created.text
    asset_id = created.json()["id"]
    url = "/api/v1/sources/SOLAR-PV-ITA-00042/alerts"
    assert (await client.get(url, headers=env.operator)).json() == []
    await env.rule(
        name="Over",
        kind="threshold",
        metric="power_kw",
        asset_id=asset_id,
        params={"threshold": 40},
    )
    await env.ingest(asset_id, 45.0)
    [alert] = (await client.get(url, headers=env.operator)).json()
    assert alert["sourceId"] == "SOLAR-PV-ITA-00042"
    assert alert["severity"] == "warning" and alert["state"] == "active"
    assert alert["type"] == "threshold" and alert["value"] == 45.0
    assert set(alert) == {
        "alertId",
        "sourceId",
        "severity",
        "state",
        "type",
        "title",
        "message",
        "metric",
        "value",
        "raisedAt",
        "acknowledgedAt",
        "acknowledgedBy",
        "ruleId",
    }
    await env.ingest(asset_id, 10.0)
    assert (await client.get(url, headers=env.operator)).json() == []


async def test_a_burst_of_status_events_is_evaluated_in_order(env, app, bus_events):
    """Events queued behind one another are evaluated together (one transaction), each seeing
    the alerts the ones before it opened or resolved."""
    site_id, asset_id = await env.site("Burst site")
    rule = await env.rule(name="Offline burst", kind="stale", site_id=site_id)
    payload = {
        "asset_id": asset_id,
        "site_id": site_id,
        "previous": None,
        "reason": "lwt",
        "last_seen_ms": None,
        "changed_ms": 0,
    }
    for state in ("offline", "online", "offline"):  # no wait in between: one burst
        await app.state.bus.publish("asset.status", {**payload, "status": state})
    await alerts_of(app).idle()
    alerts = await env.alerts(rule_id=rule["id"])
    assert sorted(a["state"] for a in alerts) == ["active", "resolved"]
    topics = [t for t, p in bus_events if t.startswith("alert.") and p["rule_id"] == rule["id"]]
    assert topics == ["alert.raised", "alert.resolved", "alert.raised"]
    assert (rule["id"], f"asset:{asset_id}") in alerts_of(app).watch.open
