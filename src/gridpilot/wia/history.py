"""Production Data objects rebuilt from stored readings, newest first.

One object per distinct reading time of the source's production metrics (see
``wia.production``) while raw readings exist; before the source's oldest raw reading (past
``retention_raw_days``), one object per rollup bucket (``wia.history_rollups``). Each object says
where it comes from (``resolution``) and which figures were recomputed on read (``recomputed``):

* ``cumulative.today`` / ``thisMonth``: energy [kWh] from the start of the local day / month
  (site timezone) up to and including the object's time, by ``telemetry`` energy semantics
  (register deltas with reset handling, else the power integral). Figures a device sent in these
  fields are not stored;
* ``efficiency.average24h``: mean of ``efficiency_pct`` over the 24 h ending at the object's time
  (null when the day before the oldest object holds more raw readings than the series cap).

Reads: the newest times of all series in one statement, their values in one, the register and
power readings just outside, the efficiency of the day before; energy folded in memory from
there (``wia.history_energy``), the database asked only for the part of the oldest object's
day and month before it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset, Metric, Site
from gridpilot.core.timestamps import MS_PER_DAY, from_ms, to_ms
from gridpilot.wia import history_sql
from gridpilot.wia.history_energy import DatabaseEnergy, Energy, LoadedEnergy
from gridpilot.wia.history_rollups import BucketObject, rollup_objects
from gridpilot.wia.production import PRODUCTION_METRICS
from gridpilot.wia.schemas import (
    RECOMPUTED_FIELDS,
    Cumulative,
    Efficiency,
    EnvironmentalConditions,
    Instantaneous,
    Production,
    ProductionDataOut,
    Resolution,
)

Points = list[tuple[int, float]]


async def metric_ids(session: AsyncSession) -> dict[str, int]:
    """``{key: id}`` of the production metrics in the catalogue (one statement)."""
    rows = await session.execute(
        select(Metric.key, Metric.id).where(Metric.key.in_(PRODUCTION_METRICS))
    )
    return {str(key): int(metric_id) for key, metric_id in rows}


def _local_starts(ts_ms: int, zone: ZoneInfo) -> tuple[int, int]:
    """Epoch ms of the start of the local day and of the local month containing ``ts_ms``."""
    local = from_ms(ts_ms).astimezone(zone)
    day = datetime(local.year, local.month, local.day, tzinfo=zone)
    month = datetime(local.year, local.month, 1, tzinfo=zone)
    return to_ms(day), to_ms(month)


def _add(total: float | None, part: float | None) -> float | None:
    if part is None:
        return total
    return part if total is None else total + part


def _tidy(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.12g}")


async def cumulative_figures(
    energy: Energy, times_ms: Sequence[int], zone: ZoneInfo
) -> dict[int, tuple[float | None, float | None]]:
    """``{ts: (today, thisMonth)}`` for chronological ``times_ms``.

    Energy is additive over adjacent periods, so each object after the first of its day (month)
    adds the energy since the previous object to the previous figure.
    """
    figures: dict[int, tuple[float | None, float | None]] = {}
    previous: int | None = None
    today: float | None = None
    month: float | None = None
    previous_starts: tuple[int | None, int | None] = (None, None)
    for ts in times_ms:
        day_start, month_start = _local_starts(ts, zone)
        step = None
        if previous is not None:
            step = await energy.until(previous, ts, after_start=True)
        if previous_starts[0] == day_start:
            today = _add(today, step)
        else:
            today = await energy.until(day_start, ts, after_start=False)
        if previous_starts[1] == month_start:
            month = _add(month, step)
        else:
            month = await energy.until(month_start, ts, after_start=False)
        figures[ts] = (_tidy(today), _tidy(month))
        previous, previous_starts = ts, (day_start, month_start)
    return figures


def rolling_average(points: Points, times_ms: Sequence[int], window_ms: int) -> dict[int, float]:
    """Mean of ``points`` in ``(t - window_ms, t]`` for each ``t`` that has any."""
    stamps = [ts for ts, _ in points]
    sums = [0.0]
    for _, value in points:
        sums.append(sums[-1] + value)
    averages: dict[int, float] = {}
    for t in times_ms:
        lo, hi = bisect_right(stamps, t - window_ms), bisect_right(stamps, t)
        if hi > lo:
            averages[t] = float(f"{(sums[hi] - sums[lo]) / (hi - lo):.12g}")
    return averages


async def _loaded_energy(
    session: AsyncSession,
    asset_id: int,
    ids: Mapping[str, int],
    series: Mapping[str, Points],
    times: Sequence[int],
    max_gap_s: float,
) -> LoadedEnergy:
    """The register and power readings of the objects plus the ones just outside them."""
    register = list(series.get("energy_kwh", []))
    power = list(series.get("power_kw", []))
    if "energy_kwh" in ids:
        before = await history_sql.neighbour(
            session, asset_id=asset_id, metric_id=ids["energy_kwh"], ts=times[0], before=True,
            within=MS_PER_DAY,
        )  # fmt: skip
        if before is None:  # older than a day (rare): search without bound
            before = await history_sql.neighbour(
                session, asset_id=asset_id, metric_id=ids["energy_kwh"], ts=times[0], before=True
            )
        register = ([before] if before else []) + register
    if "power_kw" in ids:
        # a power reading further than max_gap_s from the edge is never joined to it
        gap = int(max_gap_s * 1000) + 1
        edges = [
            await history_sql.neighbour(
                session, asset_id=asset_id, metric_id=ids["power_kw"], ts=ts, before=before,
                within=gap,
            )
            for ts, before in ((times[0], True), (times[-1], False))
        ]  # fmt: skip
        power = ([edges[0]] if edges[0] else []) + power + ([edges[1]] if edges[1] else [])
    return LoadedEnergy(register, power, max_gap_s)


async def _averages(
    session: AsyncSession,
    asset_id: int,
    ids: Mapping[str, int],
    series: Mapping[str, Points],
    times: Sequence[int],
    max_points: int,
) -> dict[int, float]:
    """``efficiency.average24h`` per object time (none past the series cap)."""
    if "efficiency_pct" not in ids:
        return {}
    lo = times[0] - MS_PER_DAY + 1
    before = await history_sql.series_points(
        session,
        asset_id=asset_id,
        metric_id=ids["efficiency_pct"],
        lo=lo,
        hi=times[0],
        cap=max_points + 1,
    )
    points = before + list(series.get("efficiency_pct", []))
    if len(points) > max_points:
        return {}
    return rolling_average(points, times, MS_PER_DAY)


async def _raw_objects(
    session: AsyncSession,
    asset: Asset,
    zone: ZoneInfo,
    ids: Mapping[str, int],
    period: tuple[int, int],
    limit: int,
    caps: tuple[int, float],
) -> list[ProductionDataOut]:
    """The newest ``limit`` objects from raw readings in ``period``, chronological."""
    max_points, max_gap_s = caps
    times = await history_sql.newest_times(
        session, asset_id=asset.id, metric_ids=list(ids.values()), lo=period[0], hi=period[1],
        limit=limit,
    )  # fmt: skip
    if not times:
        return []
    key_of = {metric_id: key for key, metric_id in ids.items()}
    rows = await history_sql.raw_values(
        session, asset_id=asset.id, metric_ids=list(ids.values()), lo=times[0], hi=times[-1]
    )
    values: dict[int, dict[str, float]] = {t: {} for t in times}
    series: dict[str, Points] = {}
    for metric_id, ts, value in rows:
        key = key_of[metric_id]
        values[ts][key] = value
        series.setdefault(key, []).append((ts, value))
    loaded = await _loaded_energy(session, asset.id, ids, series, times, max_gap_s)
    energy = Energy(DatabaseEnergy(session, asset.id, max_gap_s), loaded, times[0])
    cumulative = await cumulative_figures(energy, times, zone)
    averages = await _averages(session, asset.id, ids, series, times, max_points)
    assert asset.source_id is not None
    return [
        _production_object(asset.source_id, ts, "raw", values[ts], cumulative[ts], averages.get(ts))
        for ts in times
    ]


async def production_history(
    *,
    session: AsyncSession,
    asset: Asset,
    site: Site,
    start_ms: int,
    end_ms: int,
    limit: int,
    max_points: int,
    max_gap_s: float,
) -> list[ProductionDataOut]:
    """The newest ``limit`` Production Data objects of ``asset`` in ``[start_ms, end_ms)``,
    newest first: from raw readings, then from rollups before the oldest raw reading."""
    assert asset.source_id is not None
    ids = await metric_ids(session)
    zone = ZoneInfo(site.timezone)
    found = await _raw_objects(
        session, asset, zone, ids, (start_ms, end_ms), limit, (max_points, max_gap_s)
    )
    if len(found) < limit:
        # fewer than asked: every raw reading time of the period is here; before the oldest
        # of them the raw readings are gone (or never were), and rollups answer
        rolled = await rollup_objects(
            session,
            asset_id=asset.id,
            ids=ids,
            start_ms=start_ms,
            end_ms=to_ms(found[0].timestamp) if found else end_ms,
            limit=limit - len(found),
            zone=zone,
        )
        found = [_bucket_object(asset.source_id, b) for b in rolled] + found
    return found[::-1]


def _bucket_object(source_id: str, bucket: BucketObject) -> ProductionDataOut:
    return _production_object(
        source_id,
        bucket.ts,
        cast(Resolution, bucket.resolution),
        bucket.values,
        (bucket.today, bucket.month),
        None,  # a bucket's 24 h window is not known from one level
    )


def _production_object(
    source_id: str,
    ts: int,
    resolution: Resolution,
    values: dict[str, float],
    cumulative: tuple[float | None, float | None],
    average24h: float | None,
) -> ProductionDataOut:
    """Built without validation (every value comes from the database): ~10x cheaper, and the
    route serialises these as they are."""
    power = values.get("power_kw")
    get = values.get
    return ProductionDataOut.model_construct(
        timestamp=from_ms(ts),
        sourceId=source_id,
        production=Production.model_construct(
            instantaneous=(
                Instantaneous.model_construct(value=power, unit="kW") if power is not None else None
            ),
            cumulative=Cumulative.model_construct(
                today=cumulative[0], thisMonth=cumulative[1], lifetime=get("energy_kwh"), unit="kWh"
            ),
        ),
        efficiency=Efficiency.model_construct(current=get("efficiency_pct"), average24h=average24h),
        environmentalConditions=EnvironmentalConditions.model_construct(
            temperature=get("temperature_c"),
            humidity=get("humidity_pct"),
            windSpeed=get("wind_speed_ms"),
            solarIrradiance=get("irradiance_wm2"),
        ),
        resolution=resolution,
        recomputed=list(RECOMPUTED_FIELDS),
    )
