"""Energy community (CER) benchmark: a year's hourly shared energy of 1,000 PODs through the
database, beside the pure core's figure in the same run.

Issue 18's target: "a community of 1,000 points of delivery with a year of 15-min data: hourly
shared energy for the year < 10 s". ``bench/community.py`` times the pure core with the data in
memory; this times what a user asks for: ``GET /api/energy/aggregations?community=..&from=..&to=..``
over the year, through its service function (``energy_routes.shared_energy_of``, the simulator
as the caller: access, plants, the PODs' hourly energy from the stored rollups, the core, the
response model).

The database (a PostgreSQL database and a SQLite file, both made fresh unless ``--pg-db`` /
``--sqlite-file`` name a kept one built by an earlier run) holds the PODs of
``bench/community_pods.py`` (as ``community_db.py``) for the whole of 2025 (Europe/Rome): 1,000
sites each metered by one grid-connection meter (the POD), 15-min ``energy_kwh`` registers and,
for the PV prosumers, ``energy_export_kwh``, on two primary substations. Rolling up 1,000 PODs'
year (about 45 M readings) takes hours on this machine, so ``--source`` PODs (10) are written
and rolled up by ``refresh_pending`` and the other PODs get copies of their stored rows
(``_clone``: the hourly stored energy and 1 h rollups of the year, readings and other rollups of
the last two days): the 1,000 meters' hourly stored energy is what a year of rollups leaves. The
community is made through its services.

Printed per back end: the year's shared energy (after one untimed warm-up, then ``--repeat``
timed runs), the shared MWh and coverage per substation, and the pure core's year (the same
generator and call as ``bench/community.py``) timed in the same process just before.

    flock /tmp/lead/bench.lock .venv/bin/python bench/community_year_db.py
        [--pods 1000] [--source 10] [--no-pg] [--no-sqlite] [--pg-db NAME] [--sqlite-file PATH]
        [--build-only] [--resume]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from balance_sql_data import write_readings
from community import make_community, make_energy
from community_pods import (
    Q_MS,
    bench_community,
    pg_engine,
    pod_sites,
    register_rows,
    registers,
    sqlite_engine,
)
from gridpilot.analytics.community.settlement import month_bounds_utc
from gridpilot.analytics.community.shared_energy import shared_energy, to_hourly
from gridpilot.assets.models import Asset, Site
from gridpilot.community import energy
from gridpilot.community.energy_routes import shared_energy_of
from gridpilot.community.models import Community
from gridpilot.community.pod_hours import StoredHours
from gridpilot.core.settings import Settings
from gridpilot.sim.provision import SIMULATOR
from gridpilot.telemetry.rollups import refresh_pending

YEAR = 2025
CHUNK = 96 * 7  # quarter hours written per statement group (a week)


def year_bounds() -> tuple[int, int]:
    """The year's UTC bounds [ms] (Europe/Rome months)."""
    start, _ = month_bounds_utc(YEAR, 1)
    _, end = month_bounds_utc(YEAR, 12)
    return int(start.value // 1_000_000), int(end.value // 1_000_000)


async def build(engine: AsyncEngine, pods: int, seed: int, source: int) -> dict:
    """The year's readings of ``source`` PODs (week by week), their pending ranges and rollups
    (``refresh_pending``); then copies of them for the other PODs (``_clone``); the community."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    start_ms, end_ms = year_bounds()
    steps = (end_ms - start_ms) // Q_MS + 1
    source = min(source, pods)
    imported, exported, pv_kw = registers(source, start_ms, steps, seed)
    site_ids, meter_ids, metric = await pod_sites(sessions, pods)
    began, readings = time.perf_counter(), 0
    for lo in range(0, steps, CHUNK):
        rows = register_rows(meter_ids[:source], metric, start_ms,
                             slice(lo, min(lo + CHUNK, steps)), imported, exported)  # fmt: skip
        readings += len(rows)
        async with engine.begin() as conn:
            await write_readings(conn, rows)
    written_s = time.perf_counter() - began
    pending = [
        {"a": a, "m": metric[key], "s": start_ms, "e": start_ms + (steps - 1) * Q_MS}
        for i, a in enumerate(meter_ids[:source])
        for key in ("energy_kwh", "energy_export_kwh")
        if key == "energy_kwh" or pv_kw[i] > 0
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms, version)"
                " VALUES (:a, :m, :s, :e, 0)"
            ),
            pending,
        )
    await refresh_pending(sessions=sessions, settings=Settings())
    rolled_s = time.perf_counter() - began
    cloned = await _clone(engine, meter_ids, source)
    pv_all = np.resize(pv_kw, pods)
    community_id = await bench_community(sessions, site_ids, meter_ids, pv_all, seed)
    return {
        "readings_rolled_up": readings,
        "source_pods": source,
        "written_s": round(written_s, 1),
        "written_and_rolled_up_s": round(rolled_s, 1),
        "cloned": cloned,
        "cloned_s": round(time.perf_counter() - began - rolled_s, 1),
        "community_id": community_id,
    }


#: What ``_clone`` copies: what an hourly read of the year touches. The hourly stored energy
#: and the 1 h rollups of the whole year, the readings and the other levels' rollups of the last
#: two days only (the balance reads the raw readings and rollups around each series' split:
#: its last hour and the step across the end). Copying every reading and rollup level (about
#: 100 M rows) did not fit the time on this machine.
CLONED = {
    "readings": " WHERE t.ts >= :recent",
    "rollups": " WHERE (t.step_ms = 3600000 OR t.bucket_ms >= :recent)",
    "balance_energy": " WHERE t.step_ms = 3600000",
    "balance_energy_series": "",
}


async def _clone(engine: AsyncEngine, meter_ids: list[int], source: int) -> dict:
    """Copy the stored rows of the first ``source`` meters to the others (meter ``i`` gets
    meter ``i % source``'s): real rollups of real readings without rolling up 1,000 PODs'
    year (about 45 M readings; rolling up 20 PODs' year took 270 s under load 9)."""
    pairs = [{"s": meter_ids[i % source], "d": a} for i, a in enumerate(meter_ids) if i >= source]
    counts = {}
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS bench_clone"))
        await conn.execute(text("CREATE TABLE bench_clone (src INTEGER, dst INTEGER)"))
        await conn.execute(text("INSERT INTO bench_clone (src, dst) VALUES (:s, :d)"), pairs)
        for table, where in CLONED.items():
            cols = (await conn.execute(text(f"SELECT * FROM {table} LIMIT 0"))).keys()
            names = ", ".join(f'"{c}"' for c in cols)
            picked = ", ".join("m.dst" if c == "asset_id" else f't."{c}"' for c in cols)
            done = await conn.execute(
                text(
                    f"INSERT INTO {table} ({names}) SELECT {picked} FROM {table} t"
                    f" JOIN bench_clone m ON t.asset_id = m.src{where}"
                ),
                {"recent": year_bounds()[1] - 2 * 86_400_000} if ":recent" in where else {},
            )
            counts[table] = done.rowcount
        await conn.execute(text("DROP TABLE bench_clone"))
    if engine.dialect.name == "postgresql":  # as autovacuum would after such a load
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in CLONED:
                await conn.execute(text(f"ANALYZE {table}"))
    return counts


async def resume(engine: AsyncEngine, pods: int, seed: int, source: int) -> dict:
    """``build`` after its rollups (a run stopped while copying): copies and the community."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    start_ms, end_ms = year_bounds()
    pv_kw = registers(source, start_ms, (end_ms - start_ms) // Q_MS + 1, seed)[2]
    async with sessions() as session:
        site_ids = list((await session.scalars(select(Site.id).order_by(Site.id))).all())
        meter_ids = list((await session.scalars(select(Asset.id).order_by(Asset.id))).all())
    began = time.perf_counter()
    cloned = await _clone(engine, meter_ids, source)
    community_id = await bench_community(
        sessions, site_ids, meter_ids, np.resize(pv_kw, pods), seed
    )
    return {"resumed": True, "cloned": cloned, "cloned_s": round(time.perf_counter() - began, 1),
            "community_id": community_id}  # fmt: skip


async def _kept(engine: AsyncEngine) -> int | None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        return await session.scalar(select(Community.id).where(Community.code == "CER-BENCH"))


def pure_core(pods: int, seed: int) -> dict:
    """``bench/community.py``'s year: ``to_hourly`` + ``shared_energy`` in memory [s]."""
    start, _ = month_bounds_utc(YEAR, 1)
    _, end = month_bounds_utc(YEAR, 12)
    members, _ = make_community(pods, seed)
    injected, withdrawn = make_energy(members, start, end, seed)
    began = time.perf_counter()
    shared = shared_energy(to_hourly(injected, withdrawn, start, end), members)
    return {"pure_core_year_s": round(time.perf_counter() - began, 2), "hours": len(shared.hours)}


async def _no_stored_hours(session: Any, site_ids: Any, lo: int, hi: int, now: int) -> Any:
    return StoredHours(lo, lo)


async def measure(engine: AsyncEngine, cid: int, repeat: int, with_before: bool) -> dict:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    start_ms, end_ms = year_bounds()

    async def shared() -> Any:
        async with sessions() as session:
            return await shared_energy_of(session, SIMULATOR, cid, str(start_ms), str(end_ms))

    await shared()  # warm-up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        aggregation = await shared()
        times.append(round(time.perf_counter() - began, 2))
    before: dict[str, Any] = {}
    if with_before:  # the path before: every site's balance over the whole year
        stored_hours = energy.stored_hours
        energy.stored_hours = _no_stored_hours  # type: ignore[assignment]
        try:
            began = time.perf_counter()
            old = await shared()
            before["before_site_balances_year_s"] = round(time.perf_counter() - began, 2)
            before["before_same_answer"] = old == aggregation
        finally:
            energy.stored_hours = stored_hours
    return {
        **before,
        "shared_energy_year_s": times,
        "hours": len(aggregation.substations[0].hours),
        "shared_mwh": {
            g.substation: round(g.shared_kwh / 1000, 3) for g in aggregation.substations
        },
        "coverage": {g.substation: g.coverage for g in aggregation.substations},
        "target_met_under_10s": min(times) < 10,
        "load_average": os.getloadavg(),
    }


async def run(args: argparse.Namespace) -> dict:
    results: dict[str, Any] = {}
    backends = [] if args.no_pg else [("postgresql", pg_engine, args.pg_db)]
    backends += [] if args.no_sqlite else [("sqlite", sqlite_engine, args.sqlite_file)]
    for label, make, keep in backends:
        core = {} if args.build_only else pure_core(args.pods, args.seed)
        async with make("gridpilot_bench_ceryear", keep) as engine:
            cid = await _kept(engine)
            if cid:
                built: dict[str, Any] = {"kept": True}
            elif args.resume:
                built = await resume(engine, args.pods, args.seed, args.source)
            else:
                built = await build(engine, args.pods, args.seed, args.source)
            cid = cid or built["community_id"]
            timed = {} if args.build_only else await measure(engine, cid, args.repeat, args.before)
            results[label] = {"pods": args.pods, "year": YEAR, **built, **core, **timed}
        print(json.dumps({label: results[label]}, indent=2), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--source", type=int, default=20, help="PODs rolled up; the others are their copies"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build (and keep) the databases, time nothing"
    )
    parser.add_argument("--resume", action="store_true", help="a kept build stopped after rollups")
    parser.add_argument(
        "--before", action="store_true", help="also time the path before (site balances)"
    )
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--pg-db", help="keep (or reuse) this PostgreSQL database")
    parser.add_argument("--sqlite-file", help="keep (or reuse) this SQLite file")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
