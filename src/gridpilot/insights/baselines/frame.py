"""The model frame of a baseline: energy [kWh] and driver columns per period (UTC buckets).

Hourly baselines load hourly buckets; day, week and month baselines load daily buckets and add
them up per ISO week (Monday 00:00 UTC) or calendar month (UTC). A week or month is kept only
when the period covers it whole; a summed column (energy, counters, degree-days, hours) is NaN
when one of its days is missing, so a partial month never looks like a low one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.degree_days import degree_days_daily, degree_days_hourly
from gridpilot.assets.catalogue import LOAD_ROLES
from gridpilot.assets.service import find_metric_ref
from gridpilot.core.errors import NotFound
from gridpilot.insights.data import load_series, load_site_series

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
QUARTER_MS = 900_000
ENERGY = "energy_kwh"
#: Site baselines add up the energy of these asset roles (producers and storage excluded).


@dataclass(frozen=True)
class Target:
    site_id: int
    asset_id: int | None


@dataclass(frozen=True)
class ModelFrame:
    frame: pd.DataFrame  # ENERGY and one column per driver name, indexed by bucket start
    possible: int  # buckets of the period (complete weeks/months)


def base_step_ms(granularity: str) -> int:
    return HOUR_MS if granularity == "hour" else DAY_MS


async def _load(
    session: AsyncSession, target: Target, asset_id: int | None, metric: str, step: int,
    start_ms: int, end_ms: int, agg: str, roles: tuple[str, ...] | None = None,
) -> pd.Series:  # fmt: skip
    """One asset's series (``asset_id``, else the target asset), else the site's sum."""
    asset = asset_id if asset_id is not None else target.asset_id
    if asset is not None:
        return await load_series(
            session=session, asset_id=asset, metric=metric, start_ms=start_ms, end_ms=end_ms,
            step_ms=step, agg=agg,
        )  # fmt: skip
    return await load_site_series(
        session=session, site_id=target.site_id, metric=metric, start_ms=start_ms,
        end_ms=end_ms, step_ms=step, agg=agg, roles=roles,
    )  # fmt: skip


async def energy_column(
    session: AsyncSession, target: Target, energy_metric: str, step: int, start_ms: int,
    end_ms: int,
) -> pd.Series:  # fmt: skip
    """Energy per bucket [kWh]: register delta of ``energy_kwh``, or mean ``power_kw`` x hours."""
    roles = LOAD_ROLES if target.asset_id is None else None
    if energy_metric == ENERGY:
        return await _load(session, target, None, ENERGY, step, start_ms, end_ms, "delta", roles)
    power = await _load(session, target, None, "power_kw", step, start_ms, end_ms, "avg", roles)
    return power * (step / HOUR_MS)


async def default_agg(session: AsyncSession, metric: str) -> str:
    """delta for counters and registers, avg for everything else."""
    ref = await find_metric_ref(session=session, key=metric)
    if ref is None:
        raise NotFound(f"metric {metric!r} not found")
    return "delta" if ref.kind in ("counter", "cumulative") else "avg"


async def driver_column(
    session: AsyncSession, target: Target, spec: dict[str, Any], granularity: str,
    start_ms: int, end_ms: int,
) -> tuple[pd.Series, str]:  # fmt: skip
    """A driver's values per base bucket and how to combine them into weeks/months."""
    step = base_step_ms(granularity)
    kind, metric, asset = spec["kind"], spec["metric"], spec.get("asset_id")
    if kind == "metric":
        agg = spec.get("agg") or await default_agg(session, metric)
        values = await _load(session, target, asset, metric, step, start_ms, end_ms, agg)
        return values, {"delta": "sum", "sum": "sum", "avg": "mean"}.get(agg, agg)
    if kind == "operating_hours":
        sub = QUARTER_MS if granularity == "hour" else HOUR_MS
        values = await _load(session, target, asset, metric, sub, start_ms, end_ms, "avg")
        running = (values > spec["threshold"]).astype("float64").where(values.notna())
        hours = running * (sub / HOUR_MS)
        per_bucket = hours.resample(pd.Timedelta(milliseconds=step), origin="epoch").sum(
            min_count=1
        )
        return per_bucket, "sum"
    temperature = await _load(session, target, asset, metric, step, start_ms, end_ms, "avg")
    if kind in ("temperature", "moisture"):  # a mean per period (degC, %)
        return temperature, "mean"
    balance = float(spec["balance_point_c"])
    if granularity == "hour":
        return degree_days_hourly(temperature, balance, kind=kind), "sum"
    return degree_days_daily(temperature, balance, kind=kind), "sum"


def bucket_keys(index: pd.DatetimeIndex, granularity: str) -> pd.DatetimeIndex:
    """Start of the ISO week (Monday) or calendar month of each daily bucket (UTC)."""
    days = index.normalize()
    if granularity == "week":
        return days - pd.to_timedelta(days.day_of_week, unit="D")
    return days - pd.to_timedelta(days.day - 1, unit="D")


def combine(frame: pd.DataFrame, how: dict[str, str], granularity: str) -> ModelFrame:
    """Daily rows -> complete weeks or months (see module doc); hours and days pass through."""
    if granularity in ("hour", "day"):
        return ModelFrame(frame, len(frame))
    keys = bucket_keys(pd.DatetimeIndex(frame.index), granularity)
    counts = pd.Series(1, index=keys).groupby(level=0).sum()
    starts = pd.DatetimeIndex(counts.index)
    expected = pd.Series(7 if granularity == "week" else starts.days_in_month, index=starts)
    complete = counts.index[counts.to_numpy() == expected.to_numpy()]
    groups = frame.groupby(keys)
    columns = {}
    for name in frame.columns:
        rule = how.get(name, "sum")
        if rule == "sum":
            # NaN unless every day of the bucket has a value
            columns[name] = groups[name].sum(min_count=1).where(groups[name].count() == counts)
        else:
            columns[name] = groups[name].agg(rule)
    combined = pd.DataFrame(columns).loc[complete]
    combined.index.name = None
    return ModelFrame(combined, len(combined))


async def model_frame(
    *, session: AsyncSession, target: Target, energy_metric: str, drivers: list[dict[str, Any]],
    granularity: str, start_ms: int, end_ms: int, with_energy: bool = True,
) -> ModelFrame:  # fmt: skip
    """Energy and every driver over ``[start_ms, end_ms)`` at ``granularity``."""
    step = base_step_ms(granularity)
    start_ms -= start_ms % step
    columns: dict[str, pd.Series] = {}
    how: dict[str, str] = {ENERGY: "sum"}
    if with_energy:
        columns[ENERGY] = await energy_column(
            session, target, energy_metric, step, start_ms, end_ms
        )
    for spec in drivers:
        values, rule = await driver_column(session, target, spec, granularity, start_ms, end_ms)
        columns[spec["name"]] = values
        how[spec["name"]] = rule
    if not columns:
        index = pd.DatetimeIndex(pd.to_datetime(np.arange(start_ms, end_ms, step), unit="ms"))
        return ModelFrame(pd.DataFrame(index=index.tz_localize("UTC")), 0)
    frame = pd.DataFrame(columns)
    return combine(frame, how, granularity)
