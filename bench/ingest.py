"""Ingest and query benchmark (issue #3 item 10).

    .venv/bin/python bench/ingest.py [--readings 1000000] [--clients 16] [--skip-sqlite]

Against a fresh PostgreSQL database on 127.0.0.1:5432 (user postgres; created and dropped here)
and a real ``gridpilot serve`` (uvicorn) subprocess, it measures

(a) readings/s through ``POST /api/v1/telemetry`` (batches of 1,000, pre-serialised with orjson,
    ``--clients`` concurrent httpx clients, 16 by default so that the server is kept busy rather
    than waiting for the next request; the client runs on the same machine and eats CPU too);
(b) the ceiling: asyncpg ``copy_records_to_table`` of the same rows into a plain table with the
    readings primary key over as many connections (logged, ``--ceiling-runs`` times, the median
    counts; then unlogged), and the ratio (a)/(b);
(c) query latency p50/p95 of a 24 h series at 15 min resolution under 20 concurrent clients,
    after the rollups have caught up, measured with a lean keep-alive client (``lean_http``,
    ~0.1 ms of CPU per query) and again with httpx (~2 ms per query), with the CPU each party
    spent per query;
(d) (a) and (c) against the embedded SQLite default.

Prints a table; no assertions on timings. See bench/README.md for measured figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import (
    PgServer,
    ServerProcess,
    cpu_by_pid,
    cpu_seconds,
    create_site_and_assets,
    database_backend_pids,
    fresh_pg_database,
    gridpilot_server,
    machine_busy_seconds,
    metric_id,
    pending_rollups,
)
from workloads import (
    Dataset,
    copy_ceiling,
    http_ingest,
    series_queries,
    series_queries_lean,
)

console = Console(stderr=True)


@dataclass
class Report:
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, value: str, note: str = "") -> None:
        self.rows.append((what, value, note))
        console.print(f"  [bold]{what}[/]: {value} [dim]{note}[/]")

    def table(self, title: str) -> Table:
        table = Table(title=title)
        table.add_column("measurement")
        table.add_column("value", justify="right")
        table.add_column("notes")
        for row in self.rows:
            table.add_row(*row)
        return table


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class CpuUse:
    """CPU seconds spent between two samples, by whom."""

    client: float  # this bench process
    server: float  # gridpilot serve and its workers
    database: float  # the PostgreSQL backends of the bench database (0 on SQLite)
    machine: float  # every core, every process

    @property
    def other(self) -> float:
        return max(0.0, self.machine - self.client - self.server - self.database)


class CpuMeter:
    """Samples CPU time now; ``used()`` tells how much each party has spent since."""

    def __init__(self, server: ServerProcess) -> None:
        self.database = (server.env.get("GRIDPILOT_DATABASE_URL") or "").rsplit("/", 1)[-1]
        self.pids = server.server_pids()
        self.reset()

    def reset(self) -> None:
        """Start counting from now."""
        self.backends = self._backends()
        self.client, self.server = time.process_time(), cpu_seconds(self.pids)
        self.machine = machine_busy_seconds()

    def _backends(self) -> dict[int, float]:
        return cpu_by_pid(database_backend_pids(self.database)) if self.database else {}

    def used(self) -> CpuUse:
        client, server = time.process_time(), cpu_seconds(self.pids)
        machine = machine_busy_seconds()
        database = sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in self._backends().items())
        return CpuUse(client - self.client, server - self.server, database, machine - self.machine)


async def ingest_and_query(
    server: ServerProcess, args: argparse.Namespace, readings: int, label: str, report: Report
) -> tuple[Dataset, float]:
    """Create the assets, run (a)/(d) and (c) on one server; returns the data set and readings/s."""
    console.print(f"[cyan]{label}[/]: creating 1 site and {args.assets} assets")
    # rated 300 kW: every reading (10-106 kW) is checked against the asset, and passes
    asset_ids = create_site_and_assets(server, args.assets, rated_kw=300.0)
    dataset = Dataset(asset_ids, max(1, readings // args.assets), end_ms=now_ms() - 120_000)
    bodies = dataset.bodies(args.batch)
    console.print(f"[cyan]{label}[/]: sending {dataset.total:,} readings in {len(bodies):,} bodies")

    meter = CpuMeter(server)
    clients = args.sqlite_clients if label == "SQLite" else args.clients
    ingest = await http_ingest(server.base_url, server.headers, bodies, clients)
    cpu = meter.used()
    report.add(
        f"{label}: HTTP ingest",
        f"{ingest.per_second:,.0f} readings/s",
        f"{ingest.stored:,} stored, {ingest.rejected:,} rejected, {ingest.failed_requests} failed "
        f"requests in {ingest.seconds:.1f} s; {clients} clients x {args.batch} per batch",
    )
    lat = sorted(ingest.batch_latencies_s)
    if lat:
        report.add(
            f"{label}: batch request latency p50/p95",
            f"{lat[len(lat) // 2] * 1000:.0f} / {lat[int(len(lat) * 0.95)] * 1000:.0f} ms",
        )
    report.add(
        f"{label}: CPU during ingest",
        f"{cpu.machine / ingest.seconds:.2f} of {os.cpu_count()} cores" if ingest.seconds else "-",
        f"server {cpu.server:.1f} s, "
        + (f"PostgreSQL backends {cpu.database:.1f} s, " if meter.database else "")
        + f"bench client {cpu.client:.1f} s, anything else (other processes, OS) "
        f"{cpu.other:.1f} s",
    )
    if ingest.first_error:
        report.add(f"{label}: first problem", ingest.first_error[:120], f"log: {server.log_path}")

    waited = await wait_for_rollups(server, args.rollup_timeout)
    report.add(f"{label}: rollups caught up after ingest", f"{waited:.1f} s")
    for lean in (True, False):
        await query_latency(server, args, asset_ids, dataset.start_ms, label, report, lean=lean)
    return dataset, ingest.per_second


async def query_latency(
    server: ServerProcess,
    args: argparse.Namespace,
    asset_ids: list[int],
    start_ms: int,
    label: str,
    report: Report,
    *,
    lean: bool,
) -> None:
    """(c): series latency with the lean client (the server's figure) or with httpx."""
    measure = series_queries_lean if lean else series_queries
    meter = CpuMeter(server)
    queries = await measure(
        server.base_url,
        server.headers,
        asset_ids,
        start_ms=start_ms,
        clients=args.query_clients,
        per_client=args.queries_per_client,
        on_start=meter.reset,
    )
    cpu = meter.used()
    count = max(1, len(queries.latencies_s) + queries.errors)
    client = "lean client" if lean else "with httpx client"
    report.add(
        f"{label}: 24 h / 15 min series p50 / p95 ({client})",
        f"{queries.percentile_ms(50):.1f} / {queries.percentile_ms(95):.1f} ms",
        f"{args.query_clients} concurrent clients, {len(queries.latencies_s)} queries, "
        f"{queries.per_second:.0f} queries/s, {queries.points} points, {queries.errors} errors",
    )
    report.add(
        f"{label}: CPU per query ({client})",
        f"client {cpu.client / count * 1000:.2f} ms",
        f"server {cpu.server / count * 1000:.2f} ms, "
        + (f"PostgreSQL {cpu.database / count * 1000:.2f} ms, " if meter.database else "")
        + f"machine busy {cpu.machine / queries.seconds if queries.seconds else 0:.2f} "
        f"of {os.cpu_count()} cores",
    )
    if queries.first_error:
        report.add(f"{label}: first query problem ({client})", queries.first_error[:120])


async def wait_for_rollups(server: ServerProcess, timeout_s: float) -> float:
    started = time.perf_counter()
    url = server.env.get("GRIDPILOT_DATABASE_URL")
    while time.perf_counter() - started < timeout_s:
        try:
            if await pending_rollups(url, server.env["GRIDPILOT_DATA_DIR"]) == 0:
                break
        except Exception as exc:  # schema not there yet or DB busy: report, keep waiting
            console.print(f"[yellow]rollup check failed: {exc}[/]")
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def postgres_part(args: argparse.Namespace, report: Report) -> None:
    pg = PgServer(args.pg_host, args.pg_port, args.pg_user)
    async with fresh_pg_database(pg) as name:
        url = pg.url(name)
        if args.ceiling_only:  # no server: synthetic ids, same shape of data
            synthetic_ids = list(range(1, args.assets + 1))
            dataset = Dataset(synthetic_ids, args.readings // args.assets, now_ms())
            await copy_ceilings(url, dataset, 1, None, args, report)
            return
        with gridpilot_server(
            url, workers=args.workers, rollup_interval_s=args.rollup_interval
        ) as server:
            dataset, http_rate = await ingest_and_query(
                server, args, args.readings, "PostgreSQL", report
            )
        console.print("[cyan]PostgreSQL[/]: COPY ceiling (server stopped)")
        await copy_ceilings(url, dataset, await metric_id(url, "power_kw"), http_rate, args, report)


async def copy_ceilings(
    url: str,
    dataset: Dataset,
    power_metric_id: int,
    http_rate: float | None,
    args: argparse.Namespace,
    report: Report,
) -> None:
    """(b): raw COPY of the data set's rows into a logged plain table, ``--ceiling-runs`` times
    (median and range: one COPY of 1M rows takes under 2 s and moves with what PostgreSQL does
    in the background, e.g. after the ingest), then once into an unlogged one."""
    records = [(a, power_metric_id, ts, v) for a, ts, v in dataset.rows()]
    logged = [
        await copy_ceiling(
            url, records, connections=args.clients, chunk=args.copy_chunk, unlogged=False
        )
        for _ in range(args.ceiling_runs)
    ]
    rates = sorted(c.per_second for c in logged)
    median = rates[len(rates) // 2]
    report.add(
        "PostgreSQL: raw COPY ceiling (logged table)",
        f"{median:,.0f} readings/s",
        f"median of {len(rates)} runs [{rates[0]:,.0f}-{rates[-1]:,.0f}]; {logged[0].rows:,} "
        f"rows, {args.clients} connections x {args.copy_chunk} rows per COPY",
    )
    if http_rate and median:
        report.add("PostgreSQL: HTTP ingest / COPY ceiling (logged)", f"{http_rate / median:.0%}")
    unlogged = await copy_ceiling(
        url, records, connections=args.clients, chunk=args.copy_chunk, unlogged=True
    )
    report.add(
        "PostgreSQL: raw COPY ceiling (unlogged table)",
        f"{unlogged.per_second:,.0f} readings/s",
        f"{unlogged.rows:,} rows, {args.clients} connections x {args.copy_chunk} rows "
        f"per COPY, {unlogged.seconds:.1f} s",
    )


async def sqlite_part(args: argparse.Namespace, report: Report) -> None:
    with gridpilot_server(None, rollup_interval_s=args.rollup_interval) as server:
        await ingest_and_query(server, args, args.sqlite_readings, "SQLite", report)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=1_000_000, help="PostgreSQL readings")
    parser.add_argument("--sqlite-readings", type=int, default=300_000)
    parser.add_argument(
        "--clients",
        type=int,
        default=16,
        help="concurrent ingest clients (and COPY connections of the ceiling); 16 keeps the "
        "server busy, 4 measures mostly the round trip to a commit",
    )
    parser.add_argument(
        "--sqlite-clients",
        type=int,
        default=4,
        help="concurrent ingest clients against SQLite (one writer at a time: more only queue)",
    )
    parser.add_argument(
        "--ceiling-runs", type=int, default=3, help="logged COPY runs; the median counts"
    )
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1_000, help="readings per request")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (PostgreSQL)")
    parser.add_argument(
        "--rollup-interval",
        type=float,
        default=None,
        help="GRIDPILOT_ROLLUP_INTERVAL_S for the server (default: gridpilot's own, 5 s)",
    )
    parser.add_argument("--copy-chunk", type=int, default=5_000, help="rows per raw COPY")
    parser.add_argument("--query-clients", type=int, default=20)
    parser.add_argument("--queries-per-client", type=int, default=50)
    parser.add_argument("--rollup-timeout", type=float, default=300.0, help="seconds")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--ceiling-only", action="store_true", help="only the raw COPY ceiling (no server)"
    )
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> Report:
    report = Report()
    load = Path("/proc/loadavg").read_text().split()[:3]
    report.add(
        "machine",
        f"{os.cpu_count()} CPUs",
        f"load average at start {' / '.join(load)} (1/5/15 min); other work skews every figure",
    )
    if not args.skip_postgres:
        await postgres_part(args, report)
    if not args.skip_sqlite:
        await sqlite_part(args, report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    report = asyncio.run(run(args))
    title = f"gridpilot ingest/query benchmark ({time.strftime('%Y-%m-%d %H:%M')})"
    out = Console()
    if not out.is_terminal:
        out = Console(width=150)
    out.print(report.table(title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
