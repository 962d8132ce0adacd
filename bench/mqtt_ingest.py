"""MQTT ingest benchmark (issue #4 item 8).

    .venv/bin/python bench/mqtt_ingest.py            # full run (the lead runs this)
    .venv/bin/python bench/mqtt_ingest.py --quick    # small counts, a minute or so

In one run, against a fresh PostgreSQL database (127.0.0.1:5432, user postgres; created and
dropped here), a private Mosquitto started with the shipped ``deploy/mosquitto/mosquitto.conf``
(free port, temporary persistence, anonymous), a real ``gridpilot serve`` (for the API) and
ONE ``gridpilot ingest`` worker process, it measures

(a) the broker-only ceiling: the paho publisher to a bare paho subscriber (both processes of
    ``bench/mqtt_clients.py``; QoS 1, a window of the broker's Receive Maximum), single-reading
    messages; messages/s from the first publish to the last message received;
(b) sustained single-reading ingest, publisher and worker at once: the publisher offers a fixed
    rate (``--rates``, 15,000 and 20,000 messages/s) for ``--seconds``; the stored count is polled
    every 100 ms. The worker keeps up when the backlog (acknowledged by the broker, not yet
    stored) stays bounded and everything is stored shortly after the publisher stops;
(c) single-reading messages as fast as the publisher goes (the earlier runs' figure);
(d) draining a backlog: the worker is stopped (its persistent session stays on the broker),
    ``--backlog`` single-reading messages are published into the session, the worker is started
    again; the drain rate is taken between 10% and 90% stored (start-up excluded) and from the
    process start; the publisher does not compete for the CPU meanwhile;
(e) 100-reading messages: readings/s, as fast as the publisher goes;
(f) end-to-end latency p50/p95: a probe message is published, then
    ``GET /api/v1/assets/{id}/latest?metric=power_kw`` is polled (every 2 ms) until it shows the
    probe's value; under a background load of ``--latency-load`` readings/s.

CPU per message is given for each process (user+system seconds from /proc over the measured
window); the publisher, the broker, the worker, the server and PostgreSQL share the machine.
Prints a table; no assertions on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

console = Console(stderr=True, width=int(os.environ.get("COLUMNS", "250")))
MOSQUITTO = "/usr/sbin/mosquitto"
SHIPPED_CONF = Path(__file__).parents[1] / "deploy" / "mosquitto" / "mosquitto.conf"
CLIENTS = Path(__file__).with_name("mqtt_clients.py")
SAMPLE_EVERY_S = 0.1


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
    """A threaded paho client for the light loads (latency probes, background load)."""
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{uuid.uuid4().hex[:8]}",
        protocol=paho.MQTTv5,
    )
    client.max_inflight_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def broker_pid(workdir: Path) -> int | None:
    """The private Mosquitto's pid (its command line names the config in ``workdir``)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if str(workdir / "mosquitto.conf") in cmdline.read_bytes().decode(errors="replace"):
                return int(cmdline.parent.name)
    return None


def client_process(role: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CLIENTS), role, json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )


def client_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    lines = [line for line in process.stdout.read().splitlines() if line.startswith("{")]
    if process.wait() != 0 or not lines:
        raise RuntimeError(f"bench/mqtt_clients.py failed (exit {process.returncode})")
    return dict(json.loads(lines[-1]))


@dataclass
class Cpu:
    """CPU seconds of the processes involved, taken at one moment."""

    worker: float
    broker: float
    postgres: float
    machine: float

    @classmethod
    def now(cls, worker: int | None, broker: int | None, database: str) -> Cpu:
        return cls(
            cpu_seconds([worker] if worker else []),
            cpu_seconds([broker] if broker else []),
            cpu_seconds(database_backend_pids(database)),
            machine_busy_seconds(),
        )

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.worker - other.worker,
            self.broker - other.broker,
            self.postgres - other.postgres,
            self.machine - other.machine,
        )


def us_per(seconds: float, count: int) -> str:
    return f"{seconds / count * 1e6:.1f}" if count else "-"


@dataclass
class Sample:
    at: float  # time.monotonic
    stored: int
    cpu: Cpu


