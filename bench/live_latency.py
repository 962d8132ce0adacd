"""Ingest-to-WebSocket latency of `WS /api/v1/live` at a given rate (target p95 < 250 ms, 5,000/s).

    .venv/bin/python bench/live_latency.py --quick            # 500 readings/s for 3 s, SQLite
    .venv/bin/python bench/live_latency.py                    # 5,000 readings/s for 30 s, SQLite
    .venv/bin/python bench/live_latency.py --postgres --redis-url redis://127.0.0.1:6379/0
    .venv/bin/python bench/live_latency.py --via mqtt --postgres   # devices publish over MQTT

A real `gridpilot serve` process (see `harness.py`; SQLite in a temporary directory, or a fresh
PostgreSQL database with `--postgres`; the Redis event bus with `--redis-url`) gets `--assets`
meters. A load generator sends one reading per asset per tick, `--rate` readings/s in total, for
`--duration` seconds: `--via http` POSTs each tick as one batch to `/api/v1/telemetry` (at most 8
requests in flight); `--via mqtt` publishes one QoS 1 message per asset to
`{prefix}gridpilot/{site}/{asset}/telemetry` (the in-process MQTT ingest worker of `serve`,
broker `--mqtt-url`). Every reading of tick k carries the value k. `--ws-clients` WebSocket
clients, subscribed to the assets, take the time each (asset, tick) value arrives; the latency of
a reading is that arrival time minus the moment its tick was handed to the HTTP client or the
MQTT publisher. Some (asset, tick) values are never seen on their own: `readings.stored` carries
only the latest value per asset and metric of each committed writer batch (the writer merges
requests that arrive together), and a lagging client gets conflated values. They are counted as
"conflated_or_missing", not as latencies.

Nothing is asserted; the report shows p50/p95/max per client and whether the target was met.
The load generator, the clients, the server and the database share the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from harness import PgServer, create_site_and_assets, fresh_pg_database, gridpilot_server

TARGET_P95_MS = 250.0
TARGET_RATE = 5_000
HTTP_IN_FLIGHT = 8


@dataclass
class Receiver:
    """One WebSocket client's arrivals: (asset, tick) -> seconds after the tick was sent."""

    latencies_s: dict[tuple[int, int], float] = field(default_factory=dict)
    messages: int = 0


@dataclass
class Sender:
    sent_at: dict[int, float] = field(default_factory=dict)  # tick -> perf_counter
    readings: int = 0
    errors: int = 0
    first_error: str = ""


def now_ms() -> int:
    return int(time.time() * 1000)


async def receive(ws: ClientConnection, sender: Sender, into: Receiver) -> None:
    async for raw in ws:
        arrived = time.perf_counter()
        message = orjson.loads(raw)
        if message.get("type") != "readings":
            continue
        into.messages += 1
        for entry in message["assets"]:
            value = entry["latest"].get("power_kw")
            if value is None:
                continue
            tick = int(value["value"])
            sent = sender.sent_at.get(tick)
            if sent is not None:
                into.latencies_s.setdefault((entry["asset_id"], tick), arrived - sent)


async def open_client(base_url: str, token: str, assets: list[int]) -> ClientConnection:
    url = base_url.replace("http://", "ws://") + "/api/v1/live"
    ws = await connect(url, subprotocols=["bearer", token], max_size=None)  # type: ignore[list-item]
    ready = orjson.loads(await ws.recv())
    if ready.get("type") != "ready":
        raise RuntimeError(f"WebSocket not ready: {ready}")
    await ws.send(json.dumps({"type": "subscribe", "assets": assets, "events": ["readings"]}))
    while orjson.loads(await ws.recv()).get("type") != "subscribed":
        pass
    return ws


class HttpLoad:
    def __init__(self, server: Any, assets: list[int]) -> None:
        self.http = httpx.AsyncClient(
            base_url=server.base_url,
            headers={**server.headers, "Content-Type": "application/json"},
            timeout=60,
            limits=httpx.Limits(max_connections=HTTP_IN_FLIGHT),
        )
        self.assets = assets
        self.slots = asyncio.Semaphore(HTTP_IN_FLIGHT)

    async def send_tick(self, tick: int, sender: Sender) -> None:
        ts = now_ms()
        body = orjson.dumps(
            [{"asset": a, "metric": "power_kw", "ts": ts, "value": tick} for a in self.assets]
        )
        async with self.slots:
            sender.sent_at[tick] = time.perf_counter()
            try:
                response = await self.http.post("/api/v1/telemetry", content=body)
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
                sender.readings += len(self.assets)
            except Exception as exc:
                sender.errors += 1
                sender.first_error = sender.first_error or str(exc)

    async def close(self) -> None:
        await self.http.aclose()


class MqttLoad:
    def __init__(self, mqtt_url: str, prefix: str, site_id: int, assets: list[int]) -> None:
        import aiomqtt  # only for --via mqtt

        from gridpilot.core.mqtt import MqttEndpoint

        endpoint = MqttEndpoint.parse(mqtt_url)
        self.client = aiomqtt.Client(
            endpoint.hostname,
            endpoint.port,
            username=endpoint.username,
            password=endpoint.password,
            identifier=f"bench-live-{uuid.uuid4().hex[:8]}",
            max_inflight_messages=1000,
        )
        self.topics = [(a, f"{prefix}gridpilot/{site_id}/{a}/telemetry") for a in assets]

    async def __aenter__(self) -> MqttLoad:
        await self.client.__aenter__()
        return self

    async def send_tick(self, tick: int, sender: Sender) -> None:
        ts = now_ms()
        payload = orjson.dumps({"ts": ts, "values": {"power_kw": tick}})
        sender.sent_at[tick] = time.perf_counter()
        try:
            for _, topic in self.topics:
                await self.client.publish(topic, payload, qos=1)
            sender.readings += len(self.topics)
        except Exception as exc:
            sender.errors += 1
            sender.first_error = sender.first_error or str(exc)

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)


