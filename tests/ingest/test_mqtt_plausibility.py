"""Plausibility against the asset over MQTT (real Mosquitto, both back ends): an implausible
reading is dead-lettered with its reason and code, the plausible ones of the message stored; an
asset in flag mode stores it."""

from __future__ import annotations

import json

from tests.ingest.conftest import HOUR_AGO_MS, apublish, count_readings, wait_for

REJECTS = "/api/v1/ingest/rejects"


async def dead_letters(client, headers, count: int) -> list[dict] | None:
    response = await client.get(REJECTS, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items if len(items) >= count else None


async def test_implausible_readings_are_dead_lettered_with_their_code(
    app, client, sessions, worker, prefix, device, operator
):
    asset, site = device["id"], device["site_id"]  # a PV inverter: power_kw flows one way
    response = await client.patch(
        f"/api/v1/assets/{asset}", json={"rated_capacity_kw": 300}, headers=operator
    )
    assert response.status_code == 200, response.text
    topic = f"{prefix}gridpilot/{site}/{asset}/telemetry"
    t0 = HOUR_AGO_MS
    message = [
        {"ts": t0, "values": {"power_kw": 200.0}},
        {"ts": t0 + 1000, "values": {"power_kw": {"value": 50, "unit": "MW"}}},
        {"ts": t0 + 2000, "values": {"power_kw": -20.0, "voltage_v": 230.0}},
    ]
    await apublish([(topic, json.dumps(message))])
    [letter] = await wait_for(lambda: dead_letters(client, operator, 1))
    reason = letter["reason"]
    assert reason.startswith("2 of 4 readings rejected"), reason
    assert "[over_capacity]" in reason and "[negative_power]" in reason
    assert letter["asset_id"] == asset and letter["channel"] == "mqtt"
    assert await count_readings(sessions, asset) == 2  # 200 kW and the voltage

    response = await client.patch(
        f"/api/v1/assets/{asset}", json={"plausibility": "flag"}, headers=operator
    )
    assert response.status_code == 200, response.text
    await apublish([(topic, json.dumps(message))])

    async def all_stored() -> bool:
        return await count_readings(sessions, asset) == 4

    await wait_for(all_stored)
    assert len(await dead_letters(client, operator, 0) or []) == 1  # no new dead letter
    flagged = app.state.metrics.registry.get_sample_value(
        "gridpilot_readings_flagged_total", {"channel": "mqtt", "code": "over_capacity"}
    )
    assert flagged == 1
