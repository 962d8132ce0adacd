"""The cheap paths of paho-mqtt's wire handling that MQTT ingest needs per message.

paho 2.x spends far more CPU per small message than the broker does: it reads a packet with
three or more ``recv`` calls (command byte, each remaining-length byte, the rest), builds an
``MQTTMessage`` and a v5 ``Properties`` object (dozens of dict entries) per PUBLISH, and
queues a PUBACK as its own packet. This module keeps paho (and aiomqtt around it) for the
connection, the session, subscriptions and keep-alive, and replaces only those per-message
steps, on one client instance:

* ``buffer_reads(client)``: the socket becomes a ``BufferedSocket``; one ``recv`` takes up
  to ``READ_SIZE`` bytes and paho's small reads are served from that buffer. ``pending()``
  reports the buffered bytes, the hook paho's own loop and aiomqtt's reader already use for
  TLS sockets, so both keep reading until the buffer is empty.
* ``receive_publishes(client, sink)``: each QoS 0/1 PUBLISH is decoded in place (topic,
  payload, QoS, packet id; v5 properties are skipped) and given to ``sink``; nothing is
  acknowledged (the caller acknowledges with ``queue_pubacks`` after storing). QoS 2 (never
  granted to the ingest subscriptions) still goes through paho.
* ``queue_pubacks(client, mids)``: the PUBACKs of a whole batch as one write, in order.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as paho

#: Bytes asked of the kernel per read.
READ_SIZE = 32 * 1024
_PUBACK = 0x40
_SUCCESS = paho.MQTTErrorCode.MQTT_ERR_SUCCESS

#: ``sink(topic, payload, qos, mid)`` receives each PUBLISH (topic as raw UTF-8 bytes).
PublishSink = Callable[[bytes, bytes, int, int], None]


class BufferedSocket:
    """A socket-like wrapper whose ``recv`` is served from a read-ahead buffer."""

    __slots__ = ("_data", "_inner_pending", "_pos", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0
        self._inner_pending = getattr(sock, "pending", None)  # TLS sockets buffer too

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes; b"" at end of stream; ``BlockingIOError`` when none yet."""
        pos = self._pos
        data = self._data
        if pos >= len(data):
            data = self._sock.recv(max(size, READ_SIZE))
            if not data:
                return data
            self._data = data
            pos = 0
        end = pos + size
        self._pos = end
        if pos == 0 and end >= len(data):
            return data
        return data[pos:end]

    def pending(self) -> int:
        """Bytes readable without waiting for the socket (buffered, or held by TLS)."""
        buffered = max(0, len(self._data) - self._pos)
        inner = self._inner_pending
        return buffered if inner is None else buffered + int(inner())

    def send(self, data: bytes | bytearray | memoryview) -> int:
        return int(self._sock.send(data))

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def buffer_reads(client: paho.Client) -> None:
    """Wrap ``client``'s socket in a ``BufferedSocket`` at every (re)connection.

    Chains to the ``on_socket_open`` callback set before this call (aiomqtt's registers the
    socket with the asyncio loop), handing it the wrapper.
    """
    chained = client.on_socket_open

    def on_socket_open(mqttc: paho.Client, userdata: Any, sock: Any) -> None:
        wrapped = sock if isinstance(sock, BufferedSocket) else BufferedSocket(sock)
        mqttc._sock = wrapped
        if chained is not None:
            chained(mqttc, userdata, wrapped)

    client.on_socket_open = on_socket_open


def _varint(packet: bytearray, pos: int) -> tuple[int, int]:
    """MQTT variable byte integer at ``pos``: (value, position after it)."""
    value = 0
    shift = 0
    while True:
        byte = packet[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 21:
            raise ValueError("malformed variable byte integer")


def receive_publishes(client: paho.Client, sink: PublishSink) -> None:
    """Decode ``client``'s incoming QoS 0/1 PUBLISH packets into ``sink`` (see the module doc).

    The client must use manual acknowledgement (``manual_ack_set(True)``): paho then sends no
    PUBACK of its own, and neither does this handler.
    """
    paho_handler = client._handle_publish
    v5 = client._protocol == paho.MQTTv5
    unpack_from = struct.unpack_from

    def handle_publish() -> paho.MQTTErrorCode:
        in_packet = client._in_packet
        header = in_packet["command"]
        qos = (header & 0x06) >> 1
        if qos == 2:
            return paho_handler()
        packet = in_packet["packet"]
        try:
            (length,) = unpack_from("!H", packet, 0)
            pos = 2 + length
            topic = bytes(packet[2:pos])
            mid = 0
            if qos:
                (mid,) = unpack_from("!H", packet, pos)
                pos += 2
            if v5:
                size, pos = _varint(packet, pos)
                pos += size
            if pos > len(packet) or len(topic) != length:
                raise ValueError("truncated PUBLISH")
        except (struct.error, IndexError, ValueError):
            return paho.MQTTErrorCode.MQTT_ERR_PROTOCOL
        sink(topic, bytes(packet[pos:]), qos, mid)
        return _SUCCESS

    client._handle_publish = handle_publish  # type: ignore[method-assign]


def queue_pubacks(client: paho.Client, mids: Sequence[int]) -> None:
    """Send the PUBACKs of ``mids`` (QoS 1 packet ids, in receive order) as one write.

    A v5 PUBACK without reason code or properties means success: 0x40, 0x02, id (2 bytes).
    """
    if not mids:
        return
    data = struct.pack(f"!{len(mids)}I", *[0x40020000 | mid for mid in mids])
    client._packet_queue(_PUBACK, data, 0, 0)
