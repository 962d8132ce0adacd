"""The paho load generator and the bare subscriber of ``bench/mqtt_ingest.py`` (own processes).

    python bench/mqtt_clients.py publish '<json spec>'     # prints one JSON line at the end
    python bench/mqtt_clients.py subscribe '<json spec>'   # prints "ready", then one JSON line

Both are plain paho-mqtt clients driven by a single-threaded external loop (``select`` plus
``loop_read``/``loop_write``/``loop_misc``): no network thread to contend with for the GIL and
no wake-up socket per publish. Costs paho itself would add and that are not the broker's:

* paho reads each packet with three ``recv`` calls; both clients read through
  ``gridpilot.ingest.mqtt_wire.BufferedSocket`` (one ``recv`` per 32 kB);
* ``max_inflight_messages_set(n > 0)`` makes paho scan all in-flight messages on every PUBACK
  (``_update_inflight``): the publisher sets 0 (paho: unlimited) and keeps its own window of
  unacknowledged messages, at most the broker's Receive Maximum;
* paho sends each packet with its own ``send`` call: the publisher's socket is corked while it
  publishes a burst (``CorkedSocket``) and flushed once per loop round;
* paho decodes every v5 PUBACK into a ``ReasonCode`` and a ``Properties`` object (more CPU than
  the broker spends on the whole message): the publisher's successful PUBACKs are handled by
  ``lean_pubacks`` (packet id -> paho's in-flight message released); PUBACKs with an error
  reason still go through paho. Every PUBLISH is still built, sent and tracked by paho;
* the bare subscriber takes PUBLISH packets as the ingest worker does
  (``mqtt_wire.receive_publishes``) and acknowledges everything read in one go with
  ``mqtt_wire.queue_pubacks``: what remains is the broker's rate to a cheap consumer.

Publisher spec: ``port``, ``count``, ``rate`` (messages/s; 0 = as fast as the window allows),
``window``, and either ``topic`` (one topic, one fixed single-reading payload) or ``prefix``,
``site``, ``assets``, ``per_message``, ``base_ms`` (telemetry of ``per_message`` power_kw readings
per message, spread over the assets; timestamps unique per asset).
"""

from __future__ import annotations

import json
import select
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import paho.mqtt.client as paho

from gridpilot.ingest.mqtt_wire import (
    BufferedSocket,
    buffer_reads,
    queue_pubacks,
    receive_publishes,
)

#: Progress samples of the publisher (seconds between them).
PROGRESS_EVERY_S = 0.1


def connect(port: int, name: str) -> tuple[paho.Client, dict[str, Any]]:
    """A connected MQTT v5 client with buffered reads and no paho in-flight bookkeeping."""
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    client.max_inflight_messages_set(0)  # 0: no per-PUBACK scan; the window is ours
    client.max_queued_messages_set(0)
    buffer_reads(client)
    connack: dict[str, Any] = {}

    def on_connect(client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        connack["reason"] = reason
        connack["receive_maximum"] = getattr(props, "ReceiveMaximum", 65535)

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 10
    while not connack:
        pump(client, 0.05)
        if time.monotonic() > deadline:
            raise RuntimeError("no CONNACK")
    return client, connack


class CorkedSocket:
    """Buffered reads (``BufferedSocket``) and writes collected until ``flush``."""

    __slots__ = ("_out", "_reader", "_sock")

    def __init__(self, reader: BufferedSocket, sock: Any) -> None:
        self._reader = reader
        self._sock = sock
        self._out = bytearray()

    def recv(self, size: int) -> bytes:
        return self._reader.recv(size)

    def pending(self) -> int:
        return self._reader.pending()

    def send(self, data: bytes | bytearray | memoryview) -> int:
        self._out += data
        return len(data)

    def unsent(self) -> int:
        return len(self._out)

    def flush(self) -> None:
        """Send what the kernel takes now; the rest waits for the next flush."""
        if self._out:
            try:
                sent = self._sock.send(self._out)
            except BlockingIOError:
                return
            del self._out[:sent]

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def cork(client: paho.Client) -> CorkedSocket:
    """Cork ``client``'s (connected, buffered) socket."""
    reader = client.socket()
    assert isinstance(reader, BufferedSocket)
    corked = CorkedSocket(reader, reader._sock)
    client._sock = corked
    return corked


def lean_pubacks(client: paho.Client, on_ack: Callable[[], None]) -> None:
    """Release a successful PUBACK's in-flight message without paho's v5 decoding."""
    paho_handler = client._handle_pubackcomp
    in_flight = client._out_messages

    def handle(cmd: str) -> paho.MQTTErrorCode:
        packet = client._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) < 2 or (len(packet) > 2 and packet[2] >= 0x80):
            return paho_handler(cmd)  # type: ignore[arg-type]
        message = in_flight.pop((packet[0] << 8) | packet[1], None)
        if message is not None:
            client._inflight_messages -= 1
            on_ack()
        return paho.MQTTErrorCode.MQTT_ERR_SUCCESS

    client._handle_pubackcomp = handle  # type: ignore[method-assign]


