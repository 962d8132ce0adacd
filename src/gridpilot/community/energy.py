"""Hourly energy of a community's PODs from stored data, and its hourly shared energy.

Each POD is metered by its gridpilot site: the site's energy balance (``balance.service``,
interval 1 h, UTC hours) gives per hour ``export`` = energy **injected** and ``import`` =
energy **withdrawn** [kWh]. An hour whose import or export is unknown (no data, a gap) is a
missing hour of that POD, and of its substation (``analytics.community.shared_energy``):
shared energy is never computed from coarser totals, nor guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.community import configuration as pure
from gridpilot.analytics.community.incentives import pv_bonus_area
from gridpilot.analytics.community.shared_energy import (
    HourlyEnergy,
    SharedEnergy,
    shared_energy,
    to_hourly,
)
from gridpilot.analytics.site_balance import Source
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.community.models import Community, Plant
from gridpilot.community.pod_hours import StoredHours, stored_hours
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import now_ms as clock_ms

HOUR_MS = 3_600_000
#: The longest period an hourly aggregation covers [ms] (a leap year).
MAX_PERIOD_MS = 366 * 24 * HOUR_MS
#: Periods end by 2200-01-01 (pandas timestamps stop in 2262).
LATEST_MS = 7_258_118_400_000
LAST_DAY = date(9999, 12, 31)
PRODUCING = ("PRODUCER", "PROSUMER")


def pod_of(plant: Plant, community: Community) -> pure.Pod:
    """The pure core's view of a stored plant (member ids as text)."""
    producing = None
    if plant.plant_type in PRODUCING and plant.nominal_power_kw > 0:
        producing = pure.Plant(
            power_kw=plant.nominal_power_kw,
            commissioned_on=plant.commissioning_date or LAST_DAY,
            is_pv=plant.technology == "pv",
            area=pv_bonus_area(community.region),
            grant_share=plant.capital_grant_pct / Decimal(100),
            incentivised=plant.incentivised,
        )
    return pure.Pod(
        code=plant.pod_code,
        member_id=str(plant.member_id),
        substation=plant.primary_substation,
        market_zone=community.market_zone,
        eligible=plant.eligible,
        plant=producing,
    )


@dataclass(frozen=True)
class PodEnergy:
    """Injected and withdrawn energy per hour [kWh] (rows: UTC hour starts, columns: POD
    codes; NaN where unknown)."""

    injected_kwh: pd.DataFrame
    withdrawn_kwh: pd.DataFrame


