"""The per-message paho paths of the ingest worker (``gridpilot.ingest.mqtt_wire``): buffered
socket reads, PUBLISH decoding, batched PUBACKs; the last against the real Mosquitto (a message
acknowledged with ``queue_pubacks`` is not sent again, an unacknowledged one is)."""

from __future__ import annotations

import select
import socket
import struct
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests.ingest.conftest import BROKER_HOST, BROKER_PORT, broker_available

from gridpilot.ingest.mqtt_wire import (
    BufferedSocket,
    buffer_reads,
    queue_pubacks,
    receive_publishes,
)


def publish_packet(topic: bytes, payload: bytes, *, qos: int, mid: int, props: bytes) -> bytes:
    """An MQTT v5 PUBLISH (fixed header with a one-byte remaining length)."""
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    body += bytes([len(props)]) + props + payload
    return bytes([0x30 | qos << 1, len(body)]) + body


def test_buffered_socket_serves_paho_sized_reads_from_one_recv():
    left, right = socket.socketpair()
    left.setblocking(False)
    try:
        wrapped = BufferedSocket(left)
        with pytest.raises(BlockingIOError):
            wrapped.recv(1)
        right.sendall(b"\x40\x02\x00\x07" * 3)
        select.select([left], [], [], 2)
        assert wrapped.recv(1) == b"\x40"  # one recv of the kernel took all 12 bytes
        assert wrapped.pending() == 11
        assert wrapped.recv(1) == b"\x02"
        assert wrapped.recv(2) == b"\x00\x07"
        assert wrapped.recv(100) == b"\x40\x02\x00\x07" * 2  # no more than is buffered
        assert wrapped.pending() == 0
        right.close()
        select.select([left], [], [], 2)
        assert wrapped.recv(1) == b""  # end of stream
        assert wrapped.fileno() == left.fileno()
    finally:
        left.close()


def v5_client() -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.manual_ack_set(True)
    return client


def handle(client: paho.Client, packet: bytes) -> paho.MQTTErrorCode:
    client._in_packet["command"] = packet[0]
    client._in_packet["packet"] = bytearray(packet[2:])
    return client._handle_publish()


def test_publish_packets_are_decoded_with_their_properties_skipped():
    client = v5_client()
    got: list[tuple[bytes, bytes, int, int]] = []
    receive_publishes(client, lambda *message: got.append(message))
    expiry = b"\x02\x00\x00\x00\x3c"  # Message Expiry Interval 60 s
    assert handle(client, publish_packet(b"gridpilot/1/2/telemetry", b'{"a":1}', qos=1,
                                         mid=513, props=expiry)) == 0  # fmt: skip
    assert handle(client, publish_packet(b"a/b", b"x", qos=0, mid=0, props=b"")) == 0
    assert got == [(b"gridpilot/1/2/telemetry", b'{"a":1}', 1, 513), (b"a/b", b"x", 0, 0)]
    truncated = publish_packet(b"a/b", b"", qos=1, mid=1, props=b"")[:-3]
    assert handle(client, truncated) == paho.MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert len(got) == 2


def test_pubacks_of_a_batch_are_one_packet_in_order():
    client = v5_client()
    queue_pubacks(client, [1, 258, 65535])
    queue_pubacks(client, [])
    (queued,) = client._out_packet
    assert bytes(queued["packet"]) == bytes.fromhex("40020001 40020102 4002ffff")


class Subscriber:
    """A paho v5 client on the real broker with the worker's receive path (persistent session)."""

    def __init__(self, client_id: str, topic: str) -> None:
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5
        )
        self.client.manual_ack_set(True)
        buffer_reads(self.client)
        self.got: list[tuple[bytes, bytes, int, int]] = []
        receive_publishes(self.client, lambda *message: self.got.append(message))
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 60
        self.client.connect(BROKER_HOST, BROKER_PORT, clean_start=False, properties=properties)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)

    def wait_for(self, count: int, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.got) < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_acknowledged_messages_are_not_redelivered_unacknowledged_ones_are():
    broker_available()
    client_id, topic = f"wire-{uuid.uuid4().hex[:8]}", f"wire{uuid.uuid4().hex[:8]}/x"
    first = Subscriber(client_id, topic)
    publisher = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    publisher.connect(BROKER_HOST, BROKER_PORT)
    publisher.loop_start()
    try:
        time.sleep(0.3)  # the subscription is in place
        infos = [publisher.publish(topic, f"{n}".encode(), qos=1) for n in range(300)]
        for info in infos:
            info.wait_for_publish(10)
        # acknowledge 0..199 as they come (the broker's in-flight window moves on), keep 200..
        acked = 0
        deadline = time.monotonic() + 10
        while acked < 200 and time.monotonic() < deadline:
            ready = first.got[acked:200]
            queue_pubacks(first.client, [mid for _, _, _, mid in ready])
            acked += len(ready)
            time.sleep(0.02)
        first.wait_for(201)
        time.sleep(0.3)
        received = [payload for _, payload, _, _ in first.got]
        assert received[:201] == [f"{n}".encode() for n in range(201)]
        assert {qos for _, _, qos, _ in first.got} == {1}
        first.close()

        second = Subscriber(client_id, topic)  # same session: the 100 unacknowledged come back
        try:
            second.wait_for(100)
            time.sleep(0.3)
            assert [payload for _, payload, _, _ in second.got] == [
                f"{n}".encode() for n in range(200, 300)
            ]
            queue_pubacks(second.client, [mid for _, _, _, mid in second.got])
            time.sleep(0.3)
        finally:
            second.client.disconnect(properties=_session_end())
            second.client.loop_stop()
    finally:
        publisher.disconnect()
        publisher.loop_stop()


def _session_end() -> Properties:
    properties = Properties(PacketTypes.DISCONNECT)
    properties.SessionExpiryInterval = 0
    return properties