async def drive(load: Any, sender: Sender, rate: int, assets: int, duration_s: float) -> float:
    """Send ticks on schedule (never bursting to catch up); returns the elapsed seconds."""
    interval = assets / rate
    started = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    tick = 1
    while (next_at := started + (tick - 1) * interval) < started + duration_s:
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(load.send_tick(tick, sender))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        tick += 1
    if tasks:
        await asyncio.wait(tasks)
    return time.perf_counter() - started


async def warm_up(load: Any, sender: Sender, receivers: list[Receiver], assets: int) -> None:
    """Tick 0 until every client got it (the MQTT worker may still be subscribing)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await load.send_tick(0, sender)
        for _ in range(20):
            if all(any(t == 0 for _, t in r.latencies_s) for r in receivers):
                for receiver in receivers:
                    receiver.latencies_s.clear()
                    receiver.messages = 0
                sender.readings = 0
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("no reading reached the WebSocket clients within 60 s")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(server: Any, args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    assets = await asyncio.to_thread(create_site_and_assets, server, args.assets)
    site_id = httpx.get(
        f"{server.base_url}/api/v1/assets/{assets[0]}", headers=server.headers
    ).json()["site_id"]
    token = server.headers["Authorization"].removeprefix("Bearer ")
    sender = Sender()
    clients = [await open_client(server.base_url, token, assets) for _ in range(args.ws_clients)]
    receivers = [Receiver() for _ in clients]
    readers = [
        asyncio.create_task(receive(ws, sender, r))
        for ws, r in zip(clients, receivers, strict=True)
    ]
    if args.via == "mqtt":
        load: Any = await MqttLoad(args.mqtt_url, prefix, site_id, assets).__aenter__()
    else:
        load = HttpLoad(server, assets)
    try:
        await warm_up(load, sender, receivers, args.assets)
        elapsed = await drive(load, sender, args.rate, args.assets, args.duration)
        ticks = len(sender.sent_at) - 1
        expected = ticks * args.assets
        with contextlib.suppress(TimeoutError):  # stragglers
            async with asyncio.timeout(10):
                while any(len(r.latencies_s) < expected for r in receivers):
                    await asyncio.sleep(0.1)
    finally:
        await load.close()
        for task in readers:
            task.cancel()
        for ws in clients:
            await ws.close()
    report: dict[str, Any] = {
        "via": args.via,
        "database": "postgresql" if args.postgres else "sqlite",
        "bus": "redis" if args.redis_url else "in-process",
        "requested_readings_per_s": args.rate,
        "sent_readings_per_s": round(sender.readings / elapsed),
        "ticks": ticks,
        "assets": args.assets,
        "send_errors": sender.errors,
        "first_error": sender.first_error,
        "clients": [],
    }
    for receiver in receivers:
        latencies_ms = [s * 1000 for s in receiver.latencies_s.values()]
        client: dict[str, Any] = {
            "messages": receiver.messages,
            "values_received": len(latencies_ms),
            "conflated_or_missing": expected - len(latencies_ms),
        }
        if latencies_ms:
            client.update(
                p50_ms=round(statistics.median(latencies_ms), 1),
                p95_ms=round(percentile(latencies_ms, 0.95), 1),
                max_ms=round(max(latencies_ms), 1),
            )
        report["clients"].append(client)
    p95s = [c.get("p95_ms", float("inf")) for c in report["clients"]]
    report["target"] = f"p95 < {TARGET_P95_MS:.0f} ms at {TARGET_RATE:,} readings/s: " + (
        "met"
        if max(p95s) < TARGET_P95_MS and report["sent_readings_per_s"] >= 0.95 * TARGET_RATE
        else "not met"
        if args.rate >= TARGET_RATE
        else "not measured (rate below target)"
    )
    return report


async def run(args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}/"
    if args.redis_url:
        os.environ["GRIDPILOT_REDIS_URL"] = args.redis_url
        os.environ["GRIDPILOT_REDIS_CHANNEL_PREFIX"] = prefix.rstrip("/")
    if args.via == "mqtt":
        os.environ["GRIDPILOT_MQTT_URL"] = args.mqtt_url
        os.environ["GRIDPILOT_MQTT_TOPIC_PREFIX"] = prefix
        os.environ["GRIDPILOT_MQTT_CLIENT_ID"] = f"bench-ingest-{uuid.uuid4().hex[:8]}"
    else:
        os.environ.pop("GRIDPILOT_MQTT_URL", None)
    if args.postgres:
        pg = PgServer()
        async with fresh_pg_database(pg) as name:
            with gridpilot_server(pg.url(name)) as server:
                return await measure(server, args, prefix)
    with gridpilot_server(None) as server:
        return await measure(server, args, prefix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 readings/s for 3 s, 10 assets.")
    parser.add_argument("--rate", type=int, default=TARGET_RATE, help="Readings per second.")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of load.")
    parser.add_argument("--assets", type=int, default=100, help="Meters (one reading per tick).")
    parser.add_argument("--ws-clients", type=int, default=1, help="WebSocket clients.")
    parser.add_argument("--via", choices=["http", "mqtt"], default="http")
    parser.add_argument("--mqtt-url", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--postgres", action="store_true", help="A fresh PostgreSQL database.")
    parser.add_argument("--redis-url", default=None, help="Use the Redis event bus.")
    args = parser.parse_args()
    if args.quick:
        args.rate, args.duration, args.assets = 500, 3.0, 10
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
