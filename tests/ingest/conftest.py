"""Fixtures of the MQTT ingest tests: the real Mosquitto, a unique topic prefix per test."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import paho.mqtt.client as paho
import pytest
from sqlalchemy import text
from tests.conftest import _service_missing

from gridpilot.auth.permissions import Role

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883
BROKER_URL = f"mqtt://{BROKER_HOST}:{BROKER_PORT}"
#: Epoch ms an hour ago, on a whole second (inside raw retention, not in the future).
HOUR_AGO_MS = (int(time.time()) - 3600) * 1000


def broker_available(host: str = BROKER_HOST, port: int = BROKER_PORT) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError as exc:
        _service_missing("Mosquitto", exc)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}/"


@pytest.fixture
def settings_overrides(prefix: str) -> dict[str, object]:
    broker_available()
    return {
        "mqtt_url": BROKER_URL,
        "mqtt_topic_prefix": prefix,
        "mqtt_client_id": f"gp-test-{uuid.uuid4().hex[:12]}",
        "mqtt_share_group": "",
        "mqtt_session_expiry_s": 60,
    }


@pytest.fixture
async def worker(app):
    """The app's in-process ingest worker, once subscribed."""
    running = app.state.mqtt_ingest
    await asyncio.wait_for(running.subscribed.wait(), 30)
    return running


@pytest.fixture
async def operator(auth_headers):
    return await auth_headers(Role.OPERATOR)


@pytest.fixture
async def device(client, operator) -> dict[str, Any]:
    """A site and a PV asset with ``attributes.device_id = "DEVICE001"``."""
    site = await client.post(
        "/api/v1/sites",
        json={"name": f"Plant {uuid.uuid4().hex[:6]}", "timezone": "UTC"},
        headers=operator,
    )
    assert site.status_code == 201, site.text
    body = {
        "site_id": site.json()["id"],
        "name": "Inverter",
        "kind": "solar_pv",
        "attributes": {"device_id": "DEVICE001"},
    }
    asset = await client.post("/api/v1/assets", json=body, headers=operator)
    assert asset.status_code == 201, asset.text
    return asset.json()


def publish(
    messages: list[tuple[str, bytes | str]], *, host: str = BROKER_HOST, port: int = BROKER_PORT
) -> None:
    """Publish ``(topic, payload)`` pairs at QoS 1 and wait for every PUBACK (blocking)."""
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"gp-pub-{uuid.uuid4().hex[:10]}",
        protocol=paho.MQTTv5,
    )
    client.max_inflight_messages_set(200)
    client.connect(host, port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=30)
            assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()


async def apublish(messages: list[tuple[str, bytes | str]], **kwargs: Any) -> None:
    await asyncio.to_thread(publish, messages, **kwargs)


async def wait_for(
    probe: Callable[[], Awaitable[Any]], *, timeout_s: float = 20, every_s: float = 0.05
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s (last: {value!r})")
        await asyncio.sleep(every_s)


async def count_readings(sessions, asset_id: int | None = None) -> int:
    query = "SELECT COUNT(*) FROM readings" + (" WHERE asset_id = :a" if asset_id else "")
    async with sessions() as session:
        return int(await session.scalar(text(query), {"a": asset_id}))
