"""Fleet-scale benchmark (issue #14).

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/fleet.py [--small] [--skip-sqlite]

A fleet of ``--sites`` sites of ``--assets-per-site`` assets plus one site of
``--big-site-meters`` consumer meters, provisioned through the public API of a real
``gridpilot serve`` on a fresh PostgreSQL database (then on the embedded SQLite default);
``--days`` of 15-min history (power and energy registers) through ``POST /api/v1/telemetry``,
the rollups caught up, then live 1-min data for the last 30 minutes and, during the
measurements, every minute. Measured with the lean keep-alive client of ``lean_http``:

(a) ``GET /api/v1/sites/{big}/current`` under ``--clients`` concurrent closed-loop clients
    (and alone, for the unqueued cost);
(b) ``GET /api/v1/kpis?site={big}`` over 30 days and over 1 day, one after the other;
(c) ``GET /api/v1/sites/{big}/balance`` over 7 days and over 1 day;
(d) ``GET /api/v1/fleet/summary``, every site (paged with limit/offset);
(e) the dashboard's overview page ``/`` built server-side, after a log-in through the
    dashboard's own page (its NiceGUI events sent over socket.io, no browser);
(f) the server's resident memory after each phase, and its high-water mark.

Prints a table of figure against target; no assertions on timings. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import gridpilot
from fleet_data import (
    DAY_MS,
    MINUTE_MS,
    FleetSize,
    ReadingModel,
    SiteSpec,
    Timeline,
    plan_fleet,
    provision,
    send_bodies,
)
from fleet_measure import (
    NO_ANSWER,
    Timings,
    closed_loop,
    dashboard_login,
    explain,
    fleet_pages,
    overview_page,
    query,
    rss_mib,
    sequential,
)
from harness import PASSWORD, PgServer, ServerProcess, fresh_pg_database, gridpilot_server
from harness import password_token as fresh_token
from ingest import CpuMeter, wait_for_rollups
from workloads import iso

console = Console(stderr=True)
SMALL = FleetSize(sites=50, assets_per_site=10, big_site_meters=200, days=2)


@dataclass
class Report:
    """Rows of (measurement, figure, target, verdict, notes)."""

    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, what: str, figure: str, notes: str = "", target: str = "", met: str = "") -> None:
        self.rows.append((what, figure, target, met, notes))
        console.print(f"  [bold]{what}[/]: {figure} [dim]{notes}[/] {target} {met}")

    def timed(self, what: str, t: Timings, target_ms: float | None = None, q: int = 95) -> None:
        target, met = "", ""
        if target_ms is not None:
            target = f"p{q} < {target_ms:,.0f} ms"
            ok = bool(t.latencies_s) and not t.errors and t.pct_ms(q) < target_ms
            met = "met" if ok else "MISSED"
        self.add(what, t.summary(), t.detail(), target, met)

    def table(self, title: str) -> Table:
        table = Table(title=title)
        for name in ("measurement", "figure", "target", "", "notes"):
            table.add_column(name, overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        return table


class PlainProgress:
    """Progress as a line every tenth of the way, when stderr is not a terminal (a log file)."""

    def __init__(self) -> None:
        self.tasks: list[list] = []

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> int:
        self.tasks.append([description, total, 0, total / 10, time.perf_counter()])
        return len(self.tasks) - 1

    def advance(self, task: int, n: int) -> None:
        entry = self.tasks[task]
        entry[2] += n
        if entry[2] >= entry[3]:
            entry[3] += entry[1] / 10
            elapsed = time.perf_counter() - entry[4]
            console.print(f"  {entry[0]}: {entry[2]:,} of {entry[1]:,} after {elapsed:,.0f} s")


def progress() -> Progress | PlainProgress:
    if not console.is_terminal:
        return PlainProgress()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def memory(server: ServerProcess, label: str, when: str, report: Report) -> None:
    now, peak = rss_mib(server.server_pids())
    report.add(f"{label}: server RSS {when}", f"{now:,.0f} MiB", f"high-water mark {peak:,.0f} MiB")


@contextlib.contextmanager
def profiled(server: ServerProcess, args: argparse.Namespace, name: str) -> Iterator[None]:
    """With ``--py-spy``: record the server's stacks while the block runs (collapsed stacks,
    ``<profile-dir>/<name>.txt``, for flame graphs or grep)."""
    if not args.py_spy:
        yield
        return
    out = Path(args.profile_dir) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        args.py_spy,
        "record",
        "--pid",
        str(server.process.pid),
        "--format",
        "raw",
        "--nonblocking",
    ]
    spy = subprocess.Popen(
        [*command, "--rate", "200", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)  # py-spy attaches
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
        console.print(f"  [dim]profile: {out}[/]")


def cpu_note(meter: CpuMeter, count: int) -> str:
    """Server, PostgreSQL and bench CPU per request since ``meter`` was reset."""
    used = meter.used()
    n = max(1, count)
    pg = f"PostgreSQL {used.database / n * 1000:,.1f} ms, " if meter.database else ""
    return (
        f"CPU per request: server {used.server / n * 1000:,.1f} ms, {pg}"
        f"bench {used.client / n * 1000:,.1f} ms"
    )


async def build_fleet(
    server: ServerProcess, args: argparse.Namespace, label: str, report: Report
) -> tuple[list[SiteSpec], ReadingModel]:
    """Provision, send the history, wait for the rollups, send the live half hour."""
    sites = plan_fleet(args.size)
    assets = sum(len(s.assets) for s in sites)
    started = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"{label}: creating {len(sites):,} sites", total=assets)
        await provision(
            server.base_url,
            server.headers,
            sites,
            args.provision_clients,
            lambda n: bar.advance(task, n),
        )
    seconds = time.perf_counter() - started
    report.add(
        f"{label}: provisioning",
        f"{seconds:,.1f} s",
        f"{len(sites):,} sites, {assets:,} assets, one POST each (no bulk route), "
        f"{args.provision_clients} concurrent clients: {assets / seconds:,.0f} assets/s",
    )
    memory(server, label, "after provisioning", report)
    model = ReadingModel(sites)
    timeline = Timeline.ending(int(time.time() * 1000), args.size.days)
    await send_phase(server, args, model, timeline.history(), 900_000, f"{label}: history", report)
    waited = await wait_for_rollups(server, args.rollup_timeout)
    report.add(f"{label}: rollups caught up", f"{waited:,.1f} s after the history")
    memory(server, label, "after history", report)
    await send_phase(server, args, model, timeline.live(), MINUTE_MS, f"{label}: live", report)
    return sites, model


async def send_phase(
    server: ServerProcess,
    args: argparse.Namespace,
    model: ReadingModel,
    instants: range,
    step_ms: int,
    label: str,
    report: Report,
) -> None:
    total = model.per_instant() * len(instants)
    server.headers = {"Authorization": f"Bearer {fresh_token(server.base_url)}"}  # 1-h tokens
    meter = CpuMeter(server)
    with progress() as bar:
        task = bar.add_task(f"{label}: {total:,} readings", total=total)
        sent = await send_bodies(
            server.base_url,
            server.headers,
            model.bodies(instants, step_ms, args.batch),
            args.ingest_clients,
            lambda n: bar.advance(task, n),
        )
    used = meter.used()
    report.add(
        label,
        f"{sent.stored:,} readings in {sent.seconds:,.1f} s",
        f"{sent.stored / max(sent.seconds, 1e-9):,.0f} readings/s, {sent.rejected:,} rejected, "
        f"{len(instants)} instants x {model.per_instant():,} readings, "
        f"{args.batch:,} per request, {args.ingest_clients} clients; CPU: server "
        f"{used.server:,.1f} s, PostgreSQL {used.database:,.1f} s, bench {used.client:,.1f} s"
        + (f"; first problem: {sent.first_error[:160]}" if sent.first_error else ""),
    )


@contextlib.asynccontextmanager
async def live_ticker(server: ServerProcess, model: ReadingModel) -> AsyncIterator[None]:
    """Every minute, the fleet's readings of that minute (as a fleet of gateways would send)."""

    async def tick() -> None:
        while True:
            now = int(time.time() * 1000)
            await asyncio.sleep((MINUTE_MS - now % MINUTE_MS) / 1000 + 0.5)
            minute = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
            bodies = model.bodies([minute], MINUTE_MS, 20_000)
            sent = await send_bodies(server.base_url, server.headers, bodies, 1)
            note = f"{sent.stored:,} readings in {sent.seconds:.2f} s"
            console.print(f"  [dim]live minute: {note}[/]")

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def measured(
    server: ServerProcess,
    args: argparse.Namespace,
    name: str,
    run: Callable[[], Awaitable[Timings]],
    unmeasured: int = 1,
) -> Timings:
    """``run()`` with the CPU it cost per request (``unmeasured`` warm-up requests included)
    and, with ``--py-spy``, a profile of the server."""
    meter = CpuMeter(server)
    with profiled(server, args, name):
        meter.reset()
        timings = await run()
    count = len(timings.latencies_s) + timings.errors + unmeasured
    timings.note = "; ".join(filter(None, [timings.note, cpu_note(meter, count)]))
    return timings


