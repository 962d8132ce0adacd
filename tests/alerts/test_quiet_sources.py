"""No "offline" alert for sources that are not expected to report (both back ends): data
stored before the server started (a demo seeded, then served without its simulator) and a
simulator stopped on purpose; a source that reports again and falls silent still raises."""

from __future__ import annotations

import asyncio
from datetime import datetime

from tests.alerts.conftest import alerts_of, eventually

from gridpilot.alerts.evaluator import ALERTS, AlertRuntime
from gridpilot.balance.cache import BALANCE
from gridpilot.control import status
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms

SIM = "/api/v1/simulator"


async def _restart_alerts(app) -> AlertRuntime:
    """A new alerts runtime, as after a server restart (its memory is gone)."""
    shared = runtime_of(app)
    old = shared.require(ALERTS)
    await old.stop()
    fresh = AlertRuntime(shared.settings, shared.sessions, shared.bus, shared.get(BALANCE))
    await fresh.start()
    shared.put(ALERTS, fresh)
    shared.runtimes[shared.runtimes.index(old)] = fresh
    return fresh


async def test_data_stored_before_the_server_started_raises_no_offline_alert(env, app, client):
    site_id, asset_id = await env.site("Seeded site")
    rule = await env.rule(name="Offline", kind="stale", site_id=site_id, params={"max_age_s": 1})
    await alerts_of(app).idle()  # the rule's reload applied before the stop
    await alerts_of(app).stop()  # the demo's seeding: no evaluator watches its data
    body = [{"asset": asset_id, "metric": "power_kw", "ts": now_ms(), "value": 3.0}]
    stored = await client.post("/api/v1/telemetry", json=body, headers=env.admin)
    assert stored.json() == {"stored": 1, "rejected": []}, stored.text
    await app.state.telemetry.flush()
    await _restart_alerts(app)  # then served, without its simulator
    await asyncio.sleep(2.5)  # over twice the limit, a tick every 0.2 s
    assert await env.alerts(rule_id=rule["id"]) == []

    await env.ingest(asset_id, 4.0)  # live data comes, and stops: that is an outage

    async def raised() -> list[dict]:
        return [a for a in await env.alerts(rule_id=rule["id"]) if a["state"] == "active"]

    [alert] = await eventually(raised)
    assert alert["asset_id"] == asset_id and "No data" in alert["message"]


async def test_a_simulator_stopped_on_purpose_raises_no_offline_alert(env, app, client):
    rule = await env.rule(name="Offline", kind="stale", params={"max_age_s": 6})
    started = await client.post(f"{SIM}/start", headers=env.admin, json={"scenarios": ["factory"]})
    assert started.status_code == 200, started.text
    assets = {a["asset_id"] for a in started.json()["assets"]}
    compressor = next(a["asset_id"] for a in started.json()["assets"] if a["kind"] == "compressor")

    async def fed() -> bool:
        async with app.state.sessions() as session:
            row = await status.stored_status(session=session, asset_id=compressor)
        return row is not None and row.status == "online"

    await eventually(fed)
    await asyncio.sleep(2.0)  # a few live readings of the 1-s compressor
    stopped_at = now_ms()
    assert (await client.post(f"{SIM}/stop", headers=env.admin)).status_code == 200
    async with app.state.sessions() as session:
        row = await status.stored_status(session=session, asset_id=compressor)
    assert (row.status, row.reason) == ("offline", "stopped")
    await asyncio.sleep(9.0)  # past the 6-s limit with ticks every 0.2 s
    after = [
        a
        for a in await env.alerts(rule_id=rule["id"])
        if a["asset_id"] in assets and _ms(a["raised_at"]) >= stopped_at
    ]
    assert after == [], [a["message"] for a in after]


def _ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
