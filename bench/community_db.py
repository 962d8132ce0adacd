"""Energy community (CER) benchmark through the database: a month's settlement of 1,000 members.

Issue 18's stored-path target: "a monthly settlement with statements for every member < 30 s
(PostgreSQL and SQLite)". Built in a fresh database (a temporary PostgreSQL database, dropped
after, and a temporary SQLite file): 1,000 sites each metered by one grid-connection meter (the
POD), 15-min ``energy_kwh`` (import) registers for every POD and ``energy_export_kwh`` registers
for the 30 % with PV (3 to 900 kW, every TIP band, some with a capital grant), over one ended
month (Europe/Rome), on two primary substations, written directly (COPY on PostgreSQL) with
their rollups refreshed; the community, members and plants made through the community services,
hourly SUD zonal prices through the GME importer, the ARERA valorisation recorded.

Timed, each through the same service functions as the API (``sim.provision.SIMULATOR`` as the
caller), after one untimed warm-up of the shared energy:

* **shared energy**: the month's hourly shared energy per substation (``energy_routes``'
  ``shared_energy_of``, what ``GET /api/energy/aggregations`` answers);
* **run**: ``settlements.run_settlement`` (POD energy from the site balances, prices,
  parameters, ``settle_month``, stored);
* **close**: ``close_settlement`` (immutable, ledger lines written);
* **statements**: every member's statement as CSV and as PDF: read for all members at once
  (``statement_batch.member_statements``, as the community statements report reads them; the
  read counts in the CSV time), then ``render_csv`` and ``statement_pdf`` per member;
  ``--one-by-one`` also times reading them one member at a time as ``GET
  .../statements/{member}.csv`` does (how this bench read them before).

    flock /tmp/gridpilot-bench.lock .venv/bin/python bench/community_db.py [--pods 1000]
        [--no-pg] [--no-sqlite] [--one-by-one]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from balance_sql_data import _write
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
from gridpilot.community import prices, settlements
from gridpilot.community.energy_routes import shared_energy_of
from gridpilot.community.statement_batch import member_statements
from gridpilot.community.statement_pdf import statement_pdf
from gridpilot.community.statements import render_csv
from gridpilot.core.settings import Settings
from gridpilot.sim.provision import SIMULATOR
from gridpilot.sim.zonal_prices import gme_csv
from gridpilot.telemetry.rollups import refresh_pending


def last_month(now: datetime) -> tuple[int, int]:
    """The last ended month (Europe/Rome)."""
    first = now.astimezone(ZoneInfo("Europe/Rome")).date().replace(day=1) - timedelta(days=1)
    return first.year, first.month


async def build(engine: AsyncEngine, pods: int, year: int, month: int, seed: int) -> dict:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    start, end = month_bounds_utc(year, month)
    start_ms, end_ms = int(start.value // 1_000_000), int(end.value // 1_000_000)
    steps = (end_ms - start_ms) // Q_MS + 1  # the register at the month's end too
    imported, exported, pv_kw = registers(pods, start_ms, steps, seed)
    site_ids, meter_ids, metric = await pod_sites(sessions, pods)
    rows = register_rows(meter_ids, metric, start_ms, slice(0, steps), imported, exported)
    began = time.perf_counter()
    await _write(engine, rows)
    await refresh_pending(sessions=sessions, settings=Settings())
    loaded_s = time.perf_counter() - began
    community_id = await bench_community(sessions, site_ids, meter_ids, pv_kw, seed)
    return {
        "readings": len(rows),
        "load_and_rollups_s": round(loaded_s, 1),
        "community_id": community_id,
    }


async def _one_by_one(sessions: async_sessionmaker, cid: int, closed: Any) -> float:
    """The statements read one member at a time as ``GET .../statements/{member}.csv`` does
    (before: how the bench read them) [s]."""
    began = time.perf_counter()
    async with sessions() as session:
        for part in closed.result["members"]:
            await settlements.member_statement(
                session=session,
                principal=SIMULATOR,
                community_id=cid,
                settlement_id=closed.id,
                member_id=int(part["member_id"]),
            )
    return round(time.perf_counter() - began, 2)


async def measure(
    engine: AsyncEngine, pods: int, year: int, month: int, seed: int, one_by_one: bool = False
) -> dict:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    built = await build(engine, pods, year, month, seed)
    cid = built["community_id"]
    first = date(year, month, 1)
    async with sessions() as session, session.begin():
        await prices.import_prices(
            session=session,
            principal=SIMULATOR,
            text=gme_csv(
                first - timedelta(days=1), first + timedelta(days=32), zone="SUD", seed=seed
            ),
        )
    start, end = month_bounds_utc(year, month)
    out: dict[str, Any] = {"pods": pods, "month": f"{year:04d}-{month:02d}", **built}

    async def shared() -> Any:
        async with sessions() as session:
            return await shared_energy_of(
                session, SIMULATOR, cid, start.isoformat(), end.isoformat()
            )

    await shared()  # warm-up
    began = time.perf_counter()
    aggregation = await shared()
    out["shared_energy_month_s"] = round(time.perf_counter() - began, 2)
    out["shared_mwh"] = {
        g.substation: round(g.shared_kwh / 1000, 1) for g in aggregation.substations
    }
    out["coverage"] = {g.substation: g.coverage for g in aggregation.substations}
    began = time.perf_counter()
    async with sessions() as session, session.begin():
        settlement, _ = await settlements.run_settlement(
            session=session, principal=SIMULATOR, community_id=cid, year=year, month=month
        )
    out["run_s"] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    async with sessions() as session, session.begin():
        closed = await settlements.close_settlement(
            session=session, principal=SIMULATOR, community_id=cid, settlement_id=settlement.id
        )
    out["close_s"] = round(time.perf_counter() - began, 2)
    csv_s, pdf_s, size = 0.0, 0.0, 0
    began = time.perf_counter()
    async with sessions() as session:
        statements = await member_statements(
            session=session, principal=SIMULATOR, community_id=cid, settlement_id=closed.id
        )
    read_s = time.perf_counter() - began
    for statement in statements:
        began = time.perf_counter()
        size += len(render_csv(statement.rows))
        csv_s += time.perf_counter() - began
        began = time.perf_counter()
        size += len(statement_pdf(statement.rows, statement.title))
        pdf_s += time.perf_counter() - began
    if one_by_one:
        out["statements_one_by_one_read_s"] = await _one_by_one(sessions, cid, closed)
    csv_s += read_s
    out.update(
        statements=len(statements),
        statements_read_s=round(read_s, 2),
        statements_csv_s=round(csv_s, 2),
        statements_pdf_s=round(pdf_s, 2),
        statement_bytes=size,
        gse_estimate_eur=str(closed.gse_estimate_eur),
    )
    total = out["run_s"] + out["close_s"] + csv_s + pdf_s
    out["settlement_with_statements_s"] = round(total, 2)
    out["target_met_under_30s"] = total < 30
    return out


async def run(args: argparse.Namespace) -> dict:
    year, month = last_month(datetime.now(UTC))
    results = {}
    backends = [("postgresql", pg_engine)] if not args.no_pg else []
    backends += [("sqlite", sqlite_engine)] if not args.no_sqlite else []
    for label, make in backends:
        async with make("gridpilot_bench_cer") as engine:
            results[label] = await measure(
                engine, args.pods, year, month, args.seed, args.one_by_one
            )
        print(json.dumps({label: results[label]}, indent=2), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="also time reading the statements one member at a time (as before)",
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
