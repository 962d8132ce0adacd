"""The site energy balance SQL at fleet scale (issue #14): ``site_balances`` of one site of 1,000
consumer meters under a main meter, the current statement beside the original one
(``bench/balance_sql_reference.py``, frozen) in the same run, results compared.

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/balance_sql.py            # PostgreSQL
    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/balance_sql.py --sqlite   # and SQLite
    ... --linked     # the meters name the main meter as parent (their energy then comes from
                     # meters_sql, the remainder's statement, timed with_remainders=True)
    ... --explain    # EXPLAIN (ANALYZE, BUFFERS) summaries (PostgreSQL), full plans in /tmp

A throw-away PostgreSQL database (127.0.0.1:5432, user postgres; dropped at the end) and a
temporary SQLite file, migrated with ``gridpilot.db.migrate.upgrade``; data from
``bench/balance_sql_data.py``. Figures are wall-clock milliseconds of the whole
``site_balances`` call (SQL and solver), p50/p95 over ``--runs`` after one unmeasured run, with
the 1-min load average when each figure was taken. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

import balance_sql_reference as reference
from balance_sql_data import DAY_MS, Q_MS, BigSite, build
from gridpilot.balance import queries, service, stored_sql, submeters
from gridpilot.balance.grid import make_grid
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import upgrade

PERIODS = (("1 d", 1), ("7 d", 7), ("30 d", 30))
TOLERANCE_KWH = 1e-9


@contextlib.contextmanager
def statements(which: str) -> Iterator[None]:
    """Serve ``site_balances`` with the current (``new``) or the original (``ref``) builders."""
    if which == "new":
        yield
        return
    saved = service.balance_sql, submeters.meters_sql, stored_sql.applies
    # the original builders take the grid only and answer rows (never the stored path's arrays)
    service.balance_sql = lambda grid, **_: reference.balance_sql(grid)  # type: ignore[assignment]
    submeters.meters_sql = lambda grid, **_: reference.meters_sql(grid)  # type: ignore[assignment]
    stored_sql.applies = lambda grid: False  # type: ignore[assignment]
    try:
        yield
    finally:
        service.balance_sql, submeters.meters_sql, stored_sql.applies = saved


def params(site: BigSite, days: int) -> tuple[Any, dict[str, Any]]:
    grid = make_grid(site.end_ms - days * DAY_MS, site.end_ms, None)
    values = {
        "site_ids": [site.site_id],
        "lo": grid.lo,
        "hi": grid.hi,
        "level": grid.level_ms,
        "now": site.end_ms + 60_000,
        "max_gap": 900_000,
    }
    return grid, values


async def timed(
    sessions: async_sessionmaker, site: BigSite, days: int, runs: int, linked: bool
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of ``site_balances`` per run (one unmeasured run first).
    CPU: this process plus, on PostgreSQL, the session's backend (steadier under load)."""
    wall, cpu = [], []
    for i in range(runs + 1):
        async with sessions() as session:
            backend = await _backend_pid(session)
            c0, t0 = _cpu_ms(backend), time.perf_counter()
            await service.site_balances(
                session=session,
                site_ids=[site.site_id],
                start_ms=site.end_ms - days * DAY_MS,
                end_ms=site.end_ms,
                now_ms=site.end_ms + 60_000,
                with_remainders=linked,
            )
            if i:
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append(_cpu_ms(backend) - c0)
    return wall, cpu


async def _backend_pid(session: Any) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int(await session.scalar(text("SELECT pg_backend_pid()")))


