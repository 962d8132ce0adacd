"""``POST /api/v1/commands`` to 1,000 devices (issue #22 item 3): answer time, SQL statements
per request, and what a concurrent telemetry load does to it.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/bulk_commands.py [--devices 1000]

A real ``gridpilot serve`` (a fresh PostgreSQL database, then the embedded SQLite default), no
MQTT (the commands stay queued: only the route is measured), no per-device rate limit.
``--devices`` batteries on 10 sites and a dynamic device group of them (``kinds: [battery]``).
Three cases, ``--runs`` (5) requests each, every request with a new idempotency key:

- ``group``: ``{"kind": "stop", "group_id": ...}`` on a quiet server;
- ``asset_ids``: the same devices listed by id;
- ``group, loaded``: the group request while two clients post telemetry (50 readings of the
  same devices per request, one after the other, as fast as the server answers).

Per case: the answer time (p50, max), the HTTP statuses, and the SQL statements the server ran
per request (``gridpilot_db_query_seconds`` counts from ``/metrics``; in the loaded case they
include the telemetry requests', so only the quiet cases show them). The figure of the code
before the change: run the same file with ``PYTHONPATH`` on an older checkout's ``src`` (the
server is started with this interpreter and environment); ``--label`` names the run.
No assertions; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from battery_fleet import battery_group, provision
from harness import PgServer, fresh_pg_database, gridpilot_server

_COUNT = re.compile(r'^gridpilot_db_query_seconds_count\{statement="(\w+)"\} ([0-9.e+]+)$', re.M)


async def statements(http: httpx.AsyncClient) -> Counter[str]:
    text = (await http.get("/metrics")).text
    return Counter({kind: int(float(n)) for kind, n in _COUNT.findall(text)})


async def one(http: httpx.AsyncClient, body: dict[str, object]) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    answer = await http.post("/api/v1/commands", json={**body, "idempotency_key": uuid.uuid4().hex})
    return time.perf_counter() - t0, answer.status_code, answer.text[:160]


async def telemetry_load(http: httpx.AsyncClient, assets: list[int], stop: asyncio.Event) -> int:
    sent, n = 0, 0
    while not stop.is_set():
        now = int(time.time() * 1000)
        chunk = [assets[(n * 50 + i) % len(assets)] for i in range(50)]
        readings = [{"asset": a, "metric": "power_kw", "ts": now, "value": 1.0} for a in chunk]
        answer = await http.post("/api/v1/telemetry", json={"readings": readings})
        sent += answer.status_code == 200
        n += 1
    return sent


def report(label: str, case: str, results: list[tuple[float, int, str]], per_req: str) -> None:
    times = sorted(r[0] for r in results)
    codes = Counter(r[1] for r in results)
    worst = next((r[2] for r in results if r[1] >= 500), "")
    p50_ms, max_ms = times[len(times) // 2] * 1000, times[-1] * 1000
    statuses = dict(sorted(codes.items()))
    print(f"  {label:<8} {case:<14} p50 {p50_ms:7.0f} ms  max {max_ms:7.0f} ms  "
          f"statuses {statuses}  {per_req}")  # fmt: skip
    if worst:
        print(f"           first 5xx: {worst}")


async def measure(server, n: int, runs: int, label: str) -> None:  # type: ignore[no-untyped-def]
    sync = httpx.Client(base_url=server.base_url, headers=server.headers, timeout=120)
    assets = provision(sync, n)
    group_id = battery_group(sync)
    sync.close()
    by_group = {"kind": "stop", "group_id": group_id}
    by_ids = {"kind": "stop", "asset_ids": assets}
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, timeout=300
    ) as http:
        await one(http, by_group)  # unmeasured: imports, caches
        for case, body in (("group", by_group), ("asset_ids", by_ids)):
            before = await statements(http)
            results = [await one(http, body) for _ in range(runs)]
            after = await statements(http)
            spent = after - before
            per = {k: round(v / runs) for k, v in sorted(spent.items())}
            report(label, case, results, f"SQL/request {sum(per.values())} {per}")
        stop = asyncio.Event()
        loaders = [asyncio.create_task(telemetry_load(http, assets, stop)) for _ in range(2)]
        await asyncio.sleep(1.0)
        results = []
        for _ in range(runs):
            results.append(await one(http, by_group))
            await asyncio.sleep(0.3)
        stop.set()
        posted = sum(await asyncio.gather(*loaders))
        report(label, "group, loaded", results, f"({posted} telemetry requests meanwhile)")
    logged = [line for line in server.log_path.read_text(errors="replace").splitlines()
              if "database error" in line]  # fmt: skip
    if logged:
        print(f"  server log: {len(logged)} database error(s), first: {logged[0][:400]}")
    print(f"  load average (1, 5, 15 min): {os.getloadavg()}")


async def main_async(n: int, runs: int, label: str, skip_sqlite: bool, skip_pg: bool) -> None:
    os.environ.pop("GRIDPILOT_MQTT_URL", None)
    os.environ["GRIDPILOT_COMMAND_RATE_LIMIT_PER_MIN"] = "0"  # 16 commands per device a minute
    if not skip_pg:
        pg = PgServer()
        async with fresh_pg_database(pg) as name:
            with gridpilot_server(pg.url(name)) as server:
                print(f"\n== PostgreSQL, {n} devices, {runs} requests per case")
                await measure(server, n, runs, label)
    if not skip_sqlite:
        with gridpilot_server(None) as server:
            print(f"\n== SQLite, {n} devices, {runs} requests per case")
            await measure(server, n, runs, label)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--label", default="this")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    asyncio.run(main_async(args.devices, args.runs, args.label, args.skip_sqlite, args.skip_pg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
