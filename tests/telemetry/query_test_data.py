"""Test data for rollups/queries/retention: readings written straight into the tables.

``insert_readings`` does what the writer does in one transaction: create the daily partitions
(PostgreSQL), upsert readings (last write wins) and widen ``rollup_pending`` per series. The
pure-Python ``reference_rollups`` computes rollups from scratch to compare against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.auth.permissions import Role
from gridpilot.telemetry.partitions import ensure_partitions

Row = tuple[int, int, int, float]  # asset_id, metric_id, ts_ms, value
Key = tuple[int, int, int, int]  # asset_id, metric_id, step_ms, bucket_ms

MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000
#: 2026-01-05T00:00:00Z, a Monday.
T0 = 1_767_571_200_000


async def insert_readings(
    sessions: async_sessionmaker[AsyncSession], rows: Iterable[Row], *, pending: bool = True
) -> None:
    rows = list(rows)
    if not rows:
        return
    async with sessions() as session, session.begin():
        connection = await session.connection()
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            await ensure_partitions(connection, {ts for _, _, ts, _ in rows})
        await session.execute(
            text(
                "INSERT INTO readings (asset_id, metric_id, ts, value) VALUES (:a, :m, :ts, :v)"
                " ON CONFLICT (asset_id, metric_id, ts) DO UPDATE SET value = excluded.value"
            ),
            [{"a": a, "m": m, "ts": ts, "v": v} for a, m, ts, v in rows],
        )
        if not pending:
            return
        ranges: dict[tuple[int, int], list[int]] = {}
        for a, m, ts, _ in rows:
            lo_hi = ranges.setdefault((a, m), [ts, ts])
            lo_hi[0], lo_hi[1] = min(lo_hi[0], ts), max(lo_hi[1], ts)
        least, greatest = ("LEAST", "GREATEST") if postgres else ("MIN", "MAX")
        await session.execute(
            text(
                "INSERT INTO rollup_pending (asset_id, metric_id, start_ms, end_ms)"
                " VALUES (:a, :m, :s, :e) ON CONFLICT (asset_id, metric_id) DO UPDATE SET"
                f" start_ms = {least}(rollup_pending.start_ms, excluded.start_ms),"
                f" end_ms = {greatest}(rollup_pending.end_ms, excluded.end_ms),"
                " version = rollup_pending.version + 1"
            ),
            [{"a": a, "m": m, "s": s, "e": e} for (a, m), (s, e) in sorted(ranges.items())],
        )


async def metric_id(sessions: async_sessionmaker[AsyncSession], key: str) -> int:
    async with sessions() as session:
        value = await session.scalar(text("SELECT id FROM metrics WHERE key = :k"), {"k": key})
    assert value is not None, key
    return int(value)


async def stored_rollups(sessions: async_sessionmaker[AsyncSession]) -> dict[Key, tuple]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                'SELECT asset_id, metric_id, step_ms, bucket_ms, "count", "min", "max", "sum",'
                ' "first", "last", first_ts, last_ts, energy_delta FROM rollups'
            )
        )
        return {tuple(r[:4]): tuple(r[4:]) for r in rows}  # type: ignore[misc]


def reference_rollups(
    readings: Mapping[tuple[int, int, int], float], steps: Iterable[int]
) -> dict[Key, tuple]:
    """Rollups from scratch: (count, min, max, sum, first, last, first_ts, last_ts, energy)."""
    series: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for (a, m, ts), value in readings.items():
        series[(a, m)].append((ts, value))
    result: dict[Key, tuple] = {}
    for step in steps:
        for (a, m), points in series.items():
            points.sort()
            buckets: dict[int, list] = {}
            previous = None
            for ts, value in points:
                energy = max(0.0, value - previous) if previous is not None else 0.0
                previous = value
                bucket = ts - ts % step
                b = buckets.get(bucket)
                if b is None:
                    buckets[bucket] = [1, value, value, value, value, value, ts, ts, energy]
                else:
                    b[0] += 1
                    b[1], b[2] = min(b[1], value), max(b[2], value)
                    b[3] += value
                    b[5], b[7] = value, ts
                    b[8] += energy
            for bucket, b in buckets.items():
                result[(a, m, step, bucket)] = tuple(b)
    return result


async def site_with_asset(client, auth_headers, name: str) -> tuple[dict, dict, dict[str, str]]:
    """A new site named ``name`` with one meter asset; returns (site, asset, admin headers)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site = await client.post("/api/v1/sites", json={"name": name, "timezone": "UTC"}, headers=admin)
    assert site.status_code == 201, site.text
    asset = await client.post(
        "/api/v1/assets",
        json={"site_id": site.json()["id"], "name": f"{name} meter", "kind": "meter"},
        headers=admin,
    )
    assert asset.status_code == 201, asset.text
    return site.json(), asset.json(), admin