def _cpu_ms(backend: int | None) -> float:
    """CPU [ms] of this process and of the PostgreSQL backend ``backend`` (same host)."""
    own = time.process_time() * 1000
    if backend is None:
        return own
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    return own + (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def summary(ms: list[float]) -> str:
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return f"p50 {statistics.median(ms):8.0f} ms  p95 {p95:8.0f} ms"


async def rows_of(sessions: async_sessionmaker, sql: TextClause, values: dict) -> dict:
    async with sessions() as session:
        found = (await session.execute(sql, values)).all()
    return {tuple(r[:-3] if len(r) == 7 else r[:-1]): r for r in found}


async def compare(sessions: async_sessionmaker, site: BigSite, days: int) -> str:
    """Equal rows of the new and the original statements (kWh within ``TOLERANCE_KWH``)."""
    grid, values = params(site, days)
    notes = []
    for name in ("balance_sql", "meters_sql"):
        new = await rows_of(sessions, getattr(queries, name)(grid), values)
        old = await rows_of(sessions, getattr(reference, name)(grid), values)
        bad = [k for k in old.keys() | new.keys() if not _same(old.get(k), new.get(k))]
        if bad:
            raise AssertionError(f"{name} {days} d: {len(bad)} rows differ, e.g. {sorted(bad)[:3]}")
        notes.append(f"{name} {len(new)} rows equal")
    return ", ".join(notes)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    kwh = 4 if len(a) == 7 else -1
    if abs(float(a[kwh]) - float(b[kwh])) > TOLERANCE_KWH:
        return False
    return tuple(a[:kwh]) + tuple(a[kwh + 1 :]) == tuple(b[:kwh]) + tuple(b[kwh + 1 :])


async def explain(sessions: async_sessionmaker, site: BigSite, days: int, which: str) -> str:
    """The plan's summary lines (sorts, spills, times); the whole plan goes to /tmp."""
    module = queries if which == "new" else reference
    grid, values = params(site, days)
    sql = text("EXPLAIN (ANALYZE, BUFFERS) " + module.balance_sql(grid).text)
    sql = sql.bindparams(bindparam("site_ids", expanding=True))
    async with sessions() as session:
        plan = [r[0] for r in (await session.execute(sql, values)).all()]
    path = Path(tempfile.gettempdir()) / f"balance_sql_{which}_{days}d.plan.txt"
    path.write_text("\n".join(plan) + "\n")
    keep = ("Sort Method", "Execution Time", "Planning Time", "HashAggregate", "Disk")
    lines = [plan[0]] + [line for line in plan if any(k in line for k in keep)]
    return "\n".join(f"    {line.strip()[:150]}" for line in lines) + f"\n    (plan: {path})"


async def built(engine: AsyncEngine, args: argparse.Namespace) -> BigSite:
    settings = Settings(database_url=engine.url.render_as_string(hide_password=False))
    await upgrade(engine)
    now = int(time.time() * 1000)
    return await build(
        engine, settings, meters=args.meters, days=args.days, now_ms=now, linked=args.linked
    )


async def found(engine: AsyncEngine) -> BigSite:
    """The site of a kept database."""
    async with engine.connect() as conn:
        site_id, main_id = (
            await conn.execute(
                text("SELECT site_id, id FROM assets WHERE role = 'grid_connection'")
            )
        ).one()
        ids = (
            (await conn.execute(text("SELECT id FROM assets WHERE role = 'consumer' ORDER BY id")))
            .scalars()
            .all()
        )
        lo, hi, n = (
            await conn.execute(text("SELECT MIN(ts), MAX(ts), COUNT(*) FROM readings"))
        ).one()
    return BigSite(site_id, main_id, tuple(ids), lo, hi + Q_MS, n)


async def measure(engine: AsyncEngine, args: argparse.Namespace, label: str) -> None:
    t0 = time.perf_counter()
    site = await found(engine) if args.database else await built(engine, args)
    built_s = time.perf_counter() - t0
    print(
        f"\n== {label}: {args.meters} meters, {args.days} d, {site.readings:,} readings, "
        f"built and rolled up in {built_s:.0f} s (linked={args.linked})",
        flush=True,
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    for name, days in PERIODS:
        print(f"  {name}: {await compare(sessions, site, days)}", flush=True)
        for which, runs in (("new", args.runs), ("ref", args.ref_runs)):
            if runs <= 0:
                continue
            with statements(which):
                ms, cpu = await timed(sessions, site, days, runs, args.linked)
            load = os.getloadavg()[0]
            print(
                f"  {name} {which}: {summary(ms)}  CPU p50 {statistics.median(cpu):6.0f} ms"
                f"  ({len(ms)} runs, load {load:.2f})",
                flush=True,
            )
            if args.explain and engine.dialect.name == "postgresql":
                print(await explain(sessions, site, days, which), flush=True)


@contextlib.asynccontextmanager
async def pg_engine(keep: bool) -> AsyncIterator[AsyncEngine]:
    """A fresh database, dropped at the end unless ``keep`` (then its name is printed)."""
    name = f"gridpilot_bench_balance_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(Settings(database_url=f"postgresql://postgres@127.0.0.1:5432/{name}"))
    try:
        yield engine
    finally:
        await engine.dispose()
        if keep:
            print(f"kept {name}: bench/balance_sql.py --database {name}; drop it when done")
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def kept_engine(name: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(Settings(database_url=f"postgresql://postgres@127.0.0.1:5432/{name}"))
    try:
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    with tempfile.TemporaryDirectory(prefix="gridpilot-balance-") as tmp:
        engine = make_engine(Settings(database_url=f"sqlite:///{tmp}/bench.db"))
        try:
            yield engine
        finally:
            await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    backends: list[tuple[str, Callable[[], Any]]] = []
    if args.database:
        backends.append(("PostgreSQL (kept)", lambda: kept_engine(args.database)))
    elif not args.no_pg:
        backends.append(("PostgreSQL", lambda: pg_engine(args.keep)))
    if args.sqlite:
        backends.append(("SQLite", sqlite_engine))
    for label, make in backends:
        async with make() as engine:
            await measure(engine, args, label)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7, help="days of 15-min history")
    parser.add_argument("--runs", type=int, default=5, help="measured runs of the current SQL")
    parser.add_argument("--ref-runs", type=int, default=3, help="runs of the original SQL")
    parser.add_argument("--sqlite", action="store_true", help="also a temporary SQLite file")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--linked", action="store_true", help="meters under the main meter")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE (PostgreSQL)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--database", help="measure a kept database again (no build)")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