async def measure(
    server: ServerProcess, args: argparse.Namespace, big: SiteSpec, label: str, report: Report
) -> None:
    """(a)-(e), each with the CPU it cost."""
    server.headers = {"Authorization": f"Bearer {fresh_token(server.base_url)}"}
    base, headers, tag = server.base_url, server.headers, label.lower()
    now = int(time.time() * 1000)
    current = f"/api/v1/sites/{big.site_id}/current"
    alone = await measured(
        server, args, f"{tag}-current-1", lambda: sequential(base, headers, [current], runs=20)
    )
    report.timed(f"{label}: /current of the big site, 1 client", alone)
    loaded = await measured(
        server,
        args,
        f"{tag}-current-{args.clients}",
        lambda: closed_loop(
            base, headers, current, clients=args.clients, per_client=args.per_client
        ),
        args.clients,
    )
    report.timed(f"{label}: /current of the big site, {args.clients} clients", loaded, 50)
    for days, target in ((30, 1000.0), (1, None)):
        period = {"site": str(big.site_id), "start": iso(now - days * DAY_MS), "end": iso(now)}
        path = query("/api/v1/kpis", period)
        kpis = await measured(
            server,
            args,
            f"{tag}-kpis-{days}d",
            lambda p=path: sequential(base, headers, [p], runs=args.runs),
        )
        report.timed(f"{label}: /kpis of the big site, {days} d", kpis, target)
    for days in (7, 1):
        period = {"start": iso(now - days * DAY_MS), "end": iso(now)}
        path = query(f"/api/v1/sites/{big.site_id}/balance", period)
        balance = await measured(
            server,
            args,
            f"{tag}-balance-{days}d",
            lambda p=path: sequential(base, headers, [p], runs=args.runs),
        )
        report.timed(f"{label}: /balance of the big site, {days} d", balance)
    await measure_fleet(server, args, label, report)
    await measure_overview(server, args, label, report)


