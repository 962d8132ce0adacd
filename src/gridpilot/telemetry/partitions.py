"""Daily range partitions of ``readings`` on PostgreSQL.

Partition ``readings_pYYYYMMDD`` holds ``ts`` in [day_start_ms, next_day_start_ms), UTC.
The writer creates them on demand; retention drops whole partitions older than its cutoff.
The public functions take an SQLAlchemy ``AsyncConnection``; the writer uses the ``raw``
variants on its asyncpg connection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gridpilot.core.timestamps import MS_PER_DAY, floor_ms

PARENT_TABLE = "readings"
_NAME = re.compile(r"^readings_p(\d{8})$")
#: Serialises partition DDL between processes (several API workers may write the same day).
_ADVISORY_LOCK_KEY = 0x67726964  # "grid"

LIST_PARTITIONS_SQL = (
    "SELECT c.relname FROM pg_inherits i"
    " JOIN pg_class c ON c.oid = i.inhrelid"
    " JOIN pg_class p ON p.oid = i.inhparent"
    " WHERE p.relname = 'readings' AND p.relnamespace = to_regnamespace(current_schema())::oid"
)


def day_start_ms(ts_ms: int) -> int:
    """Start (UTC midnight) of the day containing ``ts_ms``."""
    return floor_ms(ts_ms, MS_PER_DAY)


def partition_name(day_ms: int) -> str:
    return f"{PARENT_TABLE}_p{datetime.fromtimestamp(day_ms / 1000, tz=UTC):%Y%m%d}"


def partition_range(name: str) -> tuple[int, int] | None:
    """(from_ms, to_ms) of a partition named ``readings_pYYYYMMDD``; None for other names."""
    match = _NAME.match(name)
    if match is None:
        return None
    day = datetime.strptime(match.group(1), "%Y%m%d").replace(tzinfo=UTC)
    start = round(day.timestamp() * 1000)
    return start, start + MS_PER_DAY


def create_partition_sql(day_ms: int) -> str:
    day_ms = day_start_ms(day_ms)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(day_ms)} PARTITION OF {PARENT_TABLE}"
        f" FOR VALUES FROM ({day_ms}) TO ({day_ms + MS_PER_DAY})"
    )


def _sorted_partitions(names: Iterable[str]) -> list[tuple[str, int, int]]:
    found = []
    for name in names:
        bounds = partition_range(name)
        if bounds is not None:
            found.append((name, *bounds))
    return sorted(found, key=lambda item: item[1])


async def list_partitions(conn: AsyncConnection) -> list[tuple[str, int, int]]:
    """(name, from_ms, to_ms) of every daily partition, oldest first."""
    rows = await conn.execute(text(LIST_PARTITIONS_SQL))
    return _sorted_partitions(row[0] for row in rows)


async def ensure_partitions(conn: AsyncConnection, day_starts_ms: Iterable[int]) -> None:
    """Create the daily partitions containing ``day_starts_ms`` that are missing."""
    days = sorted({day_start_ms(day) for day in day_starts_ms})
    if not days:
        return
    existing = {start for _, start, _ in await list_partitions(conn)}
    missing = [day for day in days if day not in existing]
    if not missing:
        return
    await conn.execute(text(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})"))
    for day in missing:
        await conn.execute(text(create_partition_sql(day)))


async def drop_partitions_before(conn: AsyncConnection, cutoff_ms: int) -> list[str]:
    """Drop the partitions whose whole range is older than ``cutoff_ms``; returns their names."""
    dropped = []
    for name, _start, end in await list_partitions(conn):
        if end <= cutoff_ms:
            await conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            dropped.append(name)
    return dropped


async def list_partition_days_raw(raw: Any) -> set[int]:
    """Day starts (ms) of the existing partitions, on an asyncpg connection."""
    rows = await raw.fetch(LIST_PARTITIONS_SQL)
    return {start for _, start, _ in _sorted_partitions(row[0] for row in rows)}


async def ensure_partitions_raw(raw: Any, day_starts_ms: Iterable[int]) -> None:
    """``ensure_partitions`` on an asyncpg connection, in its own transaction."""
    days = sorted({day_start_ms(day) for day in day_starts_ms})
    if not days:
        return
    async with raw.transaction():
        await raw.execute(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
        for day in days:
            await raw.execute(create_partition_sql(day))
