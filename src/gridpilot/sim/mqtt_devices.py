"""Simulated devices on MQTT: one connection per device with a Last Will, telemetry on the
seeds' topics, commands with acknowledgements (docs/control.md).

* fleet devices publish (QoS 1) each metric on ``{base}/telemetry/{metric}`` as ``{"ts", "value"}``;
* CER devices publish the seed's device message on ``{base}/measurements`` (a battery behind a
  CER member's POD is a fleet device: its SOC is not in the CER message);
* status: retained ``online`` on connect, Last Will ``offline`` (retained) on ``{base}/status``;
* commands on ``{base}/commands`` (QoS 1) are acknowledged on ``{base}/commands/ack``:
  ``acknowledged``, then ``succeeded`` or ``failed`` (unknown kind, bad parameters, expired).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from datetime import UTC, datetime

import aiomqtt
import numpy as np
from numpy.typing import NDArray

from gridpilot.core.mqtt import MqttEndpoint
from gridpilot.sim.noise import Array
from gridpilot.sim.provision import SimAsset
from gridpilot.sim.realtime import LiveSimulator
from gridpilot.sim.site_specs import CER

log = logging.getLogger(__name__)

#: CER device message field -> simulator metric (the same mapping as ``ingest.decoders``).
CER_FIELDS = {
    "energy_produced": "energy_produced_kwh",
    "energy_consumed": "energy_consumed_kwh",
    "power_produced": "power_produced_kw",
    "power_consumed": "power_consumed_kw",
    "voltage": "voltage_v",
    "current": "current_a",
    "frequency": "frequency_hz",
    "power_factor": "power_factor",
}


def iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cer_message(asset: SimAsset, ts_ms: int, values: dict[str, float]) -> dict:
    """The CER seed's device message for one sample."""
    return {
        "device_id": asset.key,
        "plant_id": asset.site_id,
        "timestamp": iso(ts_ms),
        "measurements": {name: values[key] for name, key in CER_FIELDS.items() if key in values},
        "status": {"battery_level": 100, "signal_strength": -50, "last_seen": iso(ts_ms)},
    }


def messages(
    asset: SimAsset, prefix: str, ts: NDArray[np.int64], values: dict[str, Array]
) -> list[tuple[str, bytes]]:
    """(topic, payload) of the samples of one asset."""
    base = prefix + asset.base_topic
    rounded = {k: np.round(v, 4).tolist() for k, v in values.items()}
    result = []
    for i, stamp in enumerate(ts.tolist()):
        if asset.topics == CER:
            sample = {k: v[i] for k, v in rounded.items()}
            result.append(
                (f"{base}/measurements", json.dumps(cer_message(asset, stamp, sample)).encode())
            )
        else:
            for metric, column in rounded.items():
                payload = json.dumps({"ts": stamp, "value": column[i]}).encode()
                result.append((f"{base}/telemetry/{metric}", payload))
    return result


class MqttDevices:
    """A sink that publishes as the devices themselves; also serves their command topics."""

    def __init__(self, endpoint: MqttEndpoint, prefix: str = "") -> None:
        self.endpoint = endpoint
        self.prefix = prefix
        self.clients: dict[int, aiomqtt.Client] = {}
        self.simulator: LiveSimulator | None = None
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0
        self.commands = 0

    def _client(self, asset: SimAsset) -> aiomqtt.Client:
        status = f"{self.prefix}{asset.base_topic}/status"
        return aiomqtt.Client(
            self.endpoint.hostname,
            self.endpoint.port,
            username=self.endpoint.username,
            password=self.endpoint.password,
            identifier=f"gp-sim-{asset.key}-{uuid.uuid4().hex[:6]}",
            will=aiomqtt.Will(status, b"offline", qos=1, retain=True),
            tls_params=aiomqtt.TLSParameters() if self.endpoint.tls else None,
        )

    async def connect(self, simulator: LiveSimulator) -> None:
        """Connect every device, publish its birth and subscribe to its commands."""
        self.simulator = simulator
        for asset in simulator.devices():
            client = await self._stack.enter_async_context(self._client(asset))
            base = self.prefix + asset.base_topic
            await client.publish(f"{base}/status", b"online", qos=1, retain=True)
            await client.subscribe(f"{base}/commands", qos=1)
            self.clients[asset.asset_id] = client
            self._tasks.append(asyncio.create_task(self._serve_commands(asset, client)))

    async def close(self, *, graceful: bool = True) -> None:
        """Stop; ``graceful`` publishes ``offline`` (else the broker sends the Last Will only
        when the connection drops)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task
        if graceful and self.simulator is not None:
            for asset in self.simulator.devices():
                client = self.clients.get(asset.asset_id)
                if client is not None:
                    with contextlib.suppress(aiomqtt.MqttError):
                        await client.publish(
                            f"{self.prefix}{asset.base_topic}/status",
                            b"offline",
                            qos=1,
                            retain=True,
                        )
        with contextlib.suppress(aiomqtt.MqttError):
            await self._stack.aclose()

    async def send(self, asset: SimAsset, ts: NDArray[np.int64], values: dict[str, Array]) -> None:
        client = self.clients[asset.asset_id]
        for topic, payload in messages(asset, self.prefix, ts, values):
            await client.publish(topic, payload, qos=1)
            self.published += 1

    async def _serve_commands(self, asset: SimAsset, client: aiomqtt.Client) -> None:
        ack_topic = f"{self.prefix}{asset.base_topic}/commands/ack"
        async for message in client.messages:
            if not str(message.topic).endswith("/commands") or not str(message.topic).startswith(
                self.prefix + asset.base_topic
            ):
                continue
            self.commands += 1
            for ack in self.handle_command(asset, bytes(message.payload)):
                await client.publish(ack_topic, json.dumps(ack).encode(), qos=1)

    def handle_command(self, asset: SimAsset, payload: bytes) -> list[dict]:
        """The acknowledgements for one command payload (and the command applied)."""
        assert self.simulator is not None
        return self.simulator.acknowledge(asset.asset_id, payload)