@dataclass
class Sampler:
    """Polls the stored count of the bench assets (and the CPU) every ``SAMPLE_EVERY_S``."""

    database_url: str
    database: str
    assets: list[int]
    broker: int | None
    worker: Callable[[], int | None]
    samples: list[Sample] = field(default_factory=list)
    base: int = 0

    async def sample(self, conn: asyncpg.Connection) -> Sample:
        stored = await conn.fetchval(
            "SELECT count(*) FROM readings WHERE asset_id = ANY($1::int[])", self.assets
        )
        cpu = Cpu.now(self.worker(), self.broker, self.database)
        point = Sample(time.monotonic(), int(stored) - self.base, cpu)
        self.samples.append(point)
        return point

    async def until(self, expected: int, timeout_s: float, stop: asyncio.Event | None = None):
        """Sample until ``expected`` readings are stored (or ``stop``); the last sample."""
        conn = await asyncpg.connect(self.database_url)
        try:
            if not self.samples:
                self.base = int(
                    await conn.fetchval(
                        "SELECT count(*) FROM readings WHERE asset_id = ANY($1::int[])",
                        self.assets,
                    )
                )
            deadline = time.monotonic() + timeout_s
            while True:
                point = await self.sample(conn)
                if point.stored >= expected or time.monotonic() > deadline:
                    return point
                if stop is not None and stop.is_set():
                    return point
                await asyncio.sleep(SAMPLE_EVERY_S)
        finally:
            await conn.close()

    def first_reaching(self, count: float) -> Sample:
        return next(s for s in self.samples if s.stored >= count)

    def at(self, moment: float) -> Sample:
        """The last sample taken at or before ``moment`` (the first one if none)."""
        before = [s for s in self.samples if s.at <= moment]
        return before[-1] if before else self.samples[0]


def acked_at(progress: list[list[float]], moment: float) -> float:
    """Messages the broker had acknowledged by ``moment`` (publisher progress, interpolated)."""
    previous = (progress[0][0], 0.0)
    for at, acked in progress:
        if at >= moment:
            span = at - previous[0]
            share = (moment - previous[0]) / span if span > 0 else 1.0
            return previous[1] + (acked - previous[1]) * max(0.0, min(1.0, share))
        previous = (at, acked)
    return previous[1]


