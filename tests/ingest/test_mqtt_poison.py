"""Poison MQTT messages are dead-lettered and ingestion goes on; storage outages alone are retried.

Real Mosquitto and the app's in-process worker on both back ends (#13). A timestamp of 1e20 ms
once raised ``OSError`` while validating; the batch retry took it for a database outage and
retried for ever without acknowledging, so two such messages stopped all MQTT ingestion and the
broker redelivered them after every restart.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import time

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests.ingest.conftest import HOUR_AGO_MS, apublish, count_readings, wait_for

from gridpilot.core.timestamps import now_ms
from gridpilot.ingest import mqtt_batch
from gridpilot.ingest.mqtt_batch import PROCESSING_FAILED, BatchOutcome, Inbound

REJECTS = "/api/v1/ingest/rejects"


async def rejects(client, headers, count: int) -> list[dict] | None:
    response = await client.get(REJECTS, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items if len(items) >= count else None


def session_leftovers(client_id: str, wait_s: float = 1.5) -> list[bytes]:
    """Messages the broker still holds unacknowledged for the session ``client_id``: take the
    session over (the worker is disconnected and reconnects) and collect what is redelivered."""
    received: list[bytes] = []
    taker = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    taker.on_message = lambda _client, _data, message: received.append(message.payload)
    keep = Properties(PacketTypes.CONNECT)
    keep.SessionExpiryInterval = 60
    taker.connect("127.0.0.1", 1883, clean_start=False, properties=keep)
    taker.loop_start()
    try:
        time.sleep(wait_s)
    finally:
        taker.loop_stop()
        taker.disconnect()
    return received


async def test_poison_messages_are_dead_lettered_and_ingestion_goes_on(
    client, sessions, worker, prefix, device, operator
):
    asset, site = device["id"], device["site_id"]
    topic = f"{prefix}gridpilot/{site}/{asset}/telemetry"

    def good(i: int) -> tuple[str, str]:
        return topic, json.dumps({"ts": HOUR_AGO_MS + i * 1000, "values": {"power_kw": i}})

    await apublish([good(0)])
    await wait_for(lambda: _count_is(sessions, asset, 1))
    poison = [
        (topic, b'{"ts": 1e20, "values": {"power_kw": 1}}'),  # the probe's message
        (topic, b'{"ts": 100000000000000000000, "values": {"power_kw": 1}}'),
        (f"{prefix}sites/{site}/devices/{asset}/telemetry/power_kw", b'{"ts": -1e20, "value": 1}'),
        (topic, b'{"ts": "9999-12-31T23:59:59-14:00", "values": {"power_kw": 1}}'),
        (f"{prefix}gridpilot/{site}/{asset}/status", b'{"status": "online", "ts": -1e20}'),
    ]
    mixed = [
        {"ts": HOUR_AGO_MS + 1000, "values": {"power_kw": 1}},
        {"ts": 10**30, "values": {"power_kw": 9}},
    ]
    await apublish([*poison, (topic, json.dumps(mixed)), good(2)])

    await wait_for(lambda: _count_is(sessions, asset, 3), timeout_s=30)
    items = await wait_for(lambda: rejects(client, operator, len(poison) + 1))
    reasons = [item["reason"] for item in items]
    assert len(reasons) == len(poison) + 1, reasons
    assert all(item["asset_id"] == asset and item["channel"] == "mqtt" for item in items)
    assert sum("in the future" in r for r in reasons) == 4, reasons
    assert sum("before 1970" in r for r in reasons) == 2, reasons
    assert any(r.startswith("1 of 2 readings rejected") for r in reasons), reasons
    assert all(PROCESSING_FAILED not in r for r in reasons)  # rejected as input, not as a bug
    await wait_for(lambda: _totals_are(worker, 1 + len(poison) + 2))
    # everything was acknowledged: nothing is left in the session to be redelivered
    assert await asyncio.to_thread(session_leftovers, worker.client_id) == []
    await apublish([good(3)])  # and the worker, back on its session, goes on
    await wait_for(lambda: _count_is(sessions, asset, 4), timeout_s=30)


async def _count_is(sessions, asset: int, expected: int) -> bool:
    return await count_readings(sessions, asset) == expected


async def _totals_are(worker, messages: int) -> bool:
    return worker.totals.messages >= messages


def inbound(topic: str, body: object) -> Inbound:
    return Inbound(topic, json.dumps(body).encode(), qos=0, mid=0, received_ms=now_ms())


async def test_a_batch_failing_for_a_reason_other_than_an_outage_isolates_the_poison(
    client, sessions, worker, prefix, device, operator, monkeypatch
):
    """A bug that raises ``OSError`` (errno 75, as formatting 1e20 ms did) while storing one
    message's readings: the good messages of its batch are stored, the poison dead-lettered."""
    real_ingest = mqtt_batch.ingest

    async def buggy_ingest(raw, **kwargs):
        if any(reading.get("value") == 666 for reading in raw):
            raise OSError(errno.EOVERFLOW, os.strerror(errno.EOVERFLOW))
        return await real_ingest(raw, **kwargs)

    monkeypatch.setattr(mqtt_batch, "ingest", buggy_ingest)
    asset, site = device["id"], device["site_id"]
    topic = f"{prefix}gridpilot/{site}/{asset}/telemetry"
    batch = [
        inbound(topic, {"ts": HOUR_AGO_MS + i * 1000, "values": {"power_kw": value}})
        for i, value in enumerate([1, 666, 2])
    ]
    outcome = await asyncio.wait_for(worker.processor.process_isolating(batch), 20)
    assert outcome == BatchOutcome(messages=3, stored=2, rejects=1)
    assert await count_readings(sessions, asset) == 2
    [dead] = await rejects(client, operator, 1) or []
    assert dead["reason"] == f"{PROCESSING_FAILED} (OSError)"
    assert '"power_kw": 666' in dead["payload_excerpt"] and dead["asset_id"] == asset
