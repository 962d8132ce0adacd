"""The database set-up the community benches share (``community_db.py``, a month's settlement;
``community_year_db.py``, a year's shared energy): a fresh migrated database on either back
end, PODs (one site and one grid-connection meter each) with 15-min ``energy_kwh`` registers
and, for the PV prosumers, ``energy_export_kwh``, and the community over them made through its
services (``sim.provision.SIMULATOR`` as the caller).
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from gridpilot.assets.models import Asset, Metric, Site
from gridpilot.assets.service import ensure_builtin_metrics
from gridpilot.community import parameter_store, plants, service
from gridpilot.community.schemas import CommunityIn, DistributionRule, MemberIn, PlantIn
from gridpilot.core.settings import Settings
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import upgrade
from gridpilot.sim.provision import SIMULATOR

Q_MS = 900_000
SUBSTATIONS = ("AC001E00901", "AC001E00902")
PG = "postgresql://postgres@127.0.0.1:5432"


def registers(
    pods: int, start_ms: int, steps: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Import and export registers [kWh] per POD (rows) and quarter hour, and each POD's PV
    power [kW] (0: a consumer): loads with an evening peak; 30 % of the PODs PV prosumers
    (their export NaN for a consumer)."""
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


async def pod_sites(
    sessions: async_sessionmaker, pods: int
) -> tuple[list[int], list[int], dict[str, int]]:
    """``pods`` sites (Europe/Rome) with one POD meter each: (site ids, meter ids, metric key
    -> id)."""
    async with sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
        sites = [Site(name=f"POD site {i:04d}", timezone="Europe/Rome") for i in range(pods)]
        session.add_all(sites)
        await session.flush()
        meters = [
            Asset(site_id=s.id, name="POD meter", kind="grid_connection",
                  role="grid_connection", expected_interval_s=900)
            for s in sites
        ]  # fmt: skip
        session.add_all(meters)
        await session.flush()
        metric = {k: int(i) for k, i in (await session.execute(select(Metric.key, Metric.id)))}
        return [s.id for s in sites], [a.id for a in meters], metric


def register_rows(
    meters: list[int],
    metric: dict[str, int],
    start_ms: int,
    cols: slice,
    imported: Any,
    exported: Any,
) -> list[tuple[int, int, int, float]]:
    """The readings (asset, metric, ts, value) of the registers' quarter hours ``cols`` for
    ``meters`` (row ``i`` of ``imported``/``exported`` is ``meters[i]``; no export rows for a
    consumer)."""
    ts = [start_ms + k * Q_MS for k in range(cols.start, cols.stop)]
    n = len(ts)
    rows: list[tuple[int, int, int, float]] = []
    for i, asset in enumerate(meters):
        rows += zip(
            [asset] * n, [metric["energy_kwh"]] * n, ts, imported[i, cols].tolist(), strict=True
        )
        if not np.isnan(exported[i, 0]):
            rows += zip(
                [asset] * n, [metric["energy_export_kwh"]] * n, ts, exported[i, cols].tolist(),
                strict=True,
            )  # fmt: skip
    return rows


async def bench_community(
    sessions: async_sessionmaker, site_ids: list[int], meter_ids: list[int], pv_kw: Any, seed: int
) -> int:
    """The community ``CER-BENCH`` on ``SUBSTATIONS``: a member and a plant per POD (15 %
    businesses; a prosumer's PV plant, some with a capital grant), the ARERA valorisation."""
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


@contextlib.asynccontextmanager
async def pg_engine(prefix: str, keep: str | None = None) -> AsyncIterator[AsyncEngine]:
    """A migrated PostgreSQL database: ``keep`` (made if missing, kept after), else a fresh
    ``{prefix}_{random}`` dropped at the end."""
    name = keep or f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres")
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(Settings(database_url=f"{PG}/{name}"))
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()
        if keep is None:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def sqlite_engine(prefix: str, keep: str | None = None) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite file: ``keep`` (a path, kept), else one in a temporary folder."""
    with contextlib.ExitStack() as stack:
        path = keep or f"{stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix))}/bench.db"
        engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
        try:
            await upgrade(engine)
            yield engine
        finally:
            await engine.dispose()
