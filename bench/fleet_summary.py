"""The fleet summary of 1,000 sites (issue #14), quicker than the whole ``bench/fleet.py``.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/fleet_summary.py            # PostgreSQL
    ... --sqlite              # and the embedded SQLite (a temporary file)
    ... --keep / --database NAME   # keep the PostgreSQL database / measure a kept one again
    ... --explain             # EXPLAIN (ANALYZE, BUFFERS) of the balance SQL of every site

The fleet of ``bench/fleet.py`` (``--sites`` sites of ``--assets-per-site`` assets plus a site of
``--big-site-meters`` sub-meters; default the mid size of bench/README.md) written directly into
a migrated database (``fleet_summary_data.py``): ``--days`` of 15-min history and 30 minutes of
1-min readings up to now, rollups and stored energy refreshed. Then, per back end:

- ``fleet/service.py::fleet_summary`` of every site, in process, without the shared recent
  balance (each call computes today's balance of every site), ``--runs`` times after one
  unmeasured call, and each of its parts timed apart (which one is slow);
- ``GET /api/v1/fleet/summary`` of every site (pages of 1,000) from a real ``gridpilot serve``,
  the fleet live (every asset's stored last-seen stamped now first, ``--offline`` not):
  the first request (computes the recent balance) and ``--runs`` more (answered within the
  recent balance's 60 s);
- ``--balance 7 1``: then ``GET /api/v1/sites/{big}/balance`` of the big site (its sub-meters'
  remainder included, as ``bench/fleet.py`` (c)) over each number of days up to now.

Wall-clock milliseconds with the 1-min load; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import harness
from fleet_data import FleetSize
from fleet_summary_data import build
from gridpilot.alerts.lifecycle import open_alert_counts
from gridpilot.assets.service import list_sites
from gridpilot.assets.summary import asset_facts
from gridpilot.auth.permissions import Principal, Role
from gridpilot.balance.current import current_balances
from gridpilot.balance.grid import make_grid
from gridpilot.balance.queries import balance_sql
from gridpilot.balance.service import site_balances
from gridpilot.control.tasks import status_policy
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import iso, local_midnight_ms
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import upgrade
from gridpilot.fleet import service as fleet
from gridpilot.telemetry.rollups import STEPS_MS, floor_to
from harness import PgServer, fresh_pg_database, gridpilot_server

ADMIN = Principal(subject="user:0", name="bench", role=Role.ADMINISTRATOR)
DAY_MS = 86_400_000


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def summary(ms: list[float]) -> str:
    if not ms:
        return "no figure"
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return f"p50 {statistics.median(ms):8,.0f} ms  p95 {p95:8,.0f} ms  (n={len(ms)}, load {load()})"


async def timed(runs: int, call: Callable[[], Awaitable[Any]], timeout_s: float) -> list[float]:
    """Milliseconds of ``runs`` calls after one unmeasured call; the first to take longer
    than ``timeout_s`` is cancelled and ends the series (then printed first)."""
    out = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(call(), timeout_s)
        except TimeoutError:
            print(f"    (no answer within {timeout_s:.0f} s)", end="", flush=True)
            break
        if i:
            out.append((time.perf_counter() - t0) * 1000)
    return out


async def service_figures(
    sessions: async_sessionmaker, settings: Settings, runs: int, timeout_s: float
) -> None:
    """``fleet_summary`` of every site, then each part of it alone."""
    now = int(time.time() * 1000)

    async def with_session(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with sessions() as session:
            return await work(session)

    sites = await with_session(lambda s: list_sites(session=s, principal=ADMIN, limit=10**9))
    ids = [site.id for site in sites]
    start = min([*(local_midnight_ms(site.timezone, now) for site in sites), now - 24 * 3_600_000])
    start = floor_to(start, STEPS_MS["15m"])
    parts: dict[str, Callable[[AsyncSession], Awaitable[Any]]] = {
        "fleet_summary (all parts)": lambda s: fleet.fleet_summary(
            session=s,
            principal=ADMIN,
            where=fleet.FleetFilter(),
            limit=1000,
            offset=0,
            now_ms=now,
            tracked=lambda _a: None,
            policy=status_policy(settings),
        ),
        "  sites and assets": lambda s: asset_facts(session=s, site_ids=ids),
        "  current balances": lambda s: current_balances(
            session=s, site_ids=ids, now_ms=now, max_age_ms=300_000
        ),
        "  today's balances (site_balances)": lambda s: site_balances(
            session=s, site_ids=ids, start_ms=start, end_ms=now + 1, interval="15m", now_ms=now
        ),
        "  open alerts": lambda s: open_alert_counts(session=s, principal=ADMIN, site_ids=ids),
    }
    print(f"  service, {len(ids):,} sites, today from {(now - start) / 3_600_000:.1f} h ago:")
    for name, work in parts.items():
        ms = await timed(runs, lambda w=work: with_session(w), timeout_s)
        print(f"    {name:38s} {summary(ms)}", flush=True)


async def explain(sessions: async_sessionmaker, path: Path) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the balance SQL of every site over the last 24 h."""
    now = int(time.time() * 1000)
    grid = make_grid(now - DAY_MS, now + 1, "15m")
    async with sessions() as session:
        ids = list((await session.execute(text("SELECT id FROM sites"))).scalars())
        values = {"site_ids": ids, "lo": grid.lo, "hi": grid.hi, "level": grid.level_ms}
        values |= {"now": now, "max_gap": 900_000}
        sql = text("EXPLAIN (ANALYZE, BUFFERS) " + balance_sql(grid).text)
        sql = sql.bindparams(bindparam("site_ids", expanding=True))
        plan = [r[0] for r in (await session.execute(sql, values)).all()]
    path.write_text("\n".join(plan) + "\n")
    keep = ("Execution Time", "Disk", "Nested Loop", "Join Filter", "Rows Removed by Join")
    lines = [line.strip()[:160] for line in plan if any(k in line for k in keep)]
    return "\n".join(f"    {line}" for line in lines) + f"\n    (plan: {path})"