async def measure_fleet(
    server: ServerProcess, args: argparse.Namespace, label: str, report: Report
) -> None:
    sites = args.size.sites + 1
    paths, how = await fleet_pages(server.base_url, server.headers, sites)
    if not paths:
        timed_out = how.startswith(NO_ANSWER)
        figure, met = ("no answer", "MISSED") if timed_out else ("not measured", "")
        report.add(f"{label}: fleet summary, {sites:,} sites", figure, how, "< 300 ms", met)
        return
    summary = await measured(
        server,
        args,
        f"{label.lower()}-fleet",
        lambda: sequential(server.base_url, server.headers, paths, runs=args.runs),
        len(paths),
    )
    summary.note = f"{how}; {summary.note}"
    report.timed(f"{label}: fleet summary, {sites:,} sites", summary, 300)


async def measure_overview(
    server: ServerProcess, args: argparse.Namespace, label: str, report: Report
) -> None:
    try:
        cookies = await dashboard_login(server.base_url, "bench", PASSWORD)
    except Exception as exc:  # report and go on: the other figures stand on their own
        report.add(f"{label}: overview page /", "not measured", f"log-in failed: {exc!r}", "< 1 s")
        return
    page = await measured(
        server,
        args,
        f"{label.lower()}-overview",
        lambda: overview_page(server.base_url, cookies, args.runs),
    )
    report.timed(f"{label}: overview page / built server-side", page, 1000)


