"""``GET /api/v1/sites/{id}/balance``: a site's energy balance over a period (thin route)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Path

from gridpilot.analytics.site_balance import TERMS, Source, self_consumption, self_sufficiency
from gridpilot.assets.service import get_site
from gridpilot.auth.dependencies import Reader
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.core.errors import NotFound
from gridpilot.core.timestamps import iso, parse_period
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.balance.schemas import (
    BalanceInterval,
    BalanceTotals,
    SiteBalanceOut,
    TermSources,
)
from gridpilot.telemetry.rollups import LEVEL_BY_STEP

router = APIRouter(tags=["kpis"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _kwh(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _out(site: SiteBalance, end_ms: int) -> SiteBalanceOut:
    b = site.balance
    intervals = [
        BalanceInterval(
            start=iso(site.start_ms + i * site.step_ms),
            flagged=bool(b.flagged[i]),
            **{f"{t}_kwh": _kwh(float(b.values[t][i])) for t in TERMS},
        )
        for i in range(b.flagged.size)
    ]
    sc, ss = self_consumption(b), self_sufficiency(b)
    return SiteBalanceOut(
        site_id=site.site_id,
        start=iso(site.start_ms),
        end=iso(end_ms),
        interval=LEVEL_BY_STEP[site.step_ms],
        connection_points=site.connection_points,
        coverage=round(b.coverage(), 4),
        flagged_intervals=int(b.flagged.sum()),
        self_consumption=None if sc is None else round(sc, 4),
        self_sufficiency=None if ss is None else round(ss, 4),
        totals=BalanceTotals(**{f"{t}_kwh": round(b.total_kwh(t), 4) for t in TERMS}),
        sources={
            t: TermSources(**{s.value: round(b.share(t, s), 4) for s in Source}) for t in TERMS
        },
        intervals=intervals,
    )


@router.get(
    "/sites/{site_id}/balance",
    response_model=SiteBalanceOut,
    summary="Energy balance of a site: import, export, generation, storage, consumption",
    description=(
        "Per interval (15 min for periods up to 7 days, 1 h beyond; at most 400 days) "
        "`consumption = import - export + generation + discharge - charge` [kWh], each term "
        "measured, derived from the others, absent or unknown, contradictions flagged, with "
        "coverage, self-consumption and self-sufficiency. Default period: the last 24 h. "
        "See docs/site-energy.md."
    ),
)
async def get_balance(
    site_id: SiteId,
    principal: Reader,
    session: SessionDep,
    start: str | None = None,
    end: str | None = None,
) -> SiteBalanceOut:
    await get_site(session=session, site_id=site_id, principal=principal)
    if principal.asset_ids is not None:  # a device key sees its asset, not the whole site
        raise NotFound(f"site {site_id} not found")
    start_ms, end_ms = parse_period(start, end)
    balances = await site_balances(
        session=session, site_ids=[site_id], start_ms=start_ms, end_ms=end_ms
    )
    site = balances[site_id]
    return _out(site, site.start_ms + site.balance.flagged.size * site.step_ms)
