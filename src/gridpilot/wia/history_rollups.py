"""Production objects from rollups, for the part of a period whose raw readings are gone.

Past ``retention_raw_days`` the readings are deleted but their rollups stay (15 min: 1 year,
1 h: 5 years by default). The history then answers one object per rollup bucket, from the finest
level that still holds the time: 1 min, then 15 min, then 1 h, then 1 day, each level only
older than the oldest data of the finer one, so no time is answered twice. An object's
``timestamp`` is its bucket's start; its values are the bucket's averages (power, efficiency,
environment), ``cumulative.lifetime`` the bucket's last register value; ``cumulative.today`` /
``thisMonth`` add up the energy of that level's buckets from the local day / month start through
this bucket (register ``energy_delta``, else the average power x the bucket's length).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.timestamps import MS_PER_HOUR, from_ms, to_ms
from gridpilot.telemetry.rollups import STEPS_MS
from gridpilot.wia import history_sql


@dataclass(frozen=True)
class BucketObject:
    """One production object from a rollup bucket."""

    ts: int
    resolution: str  # rollup level name
    values: dict[str, float]
    today: float | None
    month: float | None


def _month_start(ts: int, zone: ZoneInfo) -> int:
    local = from_ms(ts).astimezone(zone)
    return to_ms(datetime(local.year, local.month, 1, tzinfo=zone))


def _day_key(ts: int, zone: ZoneInfo) -> tuple[tuple[int, int, int], tuple[int, int]]:
    local = from_ms(ts).astimezone(zone)
    return (local.year, local.month, local.day), (local.year, local.month)


def _tidy(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.12g}")


async def _level_objects(
    session: AsyncSession,
    asset_id: int,
    ids: Mapping[str, int],
    level: str,
    times: list[int],
    zone: ZoneInfo,
) -> list[BucketObject]:
    step = STEPS_MS[level]
    by_id = {metric_id: key for key, metric_id in ids.items()}
    energy_ids = [ids[k] for k in ("energy_kwh", "power_kw") if k in ids]
    first = _month_start(times[0], zone)
    rows = await history_sql.rollup_values(
        session, asset_id=asset_id, metric_ids=energy_ids, step_ms=step, lo=first, hi=times[0] - 1
    ) + await history_sql.rollup_values(
        session, asset_id=asset_id, metric_ids=list(by_id), step_ms=step, lo=times[0], hi=times[-1]
    )
    wanted = set(times)
    values: dict[int, dict[str, float]] = {t: {} for t in times}
    energy: dict[int, float] = {}
    power: dict[int, float] = {}
    for metric_id, bucket, average, last, delta in rows:
        key = by_id[metric_id]
        if key == "energy_kwh":
            energy[bucket] = delta
        elif key == "power_kw":
            power[bucket] = average * step / MS_PER_HOUR
        if bucket in wanted:
            values[bucket][key] = last if key == "energy_kwh" else average
    objects: list[BucketObject] = []
    today: float | None = None
    month: float | None = None
    keys: tuple[object, object] = (None, None)
    for bucket in sorted(set(energy) | set(power) | wanted):
        day_key, month_key = _day_key(bucket, zone)
        part = energy.get(bucket, power.get(bucket))
        today = part if day_key != keys[0] else _sum(today, part)
        month = part if month_key != keys[1] else _sum(month, part)
        keys = (day_key, month_key)
        if bucket in wanted:
            objects.append(BucketObject(bucket, level, values[bucket], _tidy(today), _tidy(month)))
    return objects


def _sum(total: float | None, part: float | None) -> float | None:
    if part is None:
        return total
    return part if total is None else total + part


async def rollup_objects(
    session: AsyncSession,
    *,
    asset_id: int,
    ids: Mapping[str, int],
    start_ms: int,
    end_ms: int,
    limit: int,
    zone: ZoneInfo,
) -> list[BucketObject]:
    """The newest ``limit`` bucket objects in ``[start_ms, end_ms)`` (``end_ms``: the oldest raw
    reading of the period, or its end), chronological."""
    found: list[BucketObject] = []
    hi = end_ms
    metric_ids = list(ids.values())
    for level, step in STEPS_MS.items():
        remaining = limit - len(found)
        if remaining <= 0 or hi <= start_ms:
            break
        times = await history_sql.newest_times(
            session,
            asset_id=asset_id,
            metric_ids=metric_ids,
            lo=start_ms,
            hi=hi,
            limit=remaining,
            step_ms=step,
        )
        if times:
            found = await _level_objects(session, asset_id, ids, level, times, zone) + found
            # fewer than asked: every bucket of this level in [start, hi) is here, so the next
            # (coarser) level answers only before the oldest of them
            hi = times[0]
    return found