def pump(client: paho.Client, timeout: float) -> None:
    """One round of the external loop: wait up to ``timeout``, read everything, write, misc."""
    sock = client.socket()
    if sock is None:
        raise RuntimeError("the connection was lost")
    corked = isinstance(sock, CorkedSocket)
    if corked:
        sock.flush()
    writing = [sock] if client.want_write() or (corked and sock.unsent()) else []
    readable, writable, _ = select.select([sock], writing, [], 0 if sock.pending() else timeout)
    if readable or sock.pending():
        client.loop_read()
        while sock.pending():
            client.loop_read()
    if writable or client.want_write():
        client.loop_write()
    if corked:
        sock.flush()
    client.loop_misc()


def messages(spec: dict[str, Any]) -> list[tuple[str, bytes]]:
    count = spec["count"]
    if "topic" in spec:
        payload = orjson.dumps({"ts": 1_700_000_000_000, "values": {"power_kw": 1.0}})
        return [(spec["topic"], payload)] * count
    prefix, site, assets = spec["prefix"], spec["site"], spec["assets"]
    per_message, base_ms = spec["per_message"], spec["base_ms"]
    out = []
    for n in range(count):
        asset = assets[n % len(assets)]
        first = (n // len(assets)) * per_message
        readings = [
            {"ts": base_ms + first + i, "values": {"power_kw": float(i % 1000)}}
            for i in range(per_message)
        ]
        body = readings[0] if per_message == 1 else readings
        out.append((f"{prefix}gridpilot/{site}/{asset}/telemetry", orjson.dumps(body)))
    return out


def publish(spec: dict[str, Any]) -> dict[str, Any]:
    """Publish ``spec`` at QoS 1 until every PUBACK is in; timings in ``time.monotonic``."""
    todo = messages(spec)
    count, rate = len(todo), float(spec.get("rate") or 0)
    client, connack = connect(spec["port"], "bench-pub")
    window = max(1, min(spec.get("window", 1000), connack["receive_maximum"]))
    acked = 0

    def count_ack() -> None:
        nonlocal acked
        acked += 1

    def on_publish(client: paho.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        count_ack()

    client.on_publish = on_publish
    lean_pubacks(client, count_ack)
    corked = cork(client)
    sent = 0
    progress: list[tuple[float, int]] = []
    cpu_started = time.process_time()
    started = time.monotonic()
    next_progress = started
    publish_one = client.publish
    while acked < count:
        now = time.monotonic()
        if now >= next_progress:
            progress.append((now, acked))
            next_progress = now + PROGRESS_EVERY_S
        due = count if not rate else min(count, int((now - started) * rate) + 1)
        room = min(window - (sent - acked), due - sent)
        for topic, payload in todo[sent : sent + room]:
            publish_one(topic, payload, 1)
        if room > 0:
            sent += room
        pump(client, 0.0005 if rate else 0.05)
    finished = time.monotonic()
    progress.append((finished, acked))
    cpu = time.process_time() - cpu_started
    while corked.unsent():
        pump(client, 0.01)
    client._sock = corked._reader  # uncorked: paho closes the socket after the DISCONNECT
    client.disconnect()
    return {
        "count": count,
        "started": started,
        "finished": finished,
        "cpu_s": cpu,
        "window": window,
        "progress": progress,
    }


def subscribe(spec: dict[str, Any]) -> dict[str, Any]:
    """Count ``spec["count"]`` messages on ``spec["topic"]`` (QoS 1), acknowledging them."""
    client, _ = connect(spec["port"], "bench-sub")
    client.manual_ack_set(True)
    mids: list[int] = []
    received = 0
    first = 0.0

    def sink(topic: bytes, payload: bytes, qos: int, mid: int) -> None:
        nonlocal received, first
        if not received:
            first = time.monotonic()
        received += 1
        if qos:
            mids.append(mid)

    receive_publishes(client, sink)
    client.subscribe(spec["topic"], qos=1)
    for _ in range(4):
        pump(client, 0.05)
    print("ready", flush=True)
    cpu_started = 0.0
    deadline = time.monotonic() + spec.get("timeout_s", 300)
    while received < spec["count"] and time.monotonic() < deadline:
        pump(client, 0.5)
        if mids:
            if not cpu_started:
                cpu_started = time.process_time()
            queue_pubacks(client, mids)
            mids.clear()
    last = time.monotonic()
    cpu = time.process_time() - cpu_started
    pump(client, 0)
    client.disconnect()
    return {"received": received, "first": first, "last": last, "cpu_s": cpu}


def main() -> None:
    role, spec = sys.argv[1], json.loads(sys.argv[2])
    result = publish(spec) if role == "publish" else subscribe(spec)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
