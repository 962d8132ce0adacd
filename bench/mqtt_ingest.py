"""MQTT ingest benchmark (issue #4 item 8).

    .venv/bin/python bench/mqtt_ingest.py            # full run (the lead runs this)
    .venv/bin/python bench/mqtt_ingest.py --quick    # small counts, a minute or so

In one run, against a fresh PostgreSQL database (127.0.0.1:5432, user postgres; created and
dropped here), a private Mosquitto started with the shipped ``deploy/mosquitto/mosquitto.conf``
(free port, temporary persistence, anonymous), a real ``gridpilot serve`` (for the API) and
ONE ``gridpilot ingest`` worker process, it measures

(a) the broker-only ceiling: a paho publisher (QoS 1, up to 1,000 in flight) to a bare paho
    subscriber (QoS 1), single-reading messages; messages/s from the first publish to the last
    message received;
(b) single-reading messages through the worker into PostgreSQL: messages/s from the first
    publish until the last reading is committed (polled in the database);
(c) 100-reading messages likewise: readings/s;
(d) end-to-end latency p50/p95: a probe message is published, then
    ``GET /api/v1/assets/{id}/latest?metric=power_kw`` is polled (every 2 ms) until it shows the
    probe's value; optionally under a background load of ``--latency-load`` readings/s.

Prints a table; no assertions on timings. The publisher, the broker, the worker, the server and
PostgreSQL share the machine; the CPU each used is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import paho.mqtt.client as paho
from rich.console import Console
from rich.table import Table

from harness import (
    CLI,
    PgServer,
    ServerProcess,
    cpu_seconds,
    create_site_and_assets,
    database_backend_pids,
    fresh_pg_database,
    gridpilot_server,
    machine_busy_seconds,
)

console = Console(stderr=True)
MOSQUITTO = "/usr/sbin/mosquitto"
SHIPPED_CONF = Path(__file__).parents[1] / "deploy" / "mosquitto" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def private_broker(workdir: Path) -> Iterator[int]:
    """Mosquitto with the shipped config on a free port (anonymous, temporary persistence)."""
    port = free_port()
    lines = []
    for line in SHIPPED_CONF.read_text().splitlines():
        key = line.split(" ", 1)[0]
        line = {
            "listener": f"listener {port} 127.0.0.1",
            "persistence_location": f"persistence_location {workdir}/",
            "password_file": "",
            "acl_file": "",
            "allow_anonymous": "allow_anonymous true",
            "connection_messages": "connection_messages false",
        }.get(key, line)
        lines.append(line)
    if os.geteuid() == 0:
        lines.append("user root")
    conf = workdir / "mosquitto.conf"
    conf.write_text("\n".join(lines) + "\n")
    log = (workdir / "mosquitto.log").open("wb")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def mqtt_client(port: int, name: str) -> paho.Client:
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


#: Unacknowledged publishes at most (paho's message ids wrap at 65535).
MAX_OUTSTANDING = 30_000


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> tuple[float, float]:
    """Publish at QoS 1 and wait for every PUBACK; (start, end) in ``time.perf_counter``."""
    client = mqtt_client(port, "bench-pub")
    try:
        started = time.perf_counter()
        infos = []
        for topic, payload in messages:
            if len(infos) >= MAX_OUTSTANDING:  # message ids are 16 bit: never reuse a live one
                infos[len(infos) - MAX_OUTSTANDING].wait_for_publish(120)
            infos.append(client.publish(topic, payload, qos=1))
        for info in infos:
            info.wait_for_publish(120)
        return started, time.perf_counter()
    finally:
        client.loop_stop()
        client.disconnect()


def telemetry_messages(
    prefix: str, site: int, assets: list[int], messages: int, per_message: int, base_ms: int
) -> list[tuple[str, bytes]]:
    """``messages`` payloads of ``per_message`` power_kw readings, spread over ``assets``."""
    out = []
    for n in range(messages):
        asset = assets[n % len(assets)]
        first = (n // len(assets)) * per_message
        readings = [
            {"ts": base_ms + first + i, "values": {"power_kw": float(i)}}
            for i in range(per_message)
        ]
        body = readings[0] if per_message == 1 else readings
        out.append((f"{prefix}gridpilot/{site}/{asset}/telemetry", orjson.dumps(body)))
    return out


@dataclass
class Rate:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def broker_ceiling(port: int, count: int) -> Rate:
    """(a): publisher -> Mosquitto -> bare subscriber, single-reading QoS 1 messages."""
    topic = f"ceiling{uuid.uuid4().hex[:6]}/gridpilot/1/1/telemetry"
    received = [0]
    last = [0.0]
    done = threading.Event()

    def on_message(client, userdata, message) -> None:
        received[0] += 1
        if received[0] >= count:
            last[0] = time.perf_counter()
            done.set()

    subscriber = mqtt_client(port, "bench-sub")
    subscriber.on_message = on_message
    subscriber.subscribe(topic, qos=1)
    time.sleep(0.5)
    payload = orjson.dumps({"ts": 1_700_000_000_000, "values": {"power_kw": 1.0}})
    try:
        started, _ = publish_all(port, [(topic, payload)] * count)
        done.wait(120)
        return Rate(received[0], (last[0] or time.perf_counter()) - started)
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()


async def stored_count(database_url: str, assets: list[int]) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM readings WHERE asset_id = ANY($1::int[])", assets
            )
        )
    finally:
        await conn.close()


async def through_worker(
    port: int, database_url: str, messages: list[tuple[str, bytes]], assets: list[int],
    expected: int,
) -> tuple[Rate, float]:  # fmt: skip
    """(b)/(c): publish, then poll until ``expected`` readings of ``assets`` are stored."""
    before = await stored_count(database_url, assets)
    publishing = asyncio.create_task(asyncio.to_thread(publish_all, port, messages))
    deadline = time.monotonic() + 600
    while True:
        stored = await stored_count(database_url, assets) - before
        if stored >= expected or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    end = time.perf_counter()
    started, published = await publishing
    return Rate(stored, end - started), published - started


async def latency_probes(
    server: ServerProcess, port: int, prefix: str, site: int, asset: int, probes: int
) -> list[float]:
    """(d): seconds from publishing a probe until the API shows it, one probe at a time."""
    client = mqtt_client(port, "bench-probe")
    latencies = []
    url = f"/api/v1/assets/{asset}/latest"
    try:
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=server.headers, timeout=30
        ) as http:
            for n in range(probes):
                value = float(n + 1)
                body = orjson.dumps({"ts": int(time.time() * 1000), "values": {"power_kw": value}})
                started = time.perf_counter()
                client.publish(f"{prefix}gridpilot/{site}/{asset}/telemetry", body, qos=1)
                while True:
                    answer = (await http.get(url, params={"metric": "power_kw"})).json()
                    if answer.get("power_kw", {}).get("value") == value:
                        break
                    if time.perf_counter() - started > 30:
                        raise RuntimeError(f"probe {n} not visible after 30 s")
                    await asyncio.sleep(0.002)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.02)
    finally:
        client.loop_stop()
        client.disconnect()
    return latencies


def background_load(
    port: int, prefix: str, site: int, asset: int, per_s: int, stop: threading.Event
) -> None:
    """Publish ``per_s`` readings/s (10 messages/s of per_s/10 readings) until ``stop``."""
    client = mqtt_client(port, "bench-load")
    per_message = max(1, per_s // 10)
    base = int(time.time() * 1000) - 3_000_000
    n = 0
    try:
        while not stop.is_set():
            body = [
                {"ts": base + n * per_message + i, "values": {"power_kw": 1.0}}
                for i in range(per_message)
            ]
            client.publish(f"{prefix}gridpilot/{site}/{asset}/telemetry", orjson.dumps(body), 1)
            n += 1
            stop.wait(0.1)
    finally:
        client.loop_stop()
        client.disconnect()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


@contextlib.contextmanager
def ingest_worker(server: ServerProcess, port: int, prefix: str, logdir: Path) -> Iterator[int]:
    env = server.env | {
        "GRIDPILOT_MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "GRIDPILOT_MQTT_TOPIC_PREFIX": prefix,
        "GRIDPILOT_LOG_LEVEL": "WARNING",
    }
    log_path = logdir / "ingest.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "ingest", "--client-id", f"bench-{uuid.uuid4().hex[:6]}"],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "subscribed as" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("worker did not start:\n" + log_path.read_text()[-2000:])
            time.sleep(0.05)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


async def run(args: argparse.Namespace) -> Table:
    rows: list[tuple[str, str, str]] = []

    def add(what: str, value: str, note: str = "") -> None:
        rows.append((what, value, note))
        console.print(f"  [bold]{what}[/]: {value} [dim]{note}[/]")

    for key in ("GRIDPILOT_MQTT_URL", "GRIDPILOT_REDIS_URL"):
        os.environ.pop(key, None)  # the API server runs without an in-process worker
    pg = PgServer(args.pg_host, args.pg_port, args.pg_user)
    with tempfile.TemporaryDirectory(prefix="gridpilot-mqtt-bench-") as tmp:
        workdir = Path(tmp)
        with private_broker(workdir) as port:
            console.print(f"[cyan]broker-only ceiling[/]: {args.ceiling:,} messages")
            ceiling = await asyncio.to_thread(broker_ceiling, port, args.ceiling)
            add(
                "broker-only ceiling",
                f"{ceiling.per_second:,.0f} messages/s",
                f"{ceiling.count:,} single-reading QoS 1 messages, paho -> Mosquitto -> paho",
            )
            async with fresh_pg_database(pg) as name:
                database_url = pg.url(name)
                with gridpilot_server(database_url) as server:
                    assets = create_site_and_assets(server, args.assets)
                    with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
                        site = http.get(f"/api/v1/assets/{assets[0]}").json()["site_id"]
                    prefix = f"b{uuid.uuid4().hex[:6]}/"
                    with ingest_worker(server, port, prefix, workdir) as worker_pid:
                        await measure(args, add, server, port, prefix, site, assets,
                                      database_url, name, worker_pid)  # fmt: skip
    table = Table(title="MQTT ingest (one worker, PostgreSQL)" + (" --quick" if args.quick else ""))
    for column in ("measurement", "value", "notes"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in rows:
        table.add_row(*row)
    return table


async def measure(args, add, server, port, prefix, site, assets, database_url, name, worker_pid):
    base_ms = int(time.time() * 1000) - 3_600_000
    pids = [worker_pid, *server.server_pids()]
    for label, count, per_message, offset in (
        ("single-reading messages", args.single, 1, 0),
        ("100-reading messages", args.batched, 100, 1_000_000),
    ):
        messages = telemetry_messages(prefix, site, assets, count, per_message, base_ms + offset)
        console.print(f"[cyan]{label}[/]: {count:,} messages")
        cpu_before = (cpu_seconds([worker_pid]), cpu_seconds(server.server_pids()),
                      cpu_seconds(database_backend_pids(name)), machine_busy_seconds())  # fmt: skip
        rate, publish_s = await through_worker(
            port, database_url, messages, assets, count * per_message
        )
        worker_cpu = cpu_seconds([worker_pid]) - cpu_before[0]
        busy = machine_busy_seconds() - cpu_before[3]
        add(f"{label} into PostgreSQL",
            f"{count / rate.seconds:,.0f} messages/s" if per_message == 1
            else f"{rate.per_second:,.0f} readings/s",
            f"{rate.count:,} readings stored of {count * per_message:,} in {rate.seconds:.1f} s "
            f"({count / rate.seconds:,.0f} messages/s, {rate.per_second:,.0f} readings/s); "
            f"publishing took {publish_s:.1f} s; worker CPU {worker_cpu:.1f} s, "
            f"machine busy {busy / rate.seconds:.2f} of {os.cpu_count()} cores")  # fmt: skip
    stop = threading.Event()
    loader = None
    if args.latency_load:
        loader = threading.Thread(
            target=background_load,
            args=(port, prefix, site, assets[-1], args.latency_load, stop),
            daemon=True,
        )
        loader.start()
    try:
        latencies = await latency_probes(server, port, prefix, site, assets[0], args.probes)
    finally:
        stop.set()
        if loader is not None:
            loader.join(10)
    add("publish -> visible in the API, p50 / p95",
        f"{percentile(latencies, 0.5) * 1000:.0f} / {percentile(latencies, 0.95) * 1000:.0f} ms",
        f"{len(latencies)} probes, API polled every 2 ms; background load "
        f"{args.latency_load:,} readings/s")  # fmt: skip
    del pids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small counts (about a minute).")
    parser.add_argument("--ceiling", type=int, default=100_000, help="Messages for (a).")
    parser.add_argument("--single", type=int, default=100_000, help="Messages for (b).")
    parser.add_argument("--batched", type=int, default=5_000, help="100-reading messages (c).")
    parser.add_argument("--probes", type=int, default=200, help="Latency probes (d).")
    parser.add_argument("--latency-load", type=int, default=5_000, help="Readings/s during (d).")
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    args = parser.parse_args()
    if args.quick:
        args.ceiling, args.single, args.batched = 5_000, 5_000, 200
        args.probes, args.latency_load, args.assets = 30, 1_000, 10
    if shutil.which(MOSQUITTO) is None:
        raise SystemExit(f"{MOSQUITTO} is needed")
    console.print(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
