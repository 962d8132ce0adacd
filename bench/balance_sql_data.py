"""The database of ``bench/balance_sql.py``: one site with a main meter and ``meters`` consumer
meters, ``days`` of 15-min readings written directly (COPY on PostgreSQL, executemany on
SQLite), rollups refreshed with ``telemetry.rollups.refresh_pending``.

Readings are deterministic (numpy, seed 14): meter ``i`` draws ``base_i + amp_i x`` a daily
sine plus noise [kW], every fourth meter also has an ``energy_kwh`` register that integrates its
power; the main meter reads the sum of the meters (power and register).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from gridpilot.assets.models import Asset, Metric, Site
from gridpilot.assets.service import ensure_builtin_metrics
from gridpilot.core.settings import Settings
from gridpilot.telemetry.partitions import day_start_ms, ensure_partitions
from gridpilot.telemetry.rollups import floor_to, refresh_pending

Q_MS = 900_000
DAY_MS = 86_400_000


@dataclass(frozen=True)
class BigSite:
    """What was built: the site, its assets and the readings' time span [ms]."""

    site_id: int
    main_id: int
    meter_ids: tuple[int, ...]
    start_ms: int
    end_ms: int
    readings: int


def profiles(meters: int, steps: int) -> np.ndarray:
    """Power [kW] per meter (rows) and quarter hour (columns), always > 0."""
    rng = np.random.default_rng(14)
    base = rng.uniform(2.0, 40.0, size=(meters, 1))
    amp = rng.uniform(0.1, 0.6, size=(meters, 1)) * base
    phase = rng.uniform(0, 2 * np.pi, size=(meters, 1))
    t = np.arange(steps)[None, :] * (2 * np.pi / 96)
    noise = rng.normal(0.0, 0.05, size=(meters, steps)) * base
    return np.maximum(base + amp * np.sin(t + phase) + noise, 0.1)


def series_rows(
    ids: tuple[int, ...], main_id: int, metric: dict[str, int], start_ms: int, kw: np.ndarray
) -> list[tuple[int, int, int, float]]:
    """``(asset_id, metric_id, ts, value)`` of every series."""
    steps = kw.shape[1]
    ts = [start_ms + k * Q_MS for k in range(steps)]
    rows: list[tuple[int, int, int, float]] = []

    def add(asset_id: int, key: str, values: np.ndarray) -> None:
        rows.extend(
            zip([asset_id] * steps, [metric[key]] * steps, ts, values.tolist(), strict=True)
        )

    total = kw.sum(axis=0)
    add(main_id, "power_kw", total)
    add(main_id, "energy_kwh", 1e5 + np.cumsum(total * 0.25))
    for i, asset_id in enumerate(ids):
        add(asset_id, "power_kw", kw[i])
        if i % 4 == 0:
            add(asset_id, "energy_kwh", 1000.0 * i + np.cumsum(kw[i] * 0.25))
    return rows


async def _assets(
    sessions: async_sessionmaker, meters: int, linked: bool
) -> tuple[int, int, tuple[int, ...], dict[str, int]]:
    async with sessions() as session, session.begin():
        await ensure_builtin_metrics(session=session)
        site = Site(name="big site", timezone="UTC")
        session.add(site)
        await session.flush()
        main = Asset(site_id=site.id, name="main", kind="grid_connection", role="grid_connection")
        main.expected_interval_s = 900
        session.add(main)
        await session.flush()
        parent = main.id if linked else None
        loads = [
            Asset(
                site_id=site.id,
                name=f"meter {i}",
                kind="meter",
                role="consumer",
                expected_interval_s=900,
                parent_asset_id=parent,
            )
            for i in range(meters)
        ]
        session.add_all(loads)
        await session.flush()
        keys = (await session.execute(select(Metric.key, Metric.id))).all()
        return site.id, main.id, tuple(a.id for a in loads), {k: int(i) for k, i in keys}


async def write_readings(conn: AsyncConnection, rows: list[tuple[int, int, int, float]]) -> None:
    """Readings (asset, metric, ts, value) straight into ``readings``: COPY on PostgreSQL (the
    day partitions made first), executemany on SQLite; no pending ranges."""
    raw = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        await ensure_partitions(conn, sorted({day_start_ms(r[2]) for r in rows}))
        await raw.copy_records_to_table(
            "readings", records=rows, columns=["asset_id", "metric_id", "ts", "value"]
        )
    else:
        await raw.executemany(
            "INSERT INTO readings (asset_id, metric_id, ts, value) VALUES (?, ?, ?, ?)", rows
        )


async def _write(engine: AsyncEngine, rows: list[tuple[int, int, int, float]]) -> None:
    """Readings and their pending ranges, as the writer would leave them."""
    pending: dict[tuple[int, int], list[int]] = {}
    for asset_id, metric_id, ts, _ in rows:
        span = pending.setdefault((asset_id, metric_id), [ts, ts])
        span[0], span[1] = min(span[0], ts), max(span[1], ts)
    async with engine.begin() as conn:
        await write_readings(conn, rows)
        await conn.execute(
            text(
                "INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms, version)"
                " VALUES (:a, :m, :s, :e, 0)"
            ),
            [{"a": a, "m": m, "s": s, "e": e} for (a, m), (s, e) in pending.items()],
        )


async def build(
    engine: AsyncEngine, settings: Settings, *, meters: int, days: int, now_ms: int, linked: bool
) -> BigSite:
    """The site, its readings up to the quarter hour before ``now_ms``, and its rollups."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    site_id, main_id, ids, metric = await _assets(sessions, meters, linked)
    end = floor_to(now_ms, Q_MS)
    start = end - days * DAY_MS
    kw = profiles(meters, days * 96)
    rows = series_rows(ids, main_id, metric, start, kw)
    await _write(engine, rows)
    await refresh_pending(sessions=sessions, settings=settings)
    return BigSite(site_id, main_id, ids, start, end, len(rows))
