"""Site energy report benchmark (issue #19): a 30-day, 15-min report of a 50-asset site, beside
the KPIs of the same site and period through the API, in the same run.

Through gridpilot's public surface only (``bench/harness.py``: ``gridpilot migrate``,
``gridpilot serve`` in a subprocess, the token endpoint): a Europe/Rome site with a two-band
tariff and ``--assets`` (50) consumer machines, ``--days`` (30) whole local days of 15-min
``power_kw`` readings per machine sent with ``POST /api/v1/telemetry`` (a daily shape with
noise, deterministic), the rollups left to catch up; then, each ``--repeat`` (3) times after one
unmeasured warm-up:

* ``GET /api/v1/kpis?site=..&start=..&end=..&interval=15m`` (the totals the report repeats);
* ``POST /api/v1/reports/{id}/run`` with the same period: the site energy report built, its PDF
  and CSV rendered and stored, answered with the run (its ``duration_ms``: the server's time).

With ``--register`` each machine also sends its ``energy_kwh`` register (the running sum of its
quarter-hour energy), as metered machines do: asset energy then comes from the register, which
``telemetry.energy_batch.energies`` reads for every asset in a few statements (the top consumers
table); from power alone each asset's energy is a power integral, asked asset by asset.

Wall times are the client's (request sent to answer read). Target: the report in < 10 s.

``--consumers N``: then, called directly on the same database (the server idle), the report's
top-consumers step both ways, alternated ``N`` times: the previous per-asset loop
(``telemetry.service.energy`` of each consumer, one after the other) and the batch the report
uses now (``telemetry.energy_batch.energies``); median wall time and statements of each.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/reports.py [--skip-sqlite] [--register]
        [--consumers 15]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import orjson

from harness import (
    PgServer,
    ServerProcess,
    fresh_pg_database,
    gridpilot_server,
    pending_rollups,
)

ROME = ZoneInfo("Europe/Rome")
TARIFF = {
    "currency": "EUR",
    "periods": [{"name": "night", "rate_per_kwh": 0.11, "start": "00:00", "end": "08:00"}],
    "default_rate_per_kwh": 0.23,
}


def period(days: int) -> tuple[int, int]:
    """The ``days`` whole local days before today in Rome [epoch ms]."""
    today = datetime.now(ROME).date()
    start = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=ROME)
    end = datetime.combine(today, datetime.min.time(), tzinfo=ROME)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def power_kw(asset: int, ts_ms: int) -> float:
    hour = (ts_ms // 3_600_000 + 1) % 24
    day_shape = 1.0 if 7 <= hour < 19 else 0.3
    return round(5.0 + asset % 7 * 3.0 * day_shape + 2.0 * math.sin(ts_ms / 7e6 + asset), 3)


def setup(http: httpx.Client, assets: int) -> tuple[int, list[int], int]:
    """Site, tariff, machines and the report definition: (site id, asset ids, report id)."""
    site = (
        http.post("/api/v1/sites", json={"name": "Bench plant", "timezone": "Europe/Rome"})
        .raise_for_status()
        .json()["id"]
    )
    http.post(
        f"/api/v1/sites/{site}/tariffs",
        json={"valid_from": 0, "definition": TARIFF, "backdate": True},
    ).raise_for_status()
    ids = [
        http.post(
            "/api/v1/assets",
            json={"site_id": site, "name": f"Machine {n:02d}", "kind": "machine",
                  "role": "consumer"},
        ).raise_for_status().json()["id"]
        for n in range(assets)
    ]  # fmt: skip
    report = (
        http.post(
            "/api/v1/reports", json={"site_id": site, "name": "Monthly", "kind": "site_energy"}
        )
        .raise_for_status()
        .json()["id"]
    )
    return site, ids, report


def ingest(http: httpx.Client, ids: list[int], start: int, end: int, register: bool) -> int:
    stamps = range(start - 900_000, end + 900_000, 900_000)
    readings = [
        {"asset": a, "metric": "power_kw", "ts": ts, "value": power_kw(a, ts)}
        for ts in stamps
        for a in ids
    ]
    if register:
        total = dict.fromkeys(ids, 1000.0)
        for ts in stamps:
            for a in ids:
                readings.append(
                    {"asset": a, "metric": "energy_kwh", "ts": ts, "value": round(total[a], 4)}
                )
                total[a] += power_kw(a, ts) / 4
    stored = 0
    for i in range(0, len(readings), 1000):
        body = orjson.dumps({"readings": readings[i : i + 1000]})
        for _ in range(60):  # 503 while the writer catches up: retry, as a client should
            answer = http.post(
                "/api/v1/telemetry", content=body, headers={"Content-Type": "application/json"}
            )
            if answer.status_code != 503:
                break
            time.sleep(1.0)
        if answer.status_code >= 400:
            raise RuntimeError(f"ingest refused: {answer.text[:500]}")
        stored += int(answer.json()["stored"])
    return stored


async def wait_rollups(server: ServerProcess, url: str | None) -> None:
    for _ in range(600):
        if await pending_rollups(url, server.env["GRIDPILOT_DATA_DIR"]) == 0:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("the rollups did not catch up")


async def consumers_ab(
    url: str | None, data_dir: str, ids: list[int], start: int, end: int, rounds: int
) -> str:
    """The top consumers' energies asset by asset (before) and batched (now), alternated."""
    from sqlalchemy import event

    from gridpilot.core.settings import Settings
    from gridpilot.db.engine import make_engine, make_sessionmaker
    from gridpilot.telemetry.energy_batch import energies
    from gridpilot.telemetry.service import energy

    settings = Settings(database_url=url, data_dir=data_dir)
    engine = make_engine(settings)
    gap = settings.energy_max_gap_s

    async def loop(session) -> dict[int, float | None]:
        found = {}
        for asset in ids:
            result = await energy(
                session=session, asset_id=asset, start_ms=start, end_ms=end, max_gap_s=gap
            )
            found[asset] = result.energy_kwh
        return found

    async def batch(session) -> dict[int, float | None]:
        found = await energies(
            session=session, asset_ids=ids, start_ms=start, end_ms=end, max_gap_s=gap
        )
        return {a: r.energy_kwh for a, r in found.items()}

    times: dict[str, list[float]] = {"loop": [], "batch": []}
    counts: dict[str, int] = {}
    results = {}
    try:
        async with make_sessionmaker(engine)() as session:
            for way in (loop, batch):  # warm-up: caches, the plans
                results[way.__name__] = await way(session)
            for _ in range(rounds):
                for way in (loop, batch):
                    statements: list[str] = []
                    connection = (await session.connection()).sync_connection
                    listener = lambda *a, s=statements: s.append(a[2])  # noqa: E731
                    event.listen(connection, "before_cursor_execute", listener)
                    clock = time.perf_counter()
                    await way(session)
                    times[way.__name__].append(time.perf_counter() - clock)
                    event.remove(connection, "before_cursor_execute", listener)
                    counts[way.__name__] = len(statements)
    finally:
        await engine.dispose()
    same = all(
        (a is None and b is None)
        or (a is not None and b is not None and abs(a - b) <= 1e-9 * abs(a))
        for a, b in zip(results["loop"].values(), results["batch"].values(), strict=True)
    )
    return (
        f"  top consumers ({len(ids)} assets, {rounds} alternated rounds): per asset "
        f"median {1000 * statistics.median(times['loop']):.0f} ms, {counts['loop']} statements; "
        f"energies() median {1000 * statistics.median(times['batch']):.0f} ms, "
        f"{counts['batch']} statements; same energies: {same}"
    )


