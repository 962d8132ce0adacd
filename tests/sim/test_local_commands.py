"""The simulator inside the API process follows device commands (the demo has no MQTT):
queued -> sent -> acknowledged -> succeeded, and the device does what it was told."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from tests.control.conftest import mqtt_settings, wait_for

from gridpilot.auth.permissions import Role

SIM = "/api/v1/simulator"


async def command_round_trip(client, headers: dict[str, str]) -> None:
    """Start the building scenario, limit the HVAC's power, wait for the device's answer."""
    started = await client.post(f"{SIM}/start", headers=headers, json={"scenarios": ["building"]})
    assert started.status_code == 200, started.text
    hvac = next(a for a in started.json()["assets"] if a["kind"] == "hvac")
    asset_id = hvac["asset_id"]

    async def online() -> bool:
        status = await client.get(f"/api/v1/assets/{asset_id}/status", headers=headers)
        return status.json().get("status") == "online"

    await wait_for(online, timeout_s=60)  # the simulated HVAC comes online
    created = await client.post(
        f"/api/v1/assets/{asset_id}/commands",
        headers=headers,
        json={"kind": "set_power_limit", "params": {"limit_kw": 30}},
    )
    assert created.status_code == 201, created.text
    command_id = created.json()["id"]

    async def finished() -> dict | None:
        command = (await client.get(f"/api/v1/commands/{command_id}", headers=headers)).json()
        return command if command["state"] in ("succeeded", "failed", "expired") else None

    command = await wait_for(finished)  # the simulator answers the command
    assert command["state"] == "succeeded", command
    assert [t["state"] for t in command["transitions"]] == [
        "queued",
        "sent",
        "acknowledged",
        "succeeded",
    ]
    sent = command["transitions"][1]
    assert sent["actor"] == "system:simulator"
    assert command["transitions"][-1]["actor"] == f"asset:{asset_id}"
    assert "30" in (command["detail"] or "")

    status = (await client.get(f"{SIM}/status", headers=headers)).json()
    followed = next(a for a in status["assets"] if a["asset_id"] == asset_id)
    assert followed["power_limit_kw"] == 30
    assert (await client.post(f"{SIM}/stop", headers=headers)).status_code == 200


async def test_the_in_process_simulator_follows_commands(client, auth_headers):
    await command_round_trip(client, await auth_headers(Role.ADMINISTRATOR))


class TestBesideTheMqttCommandLink:
    """With MQTT configured, the MQTT command link leaves the simulated assets to the
    simulator (it would publish to devices nobody simulates there)."""

    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return mqtt_settings(f"t{uuid.uuid4().hex[:10]}/", "gp-local")

    async def test_commands_still_reach_the_simulator(self, app, client, auth_headers):
        await asyncio.wait_for(app.state.command_link.connected.wait(), 30)
        await command_round_trip(client, await auth_headers(Role.ADMINISTRATOR))
