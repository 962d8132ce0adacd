"""``GET /api/v1/sites/{id}/balance``: a site's energy balance over a period (thin route)."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Path, Query, Request

from gridpilot.analytics.site_balance import TERMS, Source, self_consumption, self_sufficiency
from gridpilot.assets.service import get_site
from gridpilot.auth.dependencies import Reader
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.balance.submeters import Remainder
from gridpilot.core.errors import NotFound
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import iso, parse_period
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.balance.schemas import (
    BalanceInterval,
    BalanceTotals,
    SiteBalanceOut,
    SubMeterRemainder,
    TermSources,
    TermTotals,
)

router = APIRouter(tags=["kpis"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Interval = Literal["15m", "1h", "1d"]


def _kwh(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _totals(site: SiteBalance) -> BalanceTotals:
    b = site.balance
    flagged = TermTotals(**{f"{t}_kwh": round(b.flagged_kwh(t), 4) for t in TERMS})
    return BalanceTotals(
        **{f"{t}_kwh": _round(b.known_total_kwh(t)) for t in TERMS},
        flagged_intervals=b.flagged_complete(),
        flagged_kwh=flagged,
    )


def _remainder(part: Remainder) -> SubMeterRemainder:
    known = ~np.isnan(part.kwh)
    return SubMeterRemainder(
        parent_asset_id=part.parent_id,
        role=part.role,
        children=list(part.children),
        remainder_kwh=[_kwh(float(v)) for v in part.kwh],
        total_kwh=round(float(np.sum(part.kwh[known])), 4),
        coverage=round(float(known.mean()), 4) if known.size else 0.0,
    )


def _out(site: SiteBalance) -> SiteBalanceOut:
    b = site.balance
    intervals = [
        BalanceInterval(
            start=iso(site.edges[i]),
            flagged=bool(b.flagged[i]),
            **{f"{t}_kwh": _kwh(float(b.values[t][i])) for t in TERMS},
        )
        for i in range(b.flagged.size)
    ]
    sc, ss = self_consumption(b), self_sufficiency(b)
    with_assets = site.points_with_assets
    covered = with_assets - len(site.without_data)
    return SiteBalanceOut(
        site_id=site.site_id,
        start=iso(site.edges[0]),
        end=iso(site.edges[-1]),
        interval=site.interval,
        connection_points=site.connection_points,
        coverage=round(b.coverage(), 4),
        point_coverage=round(covered / with_assets, 4) if with_assets else 1.0,
        points_without_data=list(site.without_data),
        flagged_intervals=int(b.flagged.sum()),
        self_consumption=None if sc is None else round(sc, 4),
        self_sufficiency=None if ss is None else round(ss, 4),
        totals=_totals(site),
        sources={
            t: TermSources(**{s.value: round(b.share(t, s), 4) for s in Source}) for t in TERMS
        },
        sub_meters=[_remainder(part) for part in site.remainders],
        intervals=intervals,
    )


@router.get(
    "/sites/{site_id}/balance",
    response_model=SiteBalanceOut,
    summary="Energy balance of a site: import, export, generation, storage, consumption",
    description=(
        "Per interval (`interval`: 15m up to 31 days, 1h or 1d (local days of the site's time "
        "zone) up to 400 days; by default 15m for periods up to 7 days, 1h beyond) "
        "`consumption = import - export + generation + discharge - charge` [kWh], each term "
        "measured, derived from the others, absent or unknown, contradictions flagged, with "
        "coverage, the connection points without data, the unmetered remainder of every parent "
        "meter, self-consumption and self-sufficiency. Default period: the last 24 h. "
        "See docs/site-energy.md."
    ),
)
async def get_balance(
    request: Request,
    site_id: SiteId,
    principal: Reader,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
    interval: Annotated[
        Interval | None, Query(description="15m, 1h or 1d; default: by the period's length")
    ] = None,
) -> SiteBalanceOut:
    await get_site(session=session, site_id=site_id, principal=principal)
    if principal.asset_ids is not None:  # a device key sees its asset, not the whole site
        raise NotFound(f"site {site_id} not found")
    start_ms, end_ms = parse_period(start, end)
    balances = await site_balances(
        session=session,
        site_ids=[site_id],
        start_ms=start_ms,
        end_ms=end_ms,
        interval=interval,
        max_gap_s=runtime_of(request.app).settings.energy_max_gap_s,
        with_remainders=True,
    )
    return _out(balances[site_id])
