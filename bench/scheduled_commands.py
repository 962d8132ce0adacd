"""A command scheduled to a group of 1,000 devices (issue #22): every device's command sent
within 5 s of the scheduled time, outcomes recorded for all.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/scheduled_commands.py [--devices 1000]

A real ``gridpilot serve`` (fresh PostgreSQL database, then the embedded SQLite default) with the
MQTT ingest worker and command link on the local Mosquitto (a topic prefix of its own).
``--devices`` batteries on 10 sites (``POST /api/v1/assets``), kept online by one reading each;
a dynamic device group of them (``kinds: [battery]``). The simulated devices are one MQTT client
subscribed to every device's commands topic that acknowledges each command at once
(``{base}/commands/ack``, ``succeeded``), as a device would.

Figures, against the scheduled time T (a one-off ``run_at`` 15 s ahead, a whole second):
- ``sent``: each command's ``sent_ms`` (the command link published it; the server's clock, same
  machine) - T: first, p50, p95, last (the target: last < 5 s);
- ``on MQTT``: each command's arrival at the devices - T;
- ``acks``: commands ``succeeded`` in the run's outcomes (``GET .../runs/{id}``) 30 s after T.
Baseline in the same run: the same command sent at once to the group by
``POST /api/v1/commands`` with ``group_id`` (request time as T): the plain bulk path.
No assertions; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from battery_fleet import battery_group, provision
from harness import PgServer, fresh_pg_database, gridpilot_server


class Devices:
    """Simulated devices: every command received (command id -> wall time), acked at once."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.arrived: dict[int, float] = {}
        self.ready = asyncio.Event()

    async def run(self) -> None:
        name = f"devs-{uuid.uuid4().hex[:8]}"
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=name) as c:
            await c.subscribe(f"{self.prefix}gridpilot/+/+/commands", qos=1)
            self.ready.set()
            async for message in c.messages:
                at = time.time()
                body = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                command_id = int(body["command_id"])
                self.arrived.setdefault(command_id, at)
                ack = {"command_id": command_id, "state": "succeeded"}
                await c.publish(f"{message.topic}/ack", json.dumps(ack), qos=1)

    async def wait_for(self, ids: set[int], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not ids <= self.arrived.keys():
            await asyncio.sleep(0.05)


def keep_online(http: httpx.Client, assets: list[int]) -> None:
    now = int(time.time() * 1000)
    readings = [{"asset": a, "metric": "power_kw", "ts": now, "value": 0.0} for a in assets]
    http.post("/api/v1/telemetry", json={"readings": readings}, timeout=120).raise_for_status()


def spread(label: str, delays_s: list[float], expected: int) -> None:
    if not delays_s:
        print(f"  {label:<10} none of {expected}")
        return
    vals = sorted(delays_s)
    p = lambda q: vals[min(len(vals) - 1, int(q * len(vals)))]  # noqa: E731
    print(f"  {label:<10} n={len(vals):>5}/{expected}  first {vals[0]:6.2f} s  p50 {p(0.5):6.2f} s"
          f"  p95 {p(0.95):6.2f} s  last {vals[-1]:6.2f} s")  # fmt: skip


async def bulk_baseline(http: httpx.Client, devices: Devices, group_id: int, n: int) -> None:
    t0 = time.time()
    sent = http.post("/api/v1/commands", json={"kind": "stop", "group_id": group_id}, timeout=300)
    answer_s = time.time() - t0
    if sent.status_code >= 300:  # printed, not raised: the scheduled path is measured anyway
        print(f"baseline: POST /api/v1/commands group_id answered {sent.status_code} after "
              f"{answer_s:.2f} s: {sent.text[:200]}")  # fmt: skip
        return
    ids = {c["id"] for c in sent.json()["commands"]}
    await devices.wait_for(ids, 60)
    print(f"baseline: POST /api/v1/commands group_id, {n} devices (answer {answer_s:.2f} s)")
    spread("on MQTT", [devices.arrived[i] - t0 for i in ids if i in devices.arrived], n)


async def scheduled(http: httpx.Client, devices: Devices, group_id: int, n: int) -> None:
    at = int(time.time()) + 15
    run_at = datetime.fromtimestamp(at, tz=UTC).isoformat()
    made = http.post("/api/v1/command-schedules", json={
        "name": "bench", "group_id": group_id, "kind": "stop", "run_at": run_at})  # fmt: skip
    made.raise_for_status()
    sid = made.json()["id"]
    await asyncio.sleep(at - time.time() + 30)  # the run, the sends and the acks
    runs = http.get(f"/api/v1/command-schedules/{sid}/runs").json()
    if not runs:
        print("scheduled: no run")
        return
    detail = http.get(f"/api/v1/command-schedules/{sid}/runs/{runs[0]['id']}").json()
    outcomes = detail["outcomes"]
    counts = f"queued {detail['queued']}, rejected {detail['rejected']}"
    print(f"scheduled: one-off to the group, {n} devices, run {detail['status']}, {counts}, "
          f"states {detail['states']}")  # fmt: skip
    spread("sent", [o["sent_ms"] / 1000 - at for o in outcomes if o["sent_ms"]], n)
    ids = {o["command_id"] for o in outcomes if o["command_id"]}
    spread("on MQTT", [devices.arrived[i] - at for i in ids if i in devices.arrived], n)
    acks = sum(1 for o in outcomes if o["state"] == "succeeded")
    print(f"  acks       {acks}/{n} succeeded in the run's outcomes 30 s after T")


async def measure(server, n: int, prefix: str) -> None:  # type: ignore[no-untyped-def]
    http = httpx.Client(base_url=server.base_url, headers=server.headers, timeout=60)
    clock = time.perf_counter()
    assets = provision(http, n)
    group_id = battery_group(http)
    print(f"provisioned {len(assets)} batteries in {time.perf_counter() - clock:.1f} s")
    devices = Devices(prefix)
    listener = asyncio.create_task(devices.run())
    await devices.ready.wait()
    keep_online(http, assets)
    await asyncio.sleep(2.0)  # the status tracker marks them online
    await bulk_baseline(http, devices, group_id, n)
    await scheduled(http, devices, group_id, n)
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
    http.close()


async def main_async(n: int, skip_sqlite: bool, skip_pg: bool) -> None:
    prefix = f"bench{uuid.uuid4().hex[:6]}/"
    os.environ["GRIDPILOT_MQTT_URL"] = "mqtt://127.0.0.1:1883"  # the server's env is ours
    os.environ["GRIDPILOT_MQTT_TOPIC_PREFIX"] = prefix
    if not skip_pg:
        pg = PgServer()
        async with fresh_pg_database(pg) as name:
            with gridpilot_server(pg.url(name)) as server:
                print(f"\n== PostgreSQL, {n} devices")
                await measure(server, n, prefix)
    if not skip_sqlite:
        with gridpilot_server(None) as server:
            print(f"\n== SQLite, {n} devices")
            await measure(server, n, prefix)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    asyncio.run(main_async(args.devices, args.skip_sqlite, args.skip_pg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
