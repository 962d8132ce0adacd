"""Simulated devices on the real Mosquitto: birth and Last Will, seed topics, command acks."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid

import aiomqtt
import numpy as np
import pytest
from tests.conftest import _service_missing

from gridpilot.core.mqtt import MqttEndpoint
from gridpilot.sim.community_scenario import community
from gridpilot.sim.generate import Accumulator, generate
from gridpilot.sim.mqtt_devices import MqttDevices
from gridpilot.sim.provision import SimAsset
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.sim.scenarios import factory

ENDPOINT = MqttEndpoint("127.0.0.1", 1883)


@pytest.fixture
async def observer():
    prefix = f"t{uuid.uuid4().hex[:10]}/"
    try:
        client = aiomqtt.Client("127.0.0.1", 1883, identifier=f"obs-{uuid.uuid4().hex[:8]}")
        await client.__aenter__()
    except aiomqtt.MqttError as exc:
        _service_missing("Mosquitto", exc)
    await client.subscribe(f"{prefix}#", qos=1)
    try:
        yield prefix, client
    finally:
        await client.__aexit__(None, None, None)


async def collect(
    client: aiomqtt.Client, until, timeout_s: float = 10.0
) -> list[tuple[str, bytes]]:
    seen: list[tuple[str, bytes]] = []

    async def loop() -> None:
        async for message in client.messages:
            seen.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
            if until(seen):
                return

    await asyncio.wait_for(loop(), timeout_s)
    return seen


def assets() -> list[SimAsset]:
    plant, members = factory()[0], community()[0]
    return [
        SimAsset(101, 7, "factory", plant, plant.assets[0], "sites/7/devices/factory-compressor-1"),
        SimAsset(
            102, 8, "community", members, members.assets[0], "energy/plant/8/device/CER-DEV-001"
        ),
    ]


async def test_devices_publish_birth_telemetry_and_acknowledge_commands(observer):
    prefix, client = observer
    compressor, member = assets()
    devices = MqttDevices(ENDPOINT, prefix)
    simulator = LiveSimulator([compressor, member], sink=devices)
    await simulator.prime(None)
    await devices.connect(simulator)
    try:
        births = await collect(client, lambda s: sum(t.endswith("/status") for t, _ in s) == 2)
        assert {(t, p) for t, p in births if t.endswith("/status")} == {
            (f"{prefix}sites/7/devices/factory-compressor-1/status", b"online"),
            (f"{prefix}energy/plant/8/device/CER-DEV-001/status", b"online"),
        }
        for asset in (compressor, member):
            live = simulator.live[asset.asset_id]
            ts, values = generate(
                asset.spec.model,
                live.ctx,
                live.next_ms,
                live.next_ms + 60_000,
                step_ms=60_000,
                accumulator=Accumulator(),
            )
            await devices.send(asset, ts, values)
        seen = await collect(
            client,
            lambda s: (
                any(t.endswith("/measurements") for t, _ in s)
                and any(t.endswith("/telemetry/pressure_bar") for t, _ in s)
            ),
        )
        pressure = next(json.loads(p) for t, p in seen if t.endswith("/telemetry/pressure_bar"))
        assert set(pressure) == {"ts", "value"} and 6 <= pressure["value"] <= 8
        message = next(json.loads(p) for t, p in seen if t.endswith("/measurements"))
        assert message["device_id"] == "CER-DEV-001" and message["plant_id"] == 8
        assert set(message["measurements"]) == {
            "energy_produced",
            "energy_consumed",
            "power_produced",
            "power_consumed",
            "voltage",
            "current",
            "frequency",
            "power_factor",
        }
        assert message["timestamp"].endswith("Z") and "signal_strength" in message["status"]

        commands = f"{prefix}sites/7/devices/factory-compressor-1/commands"
        await client.publish(
            commands,
            json.dumps(
                {
                    "command_id": "c1",
                    "kind": "set_power_limit",
                    "params": {"limit_kw": 20},
                    "idempotency_key": "k1",
                }
            ),
            qos=1,
        )
        await client.publish(
            commands, json.dumps({"command_id": "c2", "kind": "self_destruct"}), qos=1
        )
        acks = await collect(client, lambda s: sum(t.endswith("/commands/ack") for t, _ in s) >= 4)
        states = [
            (a["command_id"], a["state"])
            for a in (json.loads(p) for t, p in acks if t.endswith("/commands/ack"))
        ]
        assert states == [
            ("c1", "acknowledged"),
            ("c1", "succeeded"),
            ("c2", "acknowledged"),
            ("c2", "failed"),
        ]
        assert simulator.live[101].ctx.overrides.power_limit_kw == 20
        live = simulator.live[101]
        _, limited = generate(
            compressor.spec.model,
            live.ctx,
            live.next_ms,
            live.next_ms + 10_000,
            step_ms=None,
            accumulator=Accumulator(),
        )
        assert np.all(limited["power_kw"] <= 20)
    finally:
        await devices.close(graceful=True)
    offline = await collect(client, lambda s: sum(p == b"offline" for _, p in s) == 2)
    assert sum(p == b"offline" for t, p in offline if t.endswith("/status")) == 2


async def test_last_will_marks_a_vanished_device_offline(observer):
    prefix, client = observer
    compressor, _ = assets()
    devices = MqttDevices(ENDPOINT, prefix)
    simulator = LiveSimulator([compressor], sink=devices)
    await simulator.prime(None)
    await devices.connect(simulator)
    await collect(client, lambda s: any(p == b"online" for _, p in s))
    sock = devices.clients[101]._client.socket()  # the device vanishes without a goodbye:
    sock.shutdown(socket.SHUT_RDWR)  # (not close(): the event loop still watches the fd)
    try:
        wills = await collect(client, lambda s: any(p == b"offline" for _, p in s), timeout_s=20)
        assert (f"{prefix}sites/7/devices/factory-compressor-1/status", b"offline") in wills
    finally:
        await devices.close(graceful=False)
