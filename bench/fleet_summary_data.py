"""The database of ``bench/fleet_summary.py``: the fleet of ``bench/fleet.py`` (``fleet_data``:
the same sites, assets, roles, sub-meters and readings) written directly instead of through the
API, so that 1,000 sites are ready in minutes: sites and assets through the ORM, readings by
COPY (PostgreSQL) or executemany (SQLite), rollups and stored energy by ``refresh_pending``.

History at 15 min for ``days`` up to the last quarter hour, then 1-min readings for the last
``live_minutes`` (the current balance counts readings of the last 5 minutes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from fleet_data import EXTRA_METRIC, MINUTE_MS, QUARTER_MS, FleetSize, ReadingModel, plan_fleet
from fleet_data import SiteSpec as SiteSpec
from gridpilot.assets.models import Asset, Metric, Site
from gridpilot.assets.service import ensure_builtin_metrics
from gridpilot.core.settings import Settings
from gridpilot.telemetry.partitions import day_start_ms, ensure_partitions
from gridpilot.telemetry.rollups import floor_to, refresh_pending

Row = tuple[int, int, int, float]
CHUNK = 200_000  # readings per COPY / executemany


async def _provision(sessions: async_sessionmaker, sites: list[SiteSpec]) -> dict[str, int]:
    """Sites and assets (ids written into the specs); metric ids by key."""
    async with sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
        session.add(Metric(kind="gauge", builtin=False, **EXTRA_METRIC))
        rows = [
            Site(
                name=s.name,
                timezone="UTC",
                latitude=s.latitude,
                longitude=s.longitude,
                contract_demand_kw=s.contract_kw,
            )
            for s in sites
        ]
        session.add_all(rows)
        await session.flush()
        for spec, row in zip(sites, rows, strict=True):
            spec.site_id = row.id
        for pass_ in (False, True):  # main meters first: sub-meters name them
            assets = [(a, _asset(s, a)) for s in sites for a in s.assets if a.sub_meter is pass_]
            session.add_all([row for _, row in assets])
            await session.flush()
            for spec, row in assets:
                spec.asset_id = row.id
        keys = (await session.execute(select(Metric.key, Metric.id))).all()
    return {str(k): int(i) for k, i in keys}


def _asset(site: SiteSpec, spec: object) -> Asset:
    return Asset(
        site_id=site.site_id,
        name=spec.name,  # type: ignore[attr-defined]
        kind=spec.kind,  # type: ignore[attr-defined]
        role=spec.role,  # type: ignore[attr-defined]
        rated_capacity_kw=spec.rated_kw,  # type: ignore[attr-defined]
        expected_interval_s=60,  # as bench/fleet.py provisions them
        parent_asset_id=site.main.asset_id if spec.sub_meter else None,  # type: ignore[attr-defined]
    )


def _rows(
    model: ReadingModel, metric: dict[str, int], instants: Iterator[tuple[int, int]]
) -> Iterator[Row]:
    for ts, step in instants:
        for r in model.readings_at(ts, step):
            yield int(r["asset"]), metric[str(r["metric"])], ts, float(r["value"])  # type: ignore[arg-type]


async def _write(
    engine: AsyncEngine, rows: list[Row], pending: dict[tuple[int, int], list[int]]
) -> None:
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await ensure_partitions(conn, sorted({day_start_ms(r[2]) for r in rows}))
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.copy_records_to_table(
                "readings", records=rows, columns=["asset_id", "metric_id", "ts", "value"]
            )
        else:
            await conn.execute(
                text(
                    "INSERT INTO readings (asset_id, metric_id, ts, value) VALUES (:a, :m, :t, :v)"
                ),
                [{"a": a, "m": m, "t": t, "v": v} for a, m, t, v in rows],
            )
    for a, m, ts, _ in rows:
        span = pending.setdefault((a, m), [ts, ts])
        span[0], span[1] = min(span[0], ts), max(span[1], ts)


async def _statuses(engine: AsyncEngine, pending: dict[tuple[int, int], list[int]]) -> None:
    """Each asset's stored status as the ingest's status tracker would have persisted it:
    online since its first reading, last seen at its newest."""
    seen: dict[int, list[int]] = {}
    for (asset, _metric), (first, last) in pending.items():
        span = seen.setdefault(asset, [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)
    async with engine.begin() as conn:
        sites = dict((await conn.execute(text("SELECT id, site_id FROM assets"))).all())
        await conn.execute(
            text(
                "INSERT INTO asset_status (asset_id, site_id, status, reason, last_seen_ms,"
                " changed_ms) VALUES (:a, :s, 'online', 'data', :last, :first)"
            ),
            [
                {"a": a, "s": sites[a], "last": last, "first": first}
                for a, (first, last) in seen.items()
            ],
        )


async def build(
    engine: AsyncEngine, settings: Settings, size: FleetSize, now_ms: int, live_minutes: int = 30
) -> tuple[list[SiteSpec], int]:
    """The fleet, its readings up to ``now_ms`` and its rollups; (sites, readings written)."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sites = plan_fleet(size)
    metric = await _provision(sessions, sites)
    model = ReadingModel(sites)
    live_from = floor_to(now_ms, MINUTE_MS) - live_minutes * MINUTE_MS
    start = floor_to(live_from, QUARTER_MS) - int(size.days * 96) * QUARTER_MS
    instants = [(t, QUARTER_MS) for t in range(start, live_from, QUARTER_MS)]
    instants += [(t, MINUTE_MS) for t in range(live_from, now_ms, MINUTE_MS)]
    pending: dict[tuple[int, int], list[int]] = {}
    written, chunk = 0, []
    for row in _rows(model, metric, iter(instants)):
        chunk.append(row)
        if len(chunk) >= CHUNK:
            await _write(engine, chunk, pending)
            written, chunk = written + len(chunk), []
    if chunk:
        await _write(engine, chunk, pending)
        written += len(chunk)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms, version)"
                " VALUES (:a, :m, :s, :e, 0)"
            ),
            [{"a": a, "m": m, "s": s, "e": e} for (a, m), (s, e) in pending.items()],
        )
    await _statuses(engine, pending)
    t0 = time.perf_counter()
    await refresh_pending(sessions=sessions, settings=settings)
    print(f"  rollups and stored energy refreshed in {time.perf_counter() - t0:.0f} s", flush=True)
    return sites, written
