"""MQTT over TLS (#20): a private Mosquitto on a free port with a TLS listener that requires
client certificates of a test CA; the app's ingest worker connects with ``mqtts://`` and its own
client certificate (``GRIDPILOT_MQTT_TLS_CA``/``_CERT``/``_KEY``), a device publishes a reading
with its certificate, the reading is stored. A client without a certificate is refused."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from tests.api.live_server import free_port
from tests.conftest import _service_missing
from tests.ingest.conftest import HOUR_AGO_MS, count_readings, wait_for
from tests.tls.certs import Issued, TestCA

from gridpilot.auth.permissions import Role

MOSQUITTO = "/usr/sbin/mosquitto"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Issued]:
    ca = TestCA(tmp_path_factory.mktemp("mqtt-pki"))
    return {
        "ca": ca.ca,
        "server": ca.issue("broker", "localhost", server=True),
        "gridpilot": ca.issue("gridpilot", "gridpilot-ingest", server=False),
        "device": ca.issue("device", "DEVICE001", server=False),
    }


@pytest.fixture(scope="module")
def tls_broker(pki: dict[str, Issued], tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Mosquitto with one TLS listener (TLS 1.2+, client certificate required); its port."""
    if shutil.which(MOSQUITTO) is None:
        _service_missing("Mosquitto binary", FileNotFoundError(MOSQUITTO))
    workdir = tmp_path_factory.mktemp("mqtt-tls")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        "\n".join(
            [
                "per_listener_settings false",
                f"listener {port} 127.0.0.1",
                f"cafile {pki['ca'].cert}",
                f"certfile {pki['server'].cert}",
                f"keyfile {pki['server'].key}",
                "tls_version tlsv1.2",
                "require_certificate true",
                "use_identity_as_username true",
                "allow_anonymous true",
                "persistence false",
                "log_dest stderr",
                "user root",
            ]
        )
        + "\n"
    )
    log = workdir / "mosquitto.log"
    with log.open("wb") as out:
        process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def settings_overrides(tls_broker: int, pki: dict[str, Issued], prefix: str) -> dict[str, object]:
    return {
        "mqtt_url": f"mqtts://localhost:{tls_broker}",
        "mqtt_tls_ca": pki["ca"].cert,
        "mqtt_tls_cert": pki["gridpilot"].cert,
        "mqtt_tls_key": pki["gridpilot"].key,
        "mqtt_topic_prefix": prefix,
        "mqtt_client_id": f"gp-tls-{uuid.uuid4().hex[:12]}",
        "mqtt_share_group": "",
        "mqtt_session_expiry_s": 60,
    }


def connect_device(port: int, ca: Path, cert: Issued | None) -> tuple[paho.Client, int]:
    """A paho v5 client over TLS (with ``cert`` as its client certificate); its CONNACK code
    (-1 when the TLS handshake itself failed)."""
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"dev-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    client.tls_set(
        ca_certs=str(ca),
        certfile=str(cert.cert) if cert else None,
        keyfile=str(cert.key) if cert else None,
        tls_version=ssl.PROTOCOL_TLS_CLIENT,
    )
    try:
        code = client.connect("localhost", port)
    except (ssl.SSLError, OSError):
        return client, -1
    return client, int(code)


def publish_over_tls(port: int, pki: dict[str, Issued], topic: str, payload: str) -> None:
    client, code = connect_device(port, pki["ca"].cert, pki["device"])
    assert code == 0
    client.loop_start()
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=20)
        assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()


def refused_without_certificate(port: int, ca: Path) -> bool:
    """A client with no certificate never gets a CONNACK from the broker."""
    client, code = connect_device(port, ca, None)
    if code != 0:
        return True
    connected = []
    client.on_connect = lambda *args: connected.append(args[3])
    client.loop_start()
    time.sleep(1.0)
    client.loop_stop()
    return not connected


async def test_a_reading_arrives_over_mqtt_with_tls(
    app, client, sessions, auth_headers, tls_broker, pki, prefix
):
    await asyncio.wait_for(app.state.mqtt_ingest.subscribed.wait(), 30)
    operator = await auth_headers(Role.OPERATOR)
    site = await client.post(
        "/api/v1/sites", json={"name": "TLS plant", "timezone": "UTC"}, headers=operator
    )
    body = {"site_id": site.json()["id"], "name": "Inverter", "kind": "solar_pv"}
    asset = (await client.post("/api/v1/assets", json=body, headers=operator)).json()
    reading = {"ts": HOUR_AGO_MS, "values": {"power_kw": 4.25}}
    topic = f"{prefix}gridpilot/{asset['site_id']}/{asset['id']}/telemetry"
    await asyncio.to_thread(publish_over_tls, tls_broker, pki, topic, json.dumps(reading))

    async def stored() -> bool:
        return await count_readings(sessions, asset["id"]) == 1

    await wait_for(stored)
    assert await asyncio.to_thread(refused_without_certificate, tls_broker, pki["ca"].cert)
