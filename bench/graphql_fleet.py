"""GraphQL benchmark (issue #22): 100 sites' current balance and today's KPIs in one query.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/graphql_fleet.py [--runs 30]

Target: "a GraphQL query for 100 sites' current balance and today's KPIs answers in < 300 ms".
A fleet of ``--sites`` sites of ``--assets-per-site`` assets (``bench/fleet_data.py``; plus its
one-meter "big site") with a tariff whose export earns 0.08 EUR/kWh, provisioned through the
API of a real ``gridpilot serve`` on a fresh PostgreSQL database, then on the embedded SQLite
default; a day of 15-min history and 30 minutes of 1-min live data through
``POST /api/v1/telemetry``, the rollups caught up. Then, on one keep-alive connection, in the
same run, ``--runs`` measured requests (after two unmeasured) of each of:

(a) ``POST /api/v1/graphql``: ``sites(ids: [the 100])`` with ``balance`` and ``today``
    (energy terms, shares, carbon saved, grid revenue);
(b) the REST equivalent in one call: ``GET /api/v1/fleet/summary?limit=1000`` (every site's
    ``now`` and ``today``);
(c) the REST equivalent per site: ``GET /api/v1/sites/{id}/current`` for each of the 100 sites
    (one sample = the 100 calls; today's energy has no per-site REST call but ``/kpis``).

Today's energy of a set of sites is computed once a minute and shared (``balance.recent``):
the first request of a kind is reported apart ("cold"). Prints p50/p95 per kind and the
machine's load; no assertions. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from fleet import Report
from fleet_data import (
    MINUTE_MS,
    QUARTER_MS,
    FleetSize,
    ReadingModel,
    Timeline,
    plan_fleet,
    provision,
    send_bodies,
)
from harness import PgServer, ServerProcess, fresh_pg_database, gridpilot_server
from ingest import wait_for_rollups

console = Console(stderr=True)
TARGET_MS = 300.0
QUERY = """query Fleet($ids: [Int!]) { sites(ids: $ids) { id name
  balance { timestamp importKw exportKw generationKw consumptionKw chargeKw dischargeKw
            contractUtilizationPct }
  today { start coverage importKwh exportKwh generationKwh consumptionKwh chargeKwh
          dischargeKwh selfConsumption selfSufficiency carbonSavedKg
          gridRevenue { amount currency exportKwh priced } } } }"""


def p95_s(samples: list[float]) -> float:
    """The 95th percentile (nearest rank) [s]."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def percentiles(samples: list[float]) -> str:
    median = statistics.median(samples) * 1000
    return f"p50 {median:,.0f} ms, p95 {p95_s(samples) * 1000:,.0f} ms (n={len(samples)})"


async def timed(http: httpx.AsyncClient, runs: int, once: object) -> tuple[float, list[float]]:
    """(first call [s], ``runs`` later calls [s]) of the coroutine function ``once``."""
    samples: list[float] = []
    for _ in range(runs + 2):
        started = time.perf_counter()
        await once()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples[0], samples[2:]


async def build(
    server: ServerProcess, args: argparse.Namespace, report: Report, label: str
) -> list[int]:
    sites = plan_fleet(FleetSize(args.sites, args.assets_per_site, 0, 1.0))
    started = time.perf_counter()
    await provision(server.base_url, server.headers, sites, 8, lambda n: None)
    ids = [s.site_id for s in sites[1:]]  # the ordinary sites (the first is the big site)
    tariff = {"default_rate_per_kwh": 0.25, "export_rate_per_kwh": 0.08}
    async with httpx.AsyncClient(base_url=server.base_url, headers=server.headers) as http:
        for site_id in ids:
            body = {"valid_from": 0, "definition": tariff, "backdate": True}
            answer = await http.post(f"/api/v1/sites/{site_id}/tariffs", json=body)
            answer.raise_for_status()
    model = ReadingModel(sites)
    timeline = Timeline.ending(int(time.time() * 1000), 1.0)
    for instants, step in ((timeline.history(), QUARTER_MS), (timeline.live(), MINUTE_MS)):
        sent = await send_bodies(
            server.base_url, server.headers, model.bodies(instants, step, 5_000), 4
        )
        if sent.first_error:
            report.add(f"{label}: ingest problem", sent.first_error[:200])
        if step == QUARTER_MS:
            await wait_for_rollups(server, 900)
    report.add(
        f"{label}: fleet",
        f"{len(ids)} sites x {args.assets_per_site} assets",
        f"provisioned and a day of readings sent in {time.perf_counter() - started:,.0f} s",
    )
    await wait_for_rollups(server, 900)
    return ids


async def measure(
    server: ServerProcess, ids: list[int], args: argparse.Namespace, report: Report, label: str
) -> None:
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=server.headers, timeout=300
    ) as http:

        async def graphql() -> None:
            answer = await http.post(
                "/api/v1/graphql", json={"query": QUERY, "variables": {"ids": ids}}
            )
            body = answer.json()
            if (
                answer.status_code != 200
                or body.get("errors")
                or len(body["data"]["sites"]) != len(ids)
            ):
                raise RuntimeError(f"GraphQL: {answer.status_code} {answer.text[:300]}")

        async def summary() -> None:
            answer = await http.get("/api/v1/fleet/summary", params={"limit": 1000})
            answer.raise_for_status()

        async def per_site() -> None:
            for site_id in ids:
                (await http.get(f"/api/v1/sites/{site_id}/current")).raise_for_status()

        kinds = (
            ("GraphQL: 100 sites' balance + today", graphql, TARGET_MS),
            ("REST: fleet summary (all sites' now + today)", summary, None),
            ("REST: 100 x /sites/{id}/current", per_site, None),
        )
        for what, once, target in kinds:
            cold, samples = await timed(http, args.runs, once)
            p95 = p95_s(samples)
            met = "" if target is None else ("met" if p95 * 1000 < target else "MISSED")
            report.add(
                f"{label}: {what}",
                percentiles(samples),
                f"cold (first) {cold * 1000:,.0f} ms",
                "" if target is None else f"p95 < {target:,.0f} ms",
                met,
            )


async def one(server: ServerProcess, args: argparse.Namespace, label: str) -> Report:
    report = Report()
    ids = await build(server, args, report, label)
    await measure(server, ids, args, report, label)
    return report


async def run(args: argparse.Namespace) -> Report:
    report = Report()
    load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    report.add("machine", f"{os.cpu_count()} CPUs, load {load} (1/5/15 min) at start")
    if not args.skip_pg:
        pg = PgServer(args.pg_host, args.pg_port, args.pg_user)
        async with fresh_pg_database(pg) as name:
            with gridpilot_server(pg.url(name), rollup_interval_s=1.0) as server:
                report.rows += (await one(server, args, "PostgreSQL")).rows
    if not args.skip_sqlite:
        with gridpilot_server(None, rollup_interval_s=1.0) as server:
            report.rows += (await one(server, args, "SQLite")).rows
    load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    report.add("machine", f"load {load} (1/5/15 min) at the end")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--assets-per-site", type=int, default=6)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    report = asyncio.run(run(args))
    out = Console() if Console().is_terminal else Console(width=200)
    out.print(report.table(f"gridpilot GraphQL benchmark ({time.strftime('%Y-%m-%d %H:%M %Z')})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
