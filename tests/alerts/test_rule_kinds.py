"""Rate of change, contract demand (built-in), anomaly and forecast rules."""

from __future__ import annotations

from tests.alerts.conftest import alerts_of, eventually

from gridpilot.core.timestamps import now_ms


async def test_rate_of_change_rises_and_clears(env):
    _, asset_id = await env.site("Ramp site")
    rise = await env.rule(
        name="Ramp",
        kind="rate_of_change",
        metric="power_kw",
        asset_id=asset_id,
        params={"max_rate_per_min": 60, "window_s": 5, "direction": "rise"},
    )
    fall = await env.rule(
        name="Drop",
        kind="rate_of_change",
        metric="power_kw",
        asset_id=asset_id,
        params={"max_rate_per_min": 60, "window_s": 5, "direction": "fall"},
    )
    t0 = now_ms() - 60_000
    await env.ingest(asset_id, 0.0, ts=t0)
    await env.ingest(asset_id, 100.0, ts=t0 + 1000)  # +100 kW in 1 s = 6000 kW/min
    [alert] = await env.alerts(rule_id=rise["id"])
    assert alert["state"] == "active" and alert["value"] == 6000.0
    assert await env.alerts(rule_id=fall["id"]) == []
    await env.ingest(asset_id, 100.0, ts=t0 + 30_000)
    await env.ingest(asset_id, 100.5, ts=t0 + 31_000)  # 30 kW/min: below the limit
    assert (await env.alerts(rule_id=rise["id"]))[0]["state"] == "resolved"


async def test_builtin_contract_demand_rule_watches_the_site_demand(env):
    site_id, meter = await env.site("Contract site", contract_demand_kw=100)
    await env.ingest(meter, 80.0)
    assert await env.alerts(site_id=site_id) == []
    await env.ingest(meter, 120.0)
    [alert] = await env.alerts(site_id=site_id)
    assert alert["kind"] == "contract_demand" and alert["asset_id"] is None
    assert alert["severity"] == "critical" and alert["value"] == 120.0
    await env.ingest(meter, 99.0)  # under the contract but within the 2 % hysteresis
    assert (await env.alerts(site_id=site_id))[0]["state"] == "active"
    await env.ingest(meter, 90.0)
    assert (await env.alerts(site_id=site_id))[0]["state"] == "resolved"


async def test_anomaly_events_raise_and_quiet_down(env, app):
    site_id, asset_id = await env.site("Anomaly site")
    rule = await env.rule(
        name="Odd",
        kind="anomaly",
        site_id=site_id,
        # long enough to see the alert active on a loaded machine (0.3 s was not)
        params={"min_score": 3, "min_severity": "warning", "clear_after_s": 2.0},
    )
    event = {
        "asset_id": asset_id,
        "site_id": site_id,
        "metric": "power_kw",
        "ts": now_ms(),
        "method": "zscore",
        "score": 2.0,
        "severity": "warning",
        "detail": {},
    }
    await app.state.bus.publish("anomaly.detected", event)
    await alerts_of(app).idle()
    assert await env.alerts(rule_id=rule["id"]) == []  # below min_score
    await app.state.bus.publish("anomaly.detected", {**event, "score": 3.5, "severity": "critical"})
    await alerts_of(app).idle()
    [alert] = await env.alerts(rule_id=rule["id"])
    assert alert["state"] == "active" and alert["detail"]["method"] == "zscore"

    async def quiet():
        return [a for a in await env.alerts(rule_id=rule["id"]) if a["state"] == "resolved"]

    await eventually(quiet)


async def test_forecast_over_contract_demand(env, app):
    site_id, _ = await env.site("Forecast site", contract_demand_kw=100)
    rule = await env.rule(
        name="Peak ahead", kind="forecast_contract", site_id=site_id, params={"band": "hi80"}
    )
    peak = {"ts": now_ms() + 3_600_000, "yhat": 90.0, "hi80": 110.0, "hi95": 120.0}
    event = {
        "site_id": site_id,
        "asset_id": None,
        "metric": "power_kw",
        "issued_ms": now_ms(),
        "step_ms": 900_000,
        "horizon": 96,
        "peak": peak,
    }
    await app.state.bus.publish("forecast.stored", event)
    await alerts_of(app).idle()
    [alert] = await env.alerts(rule_id=rule["id"])
    assert alert["state"] == "active" and alert["value"] == 110.0 and alert["asset_id"] is None
    await app.state.bus.publish("forecast.stored", {**event, "peak": {**peak, "hi80": 95.0}})
    await alerts_of(app).idle()
    assert (await env.alerts(rule_id=rule["id"]))[0]["state"] == "resolved"