async def stamp_statuses(database_url: str) -> None:
    """Every asset's stored last-seen set to now, as the status tracker persists a live fleet's
    (the readings written directly stop at the build; without this, every asset turns offline
    a few minutes later and each request reads every asset's newest reading)."""
    engine = make_engine(Settings(database_url=database_url))
    async with engine.begin() as conn:
        now = int(time.time() * 1000)
        await conn.execute(text("UPDATE asset_status SET last_seen_ms = :now"), {"now": now})
    await engine.dispose()


async def http_figures(
    database_url: str,
    sites: int,
    runs: int,
    timeout_s: float,
    live: bool,
    balance_days: list[float] | None = None,
) -> None:
    """``GET /api/v1/fleet/summary`` of every site from a real server: first, then ``runs``."""
    if live:
        await stamp_statuses(database_url)
    with gridpilot_server(database_url) as server:
        pages = [f"/api/v1/fleet/summary?limit=1000&offset={o}" for o in range(0, sites, 1000)]
        async with httpx.AsyncClient(
            base_url=server.base_url, headers=server.headers, timeout=timeout_s
        ) as http:
            out: list[float] = []
            for i in range(runs + 1):
                t0 = time.perf_counter()
                try:
                    for page in pages:
                        (await http.get(page)).raise_for_status()
                except httpx.TimeoutException:
                    print(f"    HTTP: no answer within {timeout_s:.0f} s", flush=True)
                    return
                ms = (time.perf_counter() - t0) * 1000
                if i == 0:
                    print(f"    HTTP first (computes today) {ms:8,.0f} ms  (load {load()})")
                else:
                    out.append(ms)
            print(f"    HTTP next {runs} ({len(pages)} pages each) {summary(out)}", flush=True)
            if balance_days:
                await balance_figures(http, balance_days, runs, timeout_s)


