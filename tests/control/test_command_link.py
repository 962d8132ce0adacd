"""End to end through the real Mosquitto: a device client receives its command on
``.../commands`` and acknowledges on ``.../commands/ack``; the app's in-process MQTT ingest
worker routes its birth, Last Will and acks to ``gridpilot.control.inbound``."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import aiomqtt
import paho.mqtt.client as paho
import pytest
from tests.control.conftest import (
    BROKER_HOST,
    BROKER_PORT,
    make_asset,
    make_site,
    mqtt_settings,
    wait_for,
)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def settings_overrides(prefix: str) -> dict[str, object]:
    return mqtt_settings(prefix, "gp-ctl")


async def _state(client, headers, command_id: int) -> str:
    response = await client.get(f"/api/v1/commands/{command_id}", headers=headers)
    return str(response.json()["state"])


async def _status(client, headers, asset_id: int) -> dict:
    return (await client.get(f"/api/v1/assets/{asset_id}/status", headers=headers)).json()


def _vanish_with_last_will(topic: str) -> None:
    """A device that connects with a Last Will and then loses its connection (no DISCONNECT)."""
    device = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"gp-dev-{uuid.uuid4().hex}")
    device.will_set(topic, b"offline", qos=1)
    device.connect(BROKER_HOST, BROKER_PORT, keepalive=5)
    device.loop(timeout=1.0)  # CONNACK
    sock = device.socket()
    assert sock is not None
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()


async def test_command_round_trip_with_a_device(app, client, operator, prefix, events):
    await asyncio.wait_for(app.state.mqtt_ingest.subscribed.wait(), 30)
    link = app.state.command_link
    await asyncio.wait_for(link.connected.wait(), 30)
    site = await make_site(client, operator)
    device_id = f"BAT-{uuid.uuid4().hex[:6]}"
    base = f"sites/{site['id']}/devices/{device_id}"
    asset = await make_asset(
        client, operator, site["id"], rated_capacity_kw=100,
        attributes={"device_id": device_id, "mqtt_base_topic": base},
    )  # fmt: skip
    topic = f"{prefix}{base}"

    # queued while the device was never seen
    body = {"kind": "set_power_limit", "params": {"limit_kw": 42.5}, "idempotency_key": "pl-1"}
    created = await client.post(
        f"/api/v1/assets/{asset['id']}/commands", json=body, headers=operator
    )
    assert created.status_code == 201, created.text
    command = created.json()

    will = aiomqtt.Will(f"{topic}/status", b"offline", qos=1)
    async with aiomqtt.Client(
        BROKER_HOST, BROKER_PORT, identifier=f"gp-dev-{uuid.uuid4().hex}", will=will
    ) as device:
        await device.subscribe(f"{topic}/commands", qos=1)
        await device.publish(f"{topic}/status", b"online", qos=1)  # birth
        async with asyncio.timeout(20):
            message = await anext(aiter(device.messages))
        received = json.loads(message.payload)
        assert message.qos == 1
        assert received == {
            "command_id": command["id"], "idempotency_key": "pl-1", "kind": "set_power_limit",
            "params": {"limit_kw": 42.5}, "issued_ms": command["created_ms"],
            "expires_ms": command["expires_ms"],
        }  # fmt: skip
        for state in ("acknowledged", "succeeded"):
            ack = {"command_id": received["command_id"], "state": state, "detail": "limit set"}
            await device.publish(f"{topic}/commands/ack", json.dumps(ack), qos=1)
        await wait_for(lambda: _is(client, operator, command["id"], "succeeded"), timeout_s=40)

    detail = (await client.get(f"/api/v1/commands/{command['id']}", headers=operator)).json()
    assert [(t["state"], t["actor"]) for t in detail["transitions"]] == [
        ("queued", detail["created_by"]), ("sent", "system:command-link"),
        ("acknowledged", f"asset:{asset['id']}"), ("succeeded", f"asset:{asset['id']}"),
    ]  # fmt: skip
    announced = [e["state"] for e in events.of("command.updated", command_id=command["id"])]
    assert announced == ["queued", "sent", "acknowledged", "succeeded"]
    assert (await _status(client, operator, asset["id"]))["reason"] == "birth"

    # the device vanishes: the broker publishes its Last Will
    await asyncio.to_thread(_vanish_with_last_will, f"{topic}/status")
    await wait_for(lambda: _status_reason(client, operator, asset["id"], "lwt"))

    # a command for the offline device stays queued through send rounds, then expires
    later = await client.post(
        f"/api/v1/assets/{asset['id']}/commands", json={"kind": "stop", "ttl_s": 30},
        headers=operator,
    )  # fmt: skip
    later_cmd = later.json()
    rounds = link.rounds
    await wait_for(lambda: _after(link, rounds + 2))
    assert await _state(client, operator, later_cmd["id"]) == "queued"
    await app.state.control.expire_commands(later_cmd["expires_ms"])
    assert await _state(client, operator, later_cmd["id"]) == "expired"


async def test_a_malformed_ack_becomes_a_dead_letter(app, client, operator, prefix):
    await asyncio.wait_for(app.state.mqtt_ingest.subscribed.wait(), 30)
    site = await make_site(client, operator)
    asset = await make_asset(client, operator, site["id"])
    topic = f"{prefix}gridpilot/{site['id']}/{asset['id']}/commands/ack"
    async with aiomqtt.Client(
        BROKER_HOST, BROKER_PORT, identifier=f"gp-dev-{uuid.uuid4().hex}"
    ) as d:
        await d.publish(topic, b'{"command_id": "x", "state": "succeeded"}', qos=1)
    rejects = await wait_for(lambda: _rejects(client, operator))
    assert any("command_id" in str(r) for r in rejects), rejects


async def _is(client, headers, command_id: int, state: str) -> bool:
    return await _state(client, headers, command_id) == state


async def _status_reason(client, headers, asset_id: int, reason: str) -> bool:
    body = await _status(client, headers, asset_id)
    return body["status"] == "offline" and body["reason"] == reason


async def _after(link, rounds: int) -> bool:
    return link.rounds >= rounds


async def _rejects(client, headers) -> list:
    response = await client.get("/api/v1/ingest/rejects", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return body if isinstance(body, list) else body.get("items", [])