def hour_bounds(start_ms: int, end_ms: int) -> tuple[int, int]:
    """``[start, end)`` widened to whole UTC hours; ``ValidationFailed`` beyond a year."""
    lo = start_ms // HOUR_MS * HOUR_MS
    hi = -(-end_ms // HOUR_MS) * HOUR_MS
    if hi - lo > MAX_PERIOD_MS:
        raise ValidationFailed("an hourly aggregation covers at most 366 days")
    if hi > LATEST_MS:
        raise ValidationFailed("periods must end by 2200-01-01")
    return lo, hi


async def pod_energy(
    session: AsyncSession, plants: Sequence[Plant], start_ms: int, end_ms: int
) -> PodEnergy:
    """Hourly injected/withdrawn energy of each plant's POD from its site's balance
    (``[start_ms, end_ms)``, whole UTC hours): one-meter POD sites from their stored hours
    (``pod_hours``) up to ``tail`` and solved from there on, the others solved for the whole
    period; the same figures."""
    hours = pd.date_range(
        pd.Timestamp(start_ms, unit="ms", tz="UTC"),
        pd.Timestamp(end_ms, unit="ms", tz="UTC"),
        freq="h",
        inclusive="left",
    )
    codes = [p.pod_code for p in plants]
    injected = np.full((len(hours), len(codes)), np.nan)
    withdrawn = np.full((len(hours), len(codes)), np.nan)
    site_ids = sorted({p.site_id for p in plants if p.site_id is not None})
    now = clock_ms()
    stored = await stored_hours(session, site_ids, start_ms, end_ms, now)
    rest = [s for s in site_ids if s not in stored.sites]
    balances = await _balances(session, rest, start_ms, end_ms, now)
    balances.update(await _balances(session, sorted(stored.sites), stored.tail, end_ms, now))
    rows_of: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
    for column, plant in enumerate(plants):
        site = balances.get(plant.site_id) if plant.site_id is not None else None
        if plant.site_id in stored.sites:
            _fill_stored(stored, plant.site_id, column, injected, withdrawn, site)
        if site is None:
            continue
        if site.edges not in rows_of:  # the hours of the site's intervals, once per grid
            rows_of[site.edges] = _hour_rows(site.edges[:-1], start_ms, len(hours))
        rows, found = rows_of[site.edges]
        values = site.balance.values
        injected[rows, column] = values["export"][found]
        withdrawn[rows, column] = values["import"][found]
        if plant.site_id in stored.export_rows:  # metered in the period: unknown, not absent
            absent = site.balance.sources["export"][found] == Source.ABSENT.value
            injected[rows[absent], column] = np.nan
    return PodEnergy(
        pd.DataFrame(injected, index=hours, columns=codes),
        pd.DataFrame(withdrawn, index=hours, columns=codes),
    )


async def _balances(
    session: AsyncSession, site_ids: list[int], start_ms: int, end_ms: int, now_ms: int
) -> dict[int, SiteBalance]:
    if not site_ids or end_ms <= start_ms:
        return {}
    return await site_balances(
        session=session, site_ids=site_ids, start_ms=start_ms, end_ms=end_ms, interval="1h",
        now_ms=now_ms,
    )  # fmt: skip


def _fill_stored(
    stored: StoredHours,
    site_id: int,
    column: int,
    injected: np.ndarray,
    withdrawn: np.ndarray,
    tail: SiteBalance | None,
) -> None:
    """The stored hours of a one-meter site into the frames' first rows; its export is absent
    (0) there when neither the stored hours nor the tail's balance have it."""
    n = (stored.tail - stored.lo) // HOUR_MS
    withdrawn[:n, column] = stored.imported[site_id]
    metered = site_id in stored.export_rows or (
        tail is not None and bool((tail.balance.sources["export"] != Source.ABSENT.value).any())
    )
    injected[:n, column] = stored.exported[site_id] if metered else 0.0
    if metered:
        stored.export_rows.add(site_id)


def _hour_rows(starts: Sequence[int], start_ms: int, hours: int) -> tuple[np.ndarray, np.ndarray]:
    """Of the intervals starting at ``starts`` [ms], the hour each is (rows of the frames from
    ``start_ms``) and which of them are one of the ``hours`` hours (the rest is left out)."""
    offset = np.asarray(starts, dtype=np.int64) - start_ms
    row = offset // HOUR_MS
    found = (offset % HOUR_MS == 0) & (row >= 0) & (row < hours)
    return row[found], found


async def community_plants(session: AsyncSession, community_id: int) -> list[Plant]:
    rows = await session.scalars(
        select(Plant).where(Plant.community_id == community_id).order_by(Plant.pod_code)
    )
    return list(rows)


@dataclass(frozen=True)
class Aggregation:
    start_ms: int
    end_ms: int
    hourly: HourlyEnergy
    shared: SharedEnergy
    pods_per_substation: dict[str, int]


async def aggregate(
    session: AsyncSession, community: Community, start_ms: int, end_ms: int
) -> Aggregation:
    """Hourly shared energy per primary substation over the eligible PODs."""
    lo, hi = hour_bounds(start_ms, end_ms)
    plants = await community_plants(session, community.id)
    pods = [pod_of(p, community) for p in plants]
    energy = await pod_energy(session, plants, lo, hi)
    start = pd.Timestamp(lo, unit="ms", tz="UTC")
    end = pd.Timestamp(hi, unit="ms", tz="UTC")
    hourly = to_hourly(energy.injected_kwh, energy.withdrawn_kwh, start, end)
    shared = shared_energy(hourly, pods)
    counts: dict[str, int] = {}
    for pod in pods:
        if pod.eligible:
            counts[pod.substation] = counts.get(pod.substation, 0) + 1
    return Aggregation(lo, hi, hourly, shared, counts)