class Worker:
    """One ``gridpilot ingest`` process with a fixed client id (its session survives restarts)."""

    def __init__(self, server: ServerProcess, port: int, prefix: str, logdir: Path) -> None:
        self.env = server.env | {
            "GRIDPILOT_MQTT_URL": f"mqtt://127.0.0.1:{port}",
            "GRIDPILOT_MQTT_TOPIC_PREFIX": prefix,
            "GRIDPILOT_LOG_LEVEL": "WARNING",
        }
        self.client_id = f"bench-{uuid.uuid4().hex[:6]}"
        self.log_path = logdir / "ingest.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, *, wait: bool = True) -> None:
        with self.log_path.open("ab") as log:
            offset = log.tell()
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [*CLI, "ingest", "--client-id", self.client_id],
                env=self.env, stdout=log, stderr=log,
            )  # fmt: skip
        if wait:
            self.wait_subscribed(offset)

    def wait_subscribed(self, offset: int = 0) -> None:
        deadline = time.monotonic() + 60
        while "subscribed as" not in self.log_path.read_text(errors="replace")[offset:]:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("worker died:\n" + self.log_path.read_text()[-2000:])
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "worker did not subscribe:\n" + self.log_path.read_text()[-2000:]
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: finish the batches in progress; the session stays on the broker."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@dataclass
class Bench:
    args: argparse.Namespace
    add: Callable[[str, str, str], None]
    port: int
    broker: int | None
    workdir: Path
    prefix: str = ""
    site: int = 0
    assets: list[int] = field(default_factory=list)
    database: str = ""
    database_url: str = ""
    worker: Worker | None = None
    base_ms: int = field(default_factory=lambda: int(time.time() * 1000) - 3_600_000)

    def telemetry_spec(self, count: int, per_message: int, rate: float = 0) -> dict[str, Any]:
        spec = {
            "port": self.port, "count": count, "rate": rate, "window": self.args.window,
            "prefix": self.prefix, "site": self.site, "assets": self.assets,
            "per_message": per_message, "base_ms": self.base_ms,
        }  # fmt: skip
        # every run gets timestamps of its own (readings are upserts: no overwriting)
        self.base_ms += (count // len(self.assets) + 1) * per_message + 1000
        return spec

    def sampler(self) -> Sampler:
        assert self.worker is not None
        worker = self.worker
        return Sampler(
            self.database_url, self.database, self.assets, self.broker, lambda: worker.pid
        )

    async def publish_and_store(
        self, count: int, per_message: int, rate: float = 0
    ) -> tuple[dict[str, Any], Sampler, Sample]:
        """Publish with the worker running; sample until all is stored."""
        sampler = self.sampler()
        spec = self.telemetry_spec(count, per_message, rate)
        await sampler.until(0, 10)  # the base count and a first sample
        publisher = client_process("publish", spec)
        last = await sampler.until(count * per_message, self.args.timeout)
        published = await asyncio.to_thread(client_result, publisher)
        return published, sampler, last

    # --- (a) ------------------------------------------------------------------------------
    async def ceiling(self) -> None:
        count = self.args.ceiling
        console.print(f"[cyan]broker-only ceiling[/]: {count:,} messages")
        topic = f"ceiling{uuid.uuid4().hex[:6]}/gridpilot/1/1/telemetry"
        spec = {"port": self.port, "topic": topic, "count": count, "window": self.args.window}
        subscriber = client_process("subscribe", spec)
        assert subscriber.stdout is not None
        if subscriber.stdout.readline().strip() != "ready":
            raise RuntimeError("the bare subscriber did not start")
        before = Cpu.now(None, self.broker, "-")
        published = await asyncio.to_thread(client_result, client_process("publish", spec))
        received = await asyncio.to_thread(client_result, subscriber)
        used = Cpu.now(None, self.broker, "-") - before
        seconds = received["last"] - published["started"]
        self.add(
            "(a) broker-only ceiling",
            f"{received['received'] / seconds:,.0f} messages/s",
            f"{received['received']:,} of {count:,} single-reading QoS 1 messages in "
            f"{seconds:.1f} s, "
            f"paho -> Mosquitto -> bare paho subscriber; CPU per message: publisher "
            f"{us_per(published['cpu_s'], count)} us, broker {us_per(used.broker, count)} us, "
            f"subscriber {us_per(received['cpu_s'], count)} us; machine busy "
            f"{used.machine / seconds:.2f} of {os.cpu_count()} cores",
        )

    # --- (b) ------------------------------------------------------------------------------
    async def sustained(self, rate: int) -> None:
        seconds = self.args.seconds
        count = int(rate * seconds)
        console.print(f"[cyan]sustained[/]: {rate:,} messages/s offered for {seconds} s")
        spy = None
        if self.args.profile_worker:
            assert self.worker is not None
            spy = subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking",
                 "-o", self.args.profile_worker, "-p", str(self.worker.pid),
                 "-d", str(int(seconds))]
                + (["--format", "raw"] if self.args.profile_worker.endswith(".txt") else []),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        published, sampler, last = await self.publish_and_store(count, 1, rate)
        if spy is not None:
            spy.wait()
        pub_start, pub_end = published["started"], published["finished"]
        progress = published["progress"]
        backlogs = [acked_at(progress, s.at) - s.stored for s in sampler.samples if s.at <= pub_end]
        quarter = max(1, len(backlogs) // 4)
        start_sample, end_sample = sampler.at(pub_start), sampler.at(pub_end)
        during = end_sample.stored - start_sample.stored
        window = end_sample.at - start_sample.at
        used = last.cpu - start_sample.cpu
        drain_s = last.at - pub_end
        kept_up = last.stored >= count and drain_s <= 1.0 + SAMPLE_EVERY_S
        self.add(
            f"(b) sustained {rate:,}/s: publisher and worker at once",
            f"{during / window:,.0f} messages/s stored while "
            f"{count / (pub_end - pub_start):,.0f}/s were published"
            + (" (kept up)" if kept_up else " (fell behind)"),
            f"offered {rate:,}/s for {seconds} s ({count:,} messages); backlog (acknowledged by "
            f"the broker, not yet stored) max {max(backlogs, default=0):,.0f}, mean first/last "
            f"quarter {sum(backlogs[:quarter]) / quarter:,.0f} / "
            f"{sum(backlogs[-quarter:]) / quarter:,.0f}; all {last.stored:,} stored "
            f"{drain_s:.2f} s after the last PUBACK; CPU per message: worker "
            f"{us_per(used.worker, count)} us, publisher {us_per(published['cpu_s'], count)} us, "
            f"broker {us_per(used.broker, count)} us, PostgreSQL {us_per(used.postgres, count)} "
            f"us; machine busy {used.machine / (last.at - start_sample.at):.2f} of "
            f"{os.cpu_count()} cores",
        )

    # --- (c), (e) -----------------------------------------------------------------------------
    async def flat_out(self, label: str, count: int, per_message: int) -> None:
        console.print(f"[cyan]{label}[/]: {count:,} messages")
        published, sampler, last = await self.publish_and_store(count, per_message)
        start = sampler.at(published["started"])
        seconds = last.at - published["started"]
        readings = count * per_message
        used = last.cpu - start.cpu
        rate = (
            f"{count / seconds:,.0f} messages/s"
            if per_message == 1
            else f"{last.stored / seconds:,.0f} readings/s"
        )
        self.add(
            label,
            rate,
            f"{last.stored:,} readings stored of {readings:,} in {seconds:.1f} s "
            f"({count / seconds:,.0f} messages/s, {last.stored / seconds:,.0f} readings/s); "
            f"publishing took {published['finished'] - published['started']:.1f} s; CPU per "
            f"message: worker {us_per(used.worker, count)} us, publisher "
            f"{us_per(published['cpu_s'], count)} us, broker {us_per(used.broker, count)} us, "
            f"PostgreSQL {us_per(used.postgres, count)} us; machine busy "
            f"{used.machine / seconds:.2f} of {os.cpu_count()} cores",
        )

    # --- (d) ------------------------------------------------------------------------------
    async def drain(self) -> None:
        assert self.worker is not None
        count = self.args.backlog
        console.print(f"[cyan]backlog drain[/]: {count:,} messages queued for a stopped worker")
        self.worker.stop()
        spec = self.telemetry_spec(count, 1)
        sampler = self.sampler()
        await sampler.until(0, 10)
        published = await asyncio.to_thread(client_result, client_process("publish", spec))
        publish_s = published["finished"] - published["started"]
        before = await sampler.until(0, 10)
        if before.stored:
            raise RuntimeError("readings were stored while the worker was stopped")
        self.worker.start(wait=False)
        started = self.worker.started_at
        last = await sampler.until(count, self.args.timeout)
        await asyncio.to_thread(self.worker.wait_subscribed)
        low, high = sampler.first_reaching(count * 0.1), sampler.first_reaching(count * 0.9)
        steady = high.stored - low.stored
        used = high.cpu - low.cpu
        self.add(
            "(d) draining a backlog (worker alone)",
            f"{steady / (high.at - low.at):,.0f} messages/s",
            f"{count:,} single-reading messages published into the stopped worker's session "
            f"({count / publish_s:,.0f}/s, publisher {us_per(published['cpu_s'], count)} us "
            f"CPU per message), then the worker started: 10%->90% stored in "
            f"{high.at - low.at:.2f} s; {count / (last.at - started):,.0f} messages/s from the "
            f"process start (Python start-up included); CPU per message (10%->90%): worker "
            f"{us_per(used.worker, steady)} us, broker {us_per(used.broker, steady)} us, "
            f"PostgreSQL {us_per(used.postgres, steady)} us; machine busy "
            f"{used.machine / (high.at - low.at):.2f} of {os.cpu_count()} cores",
        )


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


async def latency(bench: Bench, server: ServerProcess) -> None:
    args = bench.args
    stop = threading.Event()
    loader = None
    if args.latency_load:
        loader = threading.Thread(
            target=background_load,
            args=(bench.port, bench.prefix, bench.site, bench.assets[-1], args.latency_load, stop),
            daemon=True,
        )
        loader.start()
    try:
        latencies = await latency_probes(
            server, bench.port, bench.prefix, bench.site, bench.assets[0], args.probes
        )
    finally:
        stop.set()
        if loader is not None:
            loader.join(10)
    bench.add(
        "(f) publish -> visible in the API, p50 / p95",
        f"{percentile(latencies, 0.5) * 1000:.0f} / {percentile(latencies, 0.95) * 1000:.0f} ms",
        f"{len(latencies)} probes, API polled every 2 ms; background load "
        f"{args.latency_load:,} readings/s",
    )


async def run(args: argparse.Namespace) -> Table:
    rows: list[tuple[str, str, str]] = []

    def add(what: str, value: str, note: str = "") -> None:
        rows.append((what, value, note))
        console.print(f"  [bold]{what}[/]: {value} [dim]{note}[/]")

    for key in ("GRIDPILOT_MQTT_URL", "GRIDPILOT_REDIS_URL"):
        os.environ.pop(key, None)  # the API server runs without an in-process worker
    pg = PgServer(args.pg_host, args.pg_port, args.pg_user)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="gridpilot-mqtt-bench-") as tmp:
        workdir = Path(tmp)
        with private_broker(workdir) as port:
            bench = Bench(args, add, port, broker_pid(workdir), workdir)
            await bench.ceiling()
            async with fresh_pg_database(pg) as name:
                bench.database, bench.database_url = name, pg.url(name)
                with gridpilot_server(bench.database_url) as server:
                    bench.assets = create_site_and_assets(server, args.assets)
                    with httpx.Client(base_url=server.base_url, headers=server.headers) as http:
                        bench.site = http.get(f"/api/v1/assets/{bench.assets[0]}").json()["site_id"]
                    bench.prefix = f"b{uuid.uuid4().hex[:6]}/"
                    bench.worker = Worker(server, port, bench.prefix, workdir)
                    bench.worker.start()
                    try:
                        for rate in args.rates:
                            await bench.sustained(rate)
                        await bench.flat_out(
                            "(c) single-reading messages, publisher flat out", args.single, 1
                        )
                        await bench.drain()
                        await bench.flat_out(
                            "(e) 100-reading messages, publisher flat out", args.batched, 100
                        )
                        await latency(bench, server)
                    finally:
                        bench.worker.stop()
    title = "MQTT ingest (one worker, PostgreSQL)" + (" --quick" if args.quick else "")
    table = Table(title=f"{title}; 1-min load at the start {load:.2f}")
    for column in ("measurement", "value", "notes"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in rows:
        table.add_row(*row)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small counts (about a minute).")
    parser.add_argument("--ceiling", type=int, default=200_000, help="Messages for (a).")
    parser.add_argument(
        "--rates", default="15000,20000", help="Offered messages/s in (b), comma-separated."
    )
    parser.add_argument("--seconds", type=float, default=20, help="Duration of (b).")
    parser.add_argument("--single", type=int, default=100_000, help="Messages for (c).")
    parser.add_argument("--backlog", type=int, default=300_000, help="Messages for (d).")
    parser.add_argument("--batched", type=int, default=5_000, help="100-reading messages (e).")
    parser.add_argument("--probes", type=int, default=200, help="Latency probes (f).")
    parser.add_argument("--latency-load", type=int, default=5_000, help="Readings/s during (f).")
    parser.add_argument("--window", type=int, default=1000, help="Publisher's in-flight cap.")
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument(
        "--profile-worker",
        metavar="PATH",
        help="py-spy profile of the worker during (b) (.svg, or .txt for collapsed stacks).",
    )
    parser.add_argument("--timeout", type=float, default=600, help="Seconds to wait per step.")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    args = parser.parse_args()
    args.rates = [int(rate) for rate in args.rates.split(",")]
    if args.quick:
        args.ceiling, args.single, args.batched, args.backlog = 20_000, 20_000, 200, 30_000
        args.seconds, args.probes, args.latency_load, args.assets = 3, 30, 1_000, 10
    if shutil.which(MOSQUITTO) is None:
        raise SystemExit(f"{MOSQUITTO} is needed")
    console.print(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