def timed(call) -> tuple[float, httpx.Response]:
    clock = time.perf_counter()
    answer = call()
    return time.perf_counter() - clock, answer.raise_for_status()


def measure(server: ServerProcess, url: str | None, args: argparse.Namespace, label: str) -> None:
    start, end = period(args.days)
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=300) as http:
        site, ids, report = setup(http, args.assets)
        stored = ingest(http, ids, start, end, args.register)
        asyncio.run(wait_rollups(server, url))
        kpi_params = {"site": site, "start": start, "end": end, "interval": "15m"}
        kpis = lambda: http.get("/api/v1/kpis", params=kpi_params)  # noqa: E731
        run = lambda: http.post(  # noqa: E731
            f"/api/v1/reports/{report}/run", json={"start": start, "end": end}
        )
        kpis(), run()  # warm-up
        kpi_s, report_s, server_ms = [], [], []
        for _ in range(args.repeat):
            seconds, answer = timed(kpis)
            kpi_s.append(seconds)
            seconds, answer = timed(run)
            report_s.append(seconds)
            body = answer.json()
            assert body["status"] == "done", body["error"]
            server_ms.append(body["duration_ms"])
        sizes = {f["format"]: f["size_bytes"] for f in body["files"]}
        energy = kpis().json()["kpis"]["energy_kwh"]["value"]
    phase = ""
    if args.consumers:
        phase = "\n" + asyncio.run(
            consumers_ab(url, server.env["GRIDPILOT_DATA_DIR"], ids, start, end, args.consumers)
        )
    print(
        f"{label}: {args.assets} assets x {args.days} days x 96"
        f"{' x 2 (power, register)' if args.register else ''} = {stored:,} readings stored; "
        f"consumption {energy:,.1f} kWh; load {os.getloadavg()[0]:.2f}\n"
        f"  GET /kpis             median {statistics.median(kpi_s):6.2f} s "
        f"[{min(kpi_s):.2f}-{max(kpi_s):.2f}]\n"
        f"  POST /reports/.../run median {statistics.median(report_s):6.2f} s "
        f"[{min(report_s):.2f}-{max(report_s):.2f}], server {statistics.median(server_ms)} ms; "
        f"PDF {sizes.get('pdf', 0):,} B, CSV {sizes.get('csv', 0):,} B{phase}"
    )


async def on_postgres(args: argparse.Namespace) -> None:
    pg = PgServer()
    async with fresh_pg_database(pg) as name:
        url = pg.url(name)
        with gridpilot_server(url) as server:
            await asyncio.to_thread(measure, server, url, args, "PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--register", action="store_true", help="machines also send their energy_kwh register"
    )
    parser.add_argument(
        "--consumers", type=int, default=0, help="rounds of the top consumers' A/B (0: none)"
    )
    args = parser.parse_args()
    os.environ["GRIDPILOT_RETENTION_RAW_DAYS"] = str(args.days + 10)  # the data go back --days
    print(f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, load {os.getloadavg()}")
    asyncio.run(on_postgres(args))
    if not args.skip_sqlite:
        with gridpilot_server(None) as server:
            measure(server, None, args, "SQLite")


if __name__ == "__main__":
    main()
