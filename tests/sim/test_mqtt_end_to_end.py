"""Simulated MQTT devices against a server with MQTT ingest and the command link: telemetry
lands, births mark assets online, commands are acknowledged and followed."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from tests.control.conftest import mqtt_settings

from gridpilot.auth.permissions import Role
from gridpilot.core.mqtt import MqttEndpoint
from gridpilot.sim.mqtt_devices import MqttDevices
from gridpilot.sim.provision import provision
from gridpilot.sim.realtime import LiveSimulator


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def settings_overrides(prefix: str) -> dict[str, object]:
    return mqtt_settings(prefix, "gp-sim")


async def poll(check, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_devices_talk_to_the_server_over_mqtt(app, client, auth_headers, prefix):
    await asyncio.wait_for(app.state.mqtt_ingest.subscribed.wait(), 30)
    await asyncio.wait_for(app.state.command_link.connected.wait(), 30)
    admin = await auth_headers(Role.ADMINISTRATOR)
    assets = await provision(sessions=app.state.sessions, bus=app.state.bus, scenarios=["building"])
    devices = MqttDevices(MqttEndpoint.parse(app.state.settings.mqtt_url), prefix)
    simulator = LiveSimulator(assets, sink=devices, tick_s=0.5)
    await simulator.prime(None)
    await devices.connect(simulator)
    stop = asyncio.Event()
    task = asyncio.create_task(simulator.run(stop))
    hvac = next(a for a in assets if a.spec.model.kind == "hvac")
    try:

        async def online() -> bool:
            status = await client.get(f"/api/v1/assets/{hvac.asset_id}/status", headers=admin)
            return status.status_code == 200 and status.json().get("status") == "online"

        assert await poll(online), "the birth message did not mark the asset online"

        async def stored() -> dict:
            latest = await client.get(f"/api/v1/assets/{hvac.asset_id}/latest", headers=admin)
            return latest.json() if "power_kw" in latest.text else {}

        assert await poll(stored, 90), "no telemetry of the simulated HVAC arrived"

        body = {"kind": "set_power_limit", "params": {"limit_kw": 30}}
        created = await client.post(f"/api/v1/assets/{hvac.asset_id}/commands", json=body,
                                    headers=admin)  # fmt: skip
        assert created.status_code == 201, created.text
        command_id = created.json()["id"]

        async def succeeded() -> bool:
            answer = await client.get(f"/api/v1/commands/{command_id}", headers=admin)
            return answer.json()["state"] == "succeeded"

        assert await poll(succeeded), "the device did not acknowledge the command"
        assert simulator.live[hvac.asset_id].ctx.overrides.power_limit_kw == 30
    finally:
        stop.set()
        await task
        await devices.close()
