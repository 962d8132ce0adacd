"""KPI inputs: per-asset interval series (energy, demand, production) on one regular UTC grid.

An asset's interval energy [kWh] is the register's positive steps per interval (``energy_kwh``,
reset-aware: telemetry's ``delta``) when it has register data in the period, else its average
power [kW] x the interval [h]. Its demand [kW] is the average ``power_kw`` per interval, else the
register energy / interval (not for the interval right after a gap, whose step spans the gap).
Scopes sum their assets per interval (NaN where no asset had data); their coverage is the mean
of the assets' coverages, so one silent meter of two shows as 50%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.kpis import average_power_kw, interval_energy_kwh
from gridpilot.assets.service import find_metric_ref
from gridpilot.insights.data import AssetInfo, load_series
from gridpilot.telemetry.queries import assets_with_data

#: User-defined metric holding a time-varying grid emission factor [kg CO2/kWh].
EMISSION_FACTOR_METRIC = "emission_factor_kg_per_kwh"


@dataclass(frozen=True)
class AssetSeries:
    """One asset's interval series on the grid (NaN = no data)."""

    asset: AssetInfo
    energy_kwh: pd.Series
    power_kw: pd.Series
    production_count: pd.Series | None
    method: str

    @property
    def coverage(self) -> float:
        values = self.energy_kwh.to_numpy(dtype="float64")
        return float((~np.isnan(values)).mean()) if len(values) else 0.0


@dataclass(frozen=True)
class Period:
    """``[start_ms, end_ms)`` on a grid of ``interval_ms`` (start and end aligned)."""

    start_ms: int
    end_ms: int
    interval_ms: int


async def _series(
    session: AsyncSession,
    asset_id: int,
    metric: str,
    period: Period,
    agg: str,
    ending: bool = False,
) -> pd.Series | None:
    """The asset's ``metric`` per interval, or None when the catalogue has no such metric.
    ``ending``: interval-ending data, a reading on an edge counted in the interval it closes."""
    if await find_metric_ref(session=session, key=metric) is None:
        return None
    return await load_series(
        session=session,
        asset_id=asset_id,
        metric=metric,
        start_ms=period.start_ms,
        end_ms=period.end_ms,
        step_ms=period.interval_ms,
        agg=agg,
        ending=ending,
    )


def _has_data(values: pd.Series | None) -> bool:
    return values is not None and bool(values.notna().any())


async def asset_series(
    *, session: AsyncSession, asset: AssetInfo, period: Period, production: bool = True
) -> AssetSeries:
    """Energy, demand and (optionally) production per interval of one asset, each reading in
    the interval its ``interval_convention`` gives it (``ending``: the one it closes)."""
    ending = asset.interval_convention == "ending"
    register = await _series(session, asset.id, "energy_kwh", period, "delta", ending)
    power = await _series(session, asset.id, "power_kw", period, "avg", ending)
    index = pd.DatetimeIndex(
        pd.to_datetime(
            np.arange(period.start_ms, period.end_ms, period.interval_ms), unit="ms", utc=True
        )
    )
    empty = pd.Series(np.nan, index=index, dtype="float64")
    if register is not None and _has_data(register):
        energy, method = register, "register"
        demand = power if power is not None and _has_data(power) else None
        if demand is None:
            # the first interval after a gap holds the gap's energy too: not a demand figure
            after_gap = register.isna().shift(1, fill_value=False).astype(bool)
            demand = average_power_kw(register, period.interval_ms).where(~after_gap)
    elif power is not None and _has_data(power):
        energy, demand, method = interval_energy_kwh(power, period.interval_ms), power, "power"
    else:
        energy, demand, method = empty, empty, "none"
    counts = None
    if production:
        counts = await _series(session, asset.id, "production_count", period, "delta", ending)
        counts = counts if _has_data(counts) else None
    return AssetSeries(asset, energy, demand, counts, method)


def summed(parts: Sequence[pd.Series]) -> pd.Series:
    """Per-interval sum of ``parts`` (NaN where every part is NaN)."""
    frame = pd.concat(list(parts), axis=1)
    return frame.sum(axis=1, min_count=1)


def mean_coverage(parts: Sequence[AssetSeries]) -> float:
    """Mean of the assets' interval coverages (0 for none)."""
    return float(np.mean([p.coverage for p in parts])) if parts else 0.0


async def first_available(
    *, session: AsyncSession, assets: Sequence[AssetInfo], metric: str, period: Period
) -> pd.Series | None:
    """Mean per interval of ``metric`` over the ``assets`` that have it (None: none has)."""
    found = []
    for asset in assets:
        ending = asset.interval_convention == "ending"
        values = await _series(session, asset.id, metric, period, "avg", ending)
        if values is None:
            return None  # not in the catalogue at all
        if _has_data(values):
            found.append(values)
    if not found:
        return None
    return pd.concat(found, axis=1).mean(axis=1)


async def production_counts(
    *, session: AsyncSession, assets: Sequence[AssetInfo], period: Period
) -> pd.Series | None:
    """Units produced per interval, summed over the assets that count them (None: none does).
    Which assets do is asked in one statement, so a site of many meters costs no loop."""
    ref = await find_metric_ref(session=session, key="production_count")
    if ref is None:
        return None
    counting = await assets_with_data(
        session=session,
        asset_ids=[a.id for a in assets],
        metric_id=ref.id,
        start_ms=period.start_ms,
        end_ms=period.end_ms,
    )
    parts = []
    for asset_id in sorted(counting):
        values = await _series(session, asset_id, "production_count", period, "delta")
        if _has_data(values):
            assert values is not None
            parts.append(values)
    return summed(parts) if parts else None