async def one_backend(server: ServerProcess, args: argparse.Namespace, label: str) -> Report:
    report = Report()
    sites, model = await build_fleet(server, args, label, report)
    args.big_site_id = sites[0].site_id
    async with live_ticker(server, model):
        await measure(server, args, sites[0], label, report)
    memory(server, label, "after the measurements", report)
    return report


async def postgres_part(args: argparse.Namespace) -> Report:
    pg = PgServer(args.pg_host, args.pg_port, args.pg_user)
    async with fresh_pg_database(pg) as name:
        with gridpilot_server(pg.url(name)) as server:
            report = await one_backend(server, args, "PostgreSQL")
            if args.explain:
                await explain_plans(pg.url(name), args, report)
            return report


async def explain_plans(url: str, args: argparse.Namespace, report: Report) -> None:
    """``--explain``: the PostgreSQL plans of the big site's balance and /current SQL."""
    now = int(time.time() * 1000)
    for days in (7, 1):
        plans = await explain(url, args.big_site_id, now, days)
        for name, plan in plans.items():
            out = Path(args.profile_dir) / f"explain-{name}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(plan)
            took = [line.strip() for line in plan.splitlines() if "Execution Time" in line]
            report.add(f"PostgreSQL: EXPLAIN ANALYZE {name}", took[-1] if took else "?", str(out))


async def sqlite_part(args: argparse.Namespace) -> Report:
    with gridpilot_server(None) as server:
        return await one_backend(server, args, "SQLite")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1_000)
    parser.add_argument("--assets-per-site", type=int, default=10)
    parser.add_argument("--big-site-meters", type=int, default=1_000)
    parser.add_argument("--days", type=float, default=7.0, help="days of 15-min history")
    parser.add_argument(
        "--small", action="store_true", help="quick check: 50 sites, 200 meters, 2 days"
    )
    parser.add_argument("--clients", type=int, default=20, help="concurrent /current clients")
    parser.add_argument("--per-client", type=int, default=25, help="/current requests per client")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of sequential GETs")
    parser.add_argument("--provision-clients", type=int, default=8)
    parser.add_argument("--ingest-clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=5_000, help="readings per telemetry request")
    parser.add_argument("--rollup-timeout", type=float, default=1_800.0, help="seconds")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--py-spy", help="path of py-spy: profile the server in each measurement")
    parser.add_argument(
        "--no-builtin-alerts",
        action="store_true",
        help="GRIDPILOT_ALERTS_BUILTIN_RULES=false: without it, the contract-demand rule scans "
        "every asset for every site of every batch and the history ingest crawls",
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the balance and /current SQL"
    )
    parser.add_argument("--profile-dir", default="/tmp/gridpilot-fleet-profiles")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    args = parser.parse_args(argv)
    args.size = (
        SMALL
        if args.small
        else FleetSize(args.sites, args.assets_per_site, args.big_site_meters, args.days)
    )
    return args


async def run(args: argparse.Namespace) -> Report:
    report = Report()
    load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    size = args.size
    report.add(
        "machine and fleet",
        f"{os.cpu_count()} CPUs, load {load} (1/5/15 min) at start",
        f"{size.sites:,} sites x {size.assets_per_site} assets + 1 site of "
        f"{size.big_site_meters:,} meters, {size.days:g} days of 15-min history",
    )
    report.add(
        "code served", str(Path(gridpilot.__file__).parent), "(PYTHONPATH picks another tree)"
    )
    if args.no_builtin_alerts:  # the servers inherit this process's environment
        os.environ["GRIDPILOT_ALERTS_BUILTIN_RULES"] = "false"
        report.add("built-in alert rules", "off", "--no-builtin-alerts (see bench/README.md)")
    if not args.skip_pg:
        report.rows += (await postgres_part(args)).rows
    if not args.skip_sqlite:
        report.rows += (await sqlite_part(args)).rows
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    report = asyncio.run(run(args))
    out = Console() if Console().is_terminal else Console(width=200)
    out.print(report.table(f"gridpilot fleet benchmark ({time.strftime('%Y-%m-%d %H:%M %Z')})"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