async def balance_figures(
    http: httpx.AsyncClient, days: list[float], runs: int, timeout_s: float
) -> None:
    """``GET /api/v1/sites/{big}/balance`` (the big site: the first one built, a main meter and
    its sub-meters, with their unmetered remainder) over the last ``days`` up to now."""
    listed = (await http.get("/api/v1/sites", params={"limit": 1000})).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    big = min(int(site["id"]) for site in items)
    now = int(time.time() * 1000)
    for span in days:
        start = floor_to(now - int(span * DAY_MS), STEPS_MS["15m"])
        query = {"start": iso(start), "end": iso(now)}
        out: list[float] = []
        size = 0
        for i in range(runs + 1):
            t0 = time.perf_counter()
            try:
                answer = await http.get(f"/api/v1/sites/{big}/balance", params=query)
            except httpx.TimeoutException:
                print(f"    /balance {span:g} d: no answer within {timeout_s:.0f} s", flush=True)
                break
            answer.raise_for_status()
            size = len(answer.content)
            if i:
                out.append((time.perf_counter() - t0) * 1000)
        meters = len(answer.json()["sub_meters"]) if out else 0
        print(
            f"    HTTP /balance of the big site, {span:g} d ({meters} parent meters, "
            f"{size / 1024:,.0f} KiB) {summary(out)}",
            flush=True,
        )


@contextlib.asynccontextmanager
async def database(args: argparse.Namespace, sqlite: bool) -> AsyncIterator[str]:
    if sqlite:
        with tempfile.TemporaryDirectory(prefix="gridpilot-fleet-summary-") as folder:
            yield f"sqlite:///{folder}/gridpilot.db"
        return
    pg = PgServer()
    if args.database:
        yield pg.url(args.database)
        return
    if args.keep:
        name = f"gp_fleet_summary_{int(time.time())}"
        admin = await pg.admin()
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        print(f"  kept database: {name}")
        yield pg.url(name)
        return
    async with fresh_pg_database(pg) as name:
        yield pg.url(name)


async def one(args: argparse.Namespace, sqlite: bool) -> None:
    async with database(args, sqlite) as url:
        settings = Settings(database_url=url)
        engine: AsyncEngine = make_engine(settings)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        label = "SQLite" if sqlite else "PostgreSQL"
        try:
            if not args.database or sqlite:
                t0 = time.perf_counter()
                await upgrade(engine)
                _, n = await build(engine, settings, args.size, int(time.time() * 1000))
                print(f"== {label}: {n:,} readings, built in {time.perf_counter() - t0:.0f} s")
            if not args.http_only:
                await service_figures(sessions, settings, args.runs, args.timeout)
            if args.explain and not sqlite:
                print(await explain(sessions, Path(tempfile.gettempdir()) / "fleet_summary.plan"))
        finally:
            await engine.dispose()
        if not args.no_http:
            await http_figures(
                url,
                args.size.sites + 1,
                args.runs,
                args.timeout,
                not args.offline,
                args.balance,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1_000)
    parser.add_argument("--assets-per-site", type=int, default=3)
    parser.add_argument("--big-site-meters", type=int, default=1_000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="HTTP client timeout [s]")
    parser.add_argument("--sqlite", action="store_true", help="SQLite too")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--no-http", action="store_true", help="the service call only")
    parser.add_argument("--http-only", action="store_true", help="the route only")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--offline", action="store_true", help="leave the stored statuses as built (HTTP part)"
    )
    parser.add_argument(
        "--balance",
        type=float,
        nargs="*",
        default=[],
        help="also GET the big site's /balance over these days (e.g. --balance 7 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--database", help="measure this kept PostgreSQL database again")
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="wait this long for /health [s]"
    )
    args = parser.parse_args()
    harness.wait_healthy.__defaults__ = (args.startup_timeout,)  # a fleet of 11,001 starts slowly
    args.size = FleetSize(args.sites, args.assets_per_site, args.big_site_meters, args.days)
    print(f"fleet summary bench, load {load()}, {args.size}", flush=True)
    if not args.skip_pg:
        asyncio.run(one(args, sqlite=False))
    if args.sqlite:
        asyncio.run(one(args, sqlite=True))


if __name__ == "__main__":
    main()
