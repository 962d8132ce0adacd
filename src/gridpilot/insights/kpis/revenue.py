"""Grid revenue of sites: the export term of each site's energy balance priced with the export
price of its versioned tariffs (maths in ``analytics.grid_revenue``; docs/kpis.md).

Set-based: the tariff versions of any number of sites come from one query
(``pricing_versions_by_site``); the export energy from balances the caller already solved.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.community.money import ZERO
from gridpilot.analytics.grid_revenue import GridRevenue, grid_revenue
from gridpilot.analytics.tariffs import Tariff
from gridpilot.assets.models import Site
from gridpilot.balance.service import SiteBalance
from gridpilot.core.errors import GridpilotError
from gridpilot.insights.kpis.models import TariffVersion
from gridpilot.insights.kpis.tariffs import with_country


async def pricing_versions_by_site(
    *, session: AsyncSession, sites: Sequence[Site]
) -> dict[int, list[tuple[int, Tariff]] | str]:
    """Each site's ``(valid_from_ms, Tariff)`` versions, oldest first, as
    ``tariffs.pricing_versions`` gives them, from one query; a site whose tariff cannot be
    read gets the reason instead."""
    by_site: dict[int, list[TariffVersion]] = {s.id: [] for s in sites}
    if by_site:
        query = (
            select(TariffVersion)
            .where(TariffVersion.site_id.in_(list(by_site)))
            .order_by(TariffVersion.site_id, TariffVersion.valid_from_ms)
        )
        for row in (await session.scalars(query)).all():
            by_site[row.site_id].append(row)
    found: dict[int, list[tuple[int, Tariff]] | str] = {}
    for site in sites:
        rows = by_site[site.id]
        try:
            versions = [(r.valid_from_ms, with_country(r.definition, site)) for r in rows]
            if site.tariff and (not rows or rows[0].valid_from_ms > 0):
                versions.insert(0, (0, with_country(site.tariff, site)))
        except GridpilotError as exc:
            found[site.id] = f"site {site.id}: {exc.message}"
            continue
        found[site.id] = versions
    return found


async def tariff_stamps(*, session: AsyncSession, sites: Sequence[Site]) -> dict[int, str]:
    """What each site's pricing depends on, cheaply (versions are append-only): its plain
    tariff, country, time zone and the ids of its tariff versions; equal stamps, equal
    pricing (``pricing_versions_by_site`` and ``site_revenue``)."""
    ids: dict[int, list[int]] = {s.id: [] for s in sites}
    if ids:
        query = (
            select(TariffVersion.site_id, TariffVersion.id)
            .where(TariffVersion.site_id.in_(list(ids)))
            .order_by(TariffVersion.site_id, TariffVersion.id)
        )
        for site_id, version_id in (await session.execute(query)).all():
            ids[site_id].append(version_id)
    return {
        s.id: json.dumps([s.tariff, s.country, s.timezone, ids[s.id]], default=str) for s in sites
    }


def export_series(
    balance: SiteBalance, start_ms: int | None = None, end_ms: int | None = None
) -> pd.Series:
    """The balance's export [kWh] per interval (NaN: unknown) starting in ``[start_ms,
    end_ms)`` (default: every interval), on a UTC index of interval starts."""
    values = np.asarray(balance.balance.values["export"], dtype="float64")
    if balance.edges:
        starts = np.asarray(balance.edges[: len(values)], dtype="int64")
    else:
        starts = balance.start_ms + balance.step_ms * np.arange(len(values), dtype="int64")
    keep = np.ones(len(starts), dtype=bool)
    if start_ms is not None:
        keep &= starts >= start_ms
    if end_ms is not None:
        keep &= starts < end_ms
    index = pd.DatetimeIndex(pd.to_datetime(starts[keep], unit="ms", utc=True))
    return pd.Series(values[keep], index=index, dtype="float64")


def site_revenue(
    site: Site, versions: list[tuple[int, Tariff]] | str, export_kwh: pd.Series
) -> GridRevenue:
    """The site's revenue of ``export_kwh``; a tariff that cannot be read earns 0 with its
    reason as the note (never a 500, never an unknown amount)."""
    if isinstance(versions, str):
        return _unpriced(export_kwh, versions)
    try:
        return grid_revenue(export_kwh, versions=versions, timezone=site.timezone)
    except GridpilotError as exc:
        return _unpriced(export_kwh, f"site {site.id}: {exc.message}")


def _unpriced(export_kwh: pd.Series, note: str) -> GridRevenue:
    known = export_kwh.dropna()
    kwh = Decimal(repr(float(known.sum()))).quantize(Decimal("0.001")) if len(known) else ZERO
    share = float(export_kwh.notna().mean()) if len(export_kwh) else 0.0
    return GridRevenue(ZERO, "EUR", kwh, ZERO, kwh, share, [], [note])


def revenue_json(revenue: GridRevenue) -> dict[str, Any]:
    """The ``grid_revenue`` figure of the KPI API: amounts as decimal strings in ``unit``."""
    return {
        "value": str(revenue.amount),
        "unit": revenue.currency,
        "coverage": revenue.coverage,
        "priced": revenue.priced,
        "export_kwh": str(revenue.export_kwh),
        "priced_kwh": str(revenue.priced_kwh),
        "unpriced_kwh": str(revenue.unpriced_kwh),
        "by_rate": [
            {
                "valid_from_ms": line.valid_from_ms,
                "name": line.name,
                "rate_per_kwh": str(line.rate_per_kwh),
                "energy_kwh": str(line.energy_kwh),
                "amount": str(line.amount),
            }
            for line in revenue.lines
        ],
        "notes": list(revenue.notes),
    }


async def balance_revenue(
    *, session: AsyncSession, site: Site, balance: SiteBalance
) -> dict[str, Any]:
    """``grid_revenue`` of one site's balance (every interval with a known export) as KPI
    JSON."""
    versions = (await pricing_versions_by_site(session=session, sites=[site]))[site.id]
    return revenue_json(site_revenue(site, versions, export_series(balance)))
