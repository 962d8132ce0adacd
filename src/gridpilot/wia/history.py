"""Production Data objects rebuilt from stored readings, and a source's operational status.

One object per distinct reading timestamp of the source's production metrics (see
``wia.production``), newest first. Derived figures, recomputed on read:

* ``cumulative.today`` / ``thisMonth``: energy [kWh] from the start of the local day / month
  (site timezone) up to and including the object's time, by ``telemetry`` energy semantics
  (register deltas with reset handling, else the power integral);
* ``efficiency.average24h``: mean of ``efficiency_pct`` over the 24 h ending at the object's time
  (null when that window holds more raw readings than the series cap).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset, Site
from gridpilot.assets.service import find_metric_ref
from gridpilot.core.errors import TooLarge
from gridpilot.core.timestamps import MS_PER_DAY, from_ms, to_ms
from gridpilot.telemetry import queries
from gridpilot.wia.production import PRODUCTION_METRICS
from gridpilot.wia.schemas import (
    Cumulative,
    Efficiency,
    EnvironmentalConditions,
    Instantaneous,
    Production,
    ProductionData,
)

Points = list[tuple[int, float]]


async def newest_points(
    session: AsyncSession,
    asset_id: int,
    metric_id: int,
    start_ms: int,
    end_ms: int,
    limit: int,
    max_points: int,
) -> Points:
    """The newest ``limit`` raw readings of one series in ``[start_ms, end_ms)``, chronological.

    Narrows the window by bisection while it holds more than ``max_points`` readings.
    """
    wide, narrow = None, end_ms  # starts known to give too many / too few readings
    candidate = start_ms
    found: Points = []
    while True:
        try:
            series = await queries.series(
                session=session,
                asset_id=asset_id,
                metric_id=metric_id,
                start_ms=candidate,
                end_ms=end_ms,
                step_ms=None,
                agg="last",
                max_points=max_points,
            )
        except TooLarge:
            wide = candidate
        else:
            found = [(p.ts_ms, float(p.value or 0.0)) for p in series.points]
            if len(found) >= limit or wide is None:
                return found[-limit:]
            narrow = candidate
        if wide is None or narrow - wide <= 1:
            return found[-limit:]
        candidate = wide + (narrow - wide) // 2


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


class _Energy:
    """Energy [kWh] of one asset up to and including a reading time (``telemetry`` semantics).

    A register step belongs to the time of its later reading, so the register needs the window
    ``[start, ts + 1)``; the power integral is continuous and takes ``[start, ts)`` (one more
    millisecond would add power x 1 ms).
    """

    def __init__(self, session: AsyncSession, asset_id: int, max_gap_s: float) -> None:
        self.session, self.asset_id, self.max_gap_s = session, asset_id, max_gap_s

    async def _energy(self, start_ms: int, end_ms: int) -> queries.EnergyResult:
        return await queries.energy(
            session=self.session,
            asset_id=self.asset_id,
            start_ms=start_ms,
            end_ms=end_ms,
            max_gap_s=self.max_gap_s,
        )

    async def until(self, start_ms: int, ts: int, *, after_start: bool) -> float | None:
        """Energy from ``start_ms`` through ``ts``; ``after_start`` excludes a register reading
        at ``start_ms`` itself (an earlier object already counted it)."""
        first = await self._energy(start_ms + 1 if after_start else start_ms, ts + 1)
        if first.method != "power_integral":
            return first.energy_kwh
        if ts <= start_ms:
            return 0.0
        again = await self._energy(start_ms, ts)
        if again.method == "power_integral":
            return again.energy_kwh
        # power starts at ts (nothing to integrate before it), or a register reading sits at
        # start_ms and no register step falls in (start, ts]
        return 0.0


async def cumulative_figures(
    energy: _Energy, times_ms: Sequence[int], zone: ZoneInfo
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
) -> list[ProductionData]:
    """The newest ``limit`` Production Data objects of ``asset`` in ``[start_ms, end_ms)``."""
    assert asset.source_id is not None
    values: dict[int, dict[str, float]] = {}
    metric_ids: dict[str, int] = {}
    for key in PRODUCTION_METRICS:
        ref = await find_metric_ref(session=session, key=key)
        if ref is None:
            continue
        metric_ids[key] = ref.id
        points = await newest_points(session, asset.id, ref.id, start_ms, end_ms, limit, max_points)
        for ts, value in points:
            values.setdefault(ts, {})[key] = value
    times = sorted(values)[-limit:]
    if not times:
        return []
    zone = ZoneInfo(site.timezone)
    cumulative = await cumulative_figures(_Energy(session, asset.id, max_gap_s), times, zone)
    averages: dict[int, float] = {}
    if "efficiency_pct" in metric_ids:
        lo = times[0] - MS_PER_DAY + 1
        try:
            efficiency = await queries.series(
                session=session,
                asset_id=asset.id,
                metric_id=metric_ids["efficiency_pct"],
                start_ms=lo,
                end_ms=times[-1] + 1,
                step_ms=None,
                agg="last",
                max_points=max_points,
            )
        except TooLarge:
            pass
        else:
            points = [(p.ts_ms, float(p.value or 0.0)) for p in efficiency.points]
            averages = rolling_average(points, times, MS_PER_DAY)
    return [
        _production_object(asset.source_id, ts, values[ts], cumulative[ts], averages.get(ts))
        for ts in reversed(times)
    ]


def _production_object(
    source_id: str,
    ts: int,
    values: dict[str, float],
    cumulative: tuple[float | None, float | None],
    average24h: float | None,
) -> ProductionData:
    power = values.get("power_kw")
    return ProductionData(
        timestamp=from_ms(ts),
        sourceId=source_id,
        production=Production(
            instantaneous=Instantaneous(value=power, unit="kW") if power is not None else None,
            cumulative=Cumulative(
                today=cumulative[0],
                thisMonth=cumulative[1],
                lifetime=values.get("energy_kwh"),
                unit="kWh",
            ),
        ),
        efficiency=Efficiency(current=values.get("efficiency_pct"), average24h=average24h),
        environmentalConditions=EnvironmentalConditions(
            temperature=values.get("temperature_c"),
            humidity=values.get("humidity_pct"),
            windSpeed=values.get("wind_speed_ms"),
            solarIrradiance=values.get("irradiance_wm2"),
        ),
    )
