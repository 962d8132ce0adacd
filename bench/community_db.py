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
import contextlib
import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from balance_sql_data import _write
from gridpilot.analytics.community.settlement import month_bounds_utc
from gridpilot.assets.models import Asset, Metric, Site
from gridpilot.assets.service import ensure_builtin_metrics
from gridpilot.community import parameter_store, plants, prices, service, settlements
from gridpilot.community.energy_routes import shared_energy_of
from gridpilot.community.schemas import CommunityIn, DistributionRule, MemberIn, PlantIn
from gridpilot.community.statement_batch import member_statements
from gridpilot.community.statement_pdf import statement_pdf
from gridpilot.community.statements import render_csv
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import upgrade
from gridpilot.sim.provision import SIMULATOR
from gridpilot.sim.zonal_prices import gme_csv
from gridpilot.telemetry.rollups import refresh_pending

Q_MS = 900_000
SUBSTATIONS = ("AC001E00901", "AC001E00902")


def last_month(now: datetime) -> tuple[int, int]:
    """The last ended month (Europe/Rome)."""
    first = now.astimezone(ZoneInfo("Europe/Rome")).date().replace(day=1) - timedelta(days=1)
    return first.year, first.month


def registers(
    pods: int, start_ms: int, steps: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Import and export registers [kWh] per POD (rows) and quarter hour, and each POD's PV
    power [kW] (0: a consumer): loads with an evening peak; 30 % of the PODs PV prosumers."""
    rng = np.random.default_rng(seed)
    hours = ((start_ms + np.arange(steps) * Q_MS) // 3_600_000 % 24).astype(float)
    base = rng.uniform(0.1, 3.0, size=(pods, 1))
    evening = 1.0 + 0.8 * np.exp(-((hours - 19.0) ** 2) / 6.0)[None, :]
    load = base * evening * rng.uniform(0.7, 1.3, size=(pods, steps)) / 4  # kWh a quarter
    pv_kw = np.where(rng.random(pods) < 0.3, rng.choice([3, 6, 20, 150, 300, 900], pods), 0.0)
    sun = np.clip(np.sin((hours - 6.0) / 12.0 * np.pi), 0.0, None)[None, :]
    produced = pv_kw[:, None] * sun * rng.uniform(0.3, 1.0, size=(1, steps)) / 4
    net = load - produced
    imported = np.cumsum(np.clip(net, 0.0, None), axis=1) + 1000.0
    exported = np.cumsum(np.clip(-net, 0.0, None), axis=1) + 10.0
    return imported, np.where(pv_kw[:, None] > 0, exported, np.nan), pv_kw


async def build(engine: AsyncEngine, pods: int, year: int, month: int, seed: int) -> dict:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    start, end = month_bounds_utc(year, month)
    start_ms, end_ms = int(start.value // 1_000_000), int(end.value // 1_000_000)
    steps = (end_ms - start_ms) // Q_MS + 1  # the register at the month's end too
    imported, exported, pv_kw = registers(pods, start_ms, steps, seed)
    async with sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
        sites = [Site(name=f"POD site {i:04d}", timezone="Europe/Rome") for i in range(pods)]
        session.add_all(sites)
        await session.flush()
        meters = [
            Asset(
                site_id=s.id,
                name="POD meter",
                kind="grid_connection",
                role="grid_connection",
                expected_interval_s=900,
            )
            for s in sites
        ]
        session.add_all(meters)
        await session.flush()
        metric = {k: int(i) for k, i in (await session.execute(select(Metric.key, Metric.id)))}
        site_ids, meter_ids = [s.id for s in sites], [a.id for a in meters]
    ts = [start_ms + k * Q_MS for k in range(steps)]
    rows: list[tuple[int, int, int, float]] = []
    for i, asset in enumerate(meter_ids):
        rows += zip(
            [asset] * steps, [metric["energy_kwh"]] * steps, ts, imported[i].tolist(), strict=True
        )
        if pv_kw[i] > 0:
            rows += zip(
                [asset] * steps,
                [metric["energy_export_kwh"]] * steps,
                ts,
                exported[i].tolist(),
                strict=True,
            )
    began = time.perf_counter()
    await _write(engine, rows)
    await refresh_pending(sessions=sessions, settings=Settings())
    loaded_s = time.perf_counter() - began
    community_id = await _community(sessions, site_ids, meter_ids, pv_kw, seed)
    return {
        "readings": len(rows),
        "load_and_rollups_s": round(loaded_s, 1),
        "community_id": community_id,
    }


async def _community(
    sessions: async_sessionmaker, site_ids: list[int], meter_ids: list[int], pv_kw: Any, seed: int
) -> int:
    rng = np.random.default_rng(seed + 1)
    rule = DistributionRule(
        fees_eur={"management": Decimal("50.00")},
        reserve_share=Decimal("0.1"),
        producer_share=Decimal("0.5"),
        consumer_key="consumption",
    )
    async with sessions() as session, session.begin():
        access = await service.create_community(
            session=session,
            principal=SIMULATOR,
            data=CommunityIn(
                name="CER bench",
                code="CER-BENCH",
                primary_substations=list(SUBSTATIONS),
                market_zone="SUD",
                region="Puglia",
                distribution=rule,
            ),
        )
        cid = access.community.id
        for i, (site, meter) in enumerate(zip(site_ids, meter_ids, strict=True)):
            business = rng.random() < 0.15
            member = await service.add_member(
                session=session,
                principal=SIMULATOR,
                community_id=cid,
                data=MemberIn(
                    name=f"Member {i:04d}",
                    user_type="BUSINESS" if business else "PRIVATE",
                    category="sme" if business else "none",
                    joined_on=date(2024, 1, 1),
                ),
            )
            pv = float(pv_kw[i])
            await plants.create_plant(
                session=session,
                principal=SIMULATOR,
                data=PlantIn(
                    community_id=cid,
                    member_id=member.member_id,
                    name=f"POD {i:04d}",
                    pod_code=f"IT001E{i:08d}",
                    plant_type="PROSUMER" if pv else "CONSUMER",
                    nominal_power_kw=Decimal(str(pv)),
                    technology="pv" if pv else None,
                    commissioning_date=date(2024, 1 + i % 12, 1) if pv else None,
                    capital_grant_pct=Decimal(20) if pv and i % 7 == 0 else Decimal(0),
                    primary_substation=SUBSTATIONS[i % 2],
                    site_id=site,
                    asset_id=meter,
                ),
            )
        await parameter_store.record_version(
            session=session,
            principal=SIMULATOR,
            name="arera_valorisation_eur_per_mwh",
            value=Decimal("10.57"),
            valid_from=date(2024, 1, 1),
            valid_to=None,
            note="bench",
        )
    return cid


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


@contextlib.asynccontextmanager
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    name = f"gridpilot_bench_cer_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(Settings(database_url=f"postgresql://postgres@127.0.0.1:5432/{name}"))
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    with tempfile.TemporaryDirectory(prefix="gridpilot-cer-") as tmp:
        engine = make_engine(Settings(database_url=f"sqlite:///{tmp}/bench.db"))
        try:
            await upgrade(engine)
            yield engine
        finally:
            await engine.dispose()


async def run(args: argparse.Namespace) -> dict:
    year, month = last_month(datetime.now(UTC))
    results = {}
    backends = [("postgresql", pg_engine)] if not args.no_pg else []
    backends += [("sqlite", sqlite_engine)] if not args.no_sqlite else []
    for label, make in backends:
        async with make() as engine:
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
