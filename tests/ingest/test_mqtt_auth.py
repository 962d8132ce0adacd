"""Device credentials on MQTT: ``gridpilot mqtt-auth export`` files loaded by a real Mosquitto.

A device logs in with its device key and may publish only under its own topics; a wrong
password is refused; revoked keys are not exported; the gridpilot service user reads all.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import sys
import threading
import uuid

import paho.mqtt.client as paho
import pytest
from tests.ingest.broker import private_broker
from tests.ingest.workers import worker_env

from gridpilot.auth.api_keys import mosquitto_hash
from gridpilot.ingest.mqtt_auth import acl_file, device_bases

SUCCESS, NOT_AUTHORIZED = 0, 135


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}


def test_mosquitto_hash_is_pbkdf2_sha512_in_the_7_format():
    stored = mosquitto_hash("gpk_0123456789abcdef_s3cret", iterations=101)
    _, scheme, rounds, salt, digest = stored.split("$")
    assert (scheme, rounds) == ("7", "101") and len(base64.b64decode(salt)) == 12
    expected = hashlib.pbkdf2_hmac(
        "sha512", b"gpk_0123456789abcdef_s3cret", base64.b64decode(salt), 101
    )
    assert base64.b64decode(digest) == expected


def test_acl_names_only_the_devices_own_topics():
    bases, fleet, cer = device_bases(7, 3, None, {"device_id": "INV 7/#"}, "p/")
    assert bases == ["p/gridpilot/3/7"] and fleet == ["p/sites/3/devices/7"]
    assert cer == ["p/energy/plant/+/device/7"]  # an unsafe device_id is left out
    bases, fleet, _ = device_bases(
        7, 3, "SOLAR-PV-ITA-00001", {"device_id": "INV-7", "mqtt_base_topic": "acme/inv7"}
    )
    assert bases == ["gridpilot/3/7", "gridpilot/3/SOLAR-PV-ITA-00001", "acme/inv7"]
    assert fleet == ["sites/3/devices/7", "sites/3/devices/INV-7"]
    assert "topic readwrite #" in acl_file([], "gridpilot")


class Device:
    """A paho MQTT v5 client that records the reason code of every PUBACK."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"dev-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5,
        )
        self.client.username_pw_set(username, password)
        self.acks: dict[int, int] = {}
        self.connected = threading.Event()
        self.connect_code: int | None = None
        self.received: list[str] = []
        self.client.on_publish = self._on_publish
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.received.append(m.topic)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connect_code = reason_code.value
        self.connected.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.acks[mid] = reason_code.value

    def publish(self, topic: str) -> int:
        info = self.client.publish(topic, b'{"values": {"power_kw": 1}}', qos=1)
        info.wait_for_publish(10)
        return self.acks[info.mid]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def make_device_key(client, headers, site: int, name: str) -> tuple[int, dict]:
    body = {"site_id": site, "name": name, "kind": "solar_pv"}
    body["attributes"] = {"device_id": f"{name}-id"}
    asset = (await client.post("/api/v1/assets", json=body, headers=headers)).json()
    key = await client.post(f"/api/v1/assets/{asset['id']}/keys", headers=headers)
    assert key.status_code == 201, key.text
    return asset["id"], key.json()


async def test_a_device_publishes_only_under_its_own_topics(
    app, client, auth_headers, database_url, tmp_path
):
    admin = await auth_headers("administrator")
    site = (
        await client.post("/api/v1/sites", json={"name": "Auth", "timezone": "UTC"}, headers=admin)
    ).json()["id"]
    mine, key = await make_device_key(client, admin, site, "inv1")
    other, _ = await make_device_key(client, admin, site, "inv2")
    revoked_asset, revoked = await make_device_key(client, admin, site, "inv3")
    response = await client.delete(
        f"/api/v1/assets/{revoked_asset}/keys/{revoked['key_id']}", headers=admin
    )
    assert response.status_code in (200, 204), response.text
    passwords, acl = tmp_path / "passwd", tmp_path / "acl"
    env = worker_env(
        database_url=database_url,
        mqtt_url="mqtt://gridpilot:service-pass@127.0.0.1:1883",
        prefix="",
        data_dir=tmp_path,
        share_group="gridpilot",
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gridpilot.cli", "mqtt-auth", "export",
         "--passwords", str(passwords), "--acl", str(acl)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "exported 2 device accounts" in done.stderr
    assert revoked["key_id"] not in passwords.read_text()
    assert (passwords.stat().st_mode & 0o777) == 0o600
    with private_broker(tmp_path / "broker", passwords=passwords, acl=acl) as port:
        watcher = await asyncio.to_thread(Device, port, "gridpilot", "service-pass")
        device = await asyncio.to_thread(Device, port, key["key_id"], key["key"])
        impostor = await asyncio.to_thread(Device, port, key["key_id"], "gpk_wrong")
        try:
            for who in (watcher, device, impostor):
                assert await asyncio.to_thread(who.connected.wait, 10)
            assert watcher.connect_code == device.connect_code == SUCCESS
            assert impostor.connect_code != SUCCESS  # bad password: refused
            watcher.client.subscribe("#", qos=1)
            await asyncio.sleep(0.3)  # SUBACK (then nothing may be missed)
            own = [
                f"gridpilot/{site}/{mine}/telemetry",
                f"gridpilot/{site}/{mine}/status",
                f"sites/{site}/devices/inv1-id/telemetry/power_kw",
                "energy/plant/42/device/inv1-id/measurements",
            ]
            foreign = [
                f"gridpilot/{site}/{other}/telemetry",
                f"sites/{site}/devices/inv2-id/telemetry",
                f"gridpilot/{site}/{mine}/commands",  # only gridpilot sends commands
                "anything/else",
            ]
            for topic in own:
                assert await asyncio.to_thread(device.publish, topic) == SUCCESS, topic
            for topic in foreign:
                assert await asyncio.to_thread(device.publish, topic) == NOT_AUTHORIZED, topic
            deadline = asyncio.get_running_loop().time() + 10
            while len(watcher.received) < len(own):
                assert asyncio.get_running_loop().time() < deadline, watcher.received
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            assert sorted(watcher.received) == sorted(own)
        finally:
            for who in (watcher, device, impostor):
                who.close()
