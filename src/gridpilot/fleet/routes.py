"""``GET /api/v1/fleet/summary``: every visible site's figures and the fleet's totals in one
paged call (thin route over ``fleet.service``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from gridpilot.analytics.community.money import ZERO
from gridpilot.analytics.grid_revenue import GridRevenue, total_revenue
from gridpilot.analytics.site_balance import TERMS
from gridpilot.auth.dependencies import Reader
from gridpilot.balance.dependencies import CacheDep
from gridpilot.balance.recent import RECENT_BALANCES
from gridpilot.control.tasks import CONTROL, ControlRuntime, status_policy
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import iso, iso_local, now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.fleet.schemas import (
    AlertCounts,
    EnergyToday,
    FleetSite,
    FleetSummaryOut,
    FleetTotals,
    GridRevenueOut,
    PowerNow,
    SiteNow,
    SiteToday,
    StatusCounts,
)
from gridpilot.fleet.service import FleetFilter, SiteSummary, fleet_summary, today_totals

router = APIRouter(tags=["fleet"])

DESCRIPTION = """Each site's current balance (kW, from the newest power reading of every
series; readings older than 5 min, or than two of the asset's expected intervals when longer,
are left out), its energy since local midnight (kWh, the site energy balance of
docs/site-energy.md, with coverage), asset status counts and open alerts;
`totals` sum every matching site, the page is `limit`/`offset` of the matching sites ordered
by name. `today.grid_revenue` is what the site's export since local midnight earned: export
kWh x its tariff's export price per 15-min interval (`export_rate_per_kwh` or time-of-use
`export_periods`, the version valid then), a Decimal string rounded half up to the cent; no
export price: amount 0 with `priced: false` and a note. Today's energy is computed once a
minute per set of sites and shared (at most 60 s old; while the next is computed in the
background the previous one is served, up to 5 min old); the current balance is live.
`group` keeps a site and all sites below it (`parent_id`); `search`, `country` and `kind`
narrow further."""


def _tracked(request: Request) -> Callable[[int], int | None]:
    runtime: ControlRuntime | None = runtime_of(request.app).get(CONTROL)
    return runtime.tracker.last_seen if runtime is not None else (lambda _asset_id: None)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _site(entry: SiteSummary) -> FleetSite:
    site, now, today = entry.site, entry.now, entry.today
    imported = now.power_kw["import"]
    contract = site.contract_demand_kw
    return FleetSite(
        id=site.id,
        name=site.name,
        timezone=site.timezone,
        latitude=site.latitude,
        longitude=site.longitude,
        parent_id=site.parent_id,
        country=site.country,
        kind=site.kind,
        contract_demand_kw=contract,
        assets=entry.assets.count,
        installed_generation_kw=round(entry.assets.installed_generation_kw, 3),
        now=SiteNow(
            timestamp=None if now.newest_ms is None else iso(now.newest_ms),
            contract_utilization_pct=(
                round(imported / contract * 100, 2) if imported is not None and contract else None
            ),
            flagged=now.flagged,
            **{f"{t}_kw": _r(now.power_kw[t]) for t in TERMS},
        ),
        today=SiteToday(
            start=iso_local(today.start_ms, site.timezone),
            coverage=round(today.coverage, 4),
            flagged_intervals=today.flagged_intervals,
            self_consumption=_r(today.self_consumption, 4),
            self_sufficiency=_r(today.self_sufficiency, 4),
            grid_revenue=_revenue(entry.revenue),
            **{f"{t}_kwh": _r(today.known_kwh(t)) for t in TERMS},
        ),
        status=StatusCounts(**entry.status),
        alerts=_alerts(entry.alerts),
    )


def _revenue(revenue: GridRevenue | None) -> GridRevenueOut:
    if revenue is None:  # sites in different currencies: no sum without an exchange rate
        return GridRevenueOut(
            amount=ZERO, currency=None, export_kwh=ZERO, unpriced_kwh=ZERO, priced=False,
            notes=["the sites are priced in different currencies: see each site's figure"],
        )  # fmt: skip
    return GridRevenueOut(
        amount=revenue.amount,
        currency=revenue.currency,
        export_kwh=revenue.export_kwh,
        unpriced_kwh=revenue.unpriced_kwh,
        priced=revenue.priced,
        notes=revenue.notes,
    )


def _alerts(by_severity: dict[str, int]) -> AlertCounts:
    return AlertCounts(open=sum(by_severity.values()), critical=by_severity.get("critical", 0))


def _totals(every: list[SiteSummary]) -> FleetTotals:
    now: dict[str, float | None] = {}
    for term in TERMS:
        known = [e.now.power_kw[term] for e in every if e.now.power_kw[term] is not None]
        now[f"{term}_kw"] = round(sum(known), 3) if known else None  # type: ignore[arg-type]
    kwh = today_totals(every)
    sums = {t: v or 0.0 for t, v in kwh.items()}
    status = StatusCounts()
    alerts = AlertCounts()
    for e in every:
        for name, count in e.status.items():
            setattr(status, name, getattr(status, name) + count)
        one = _alerts(e.alerts)
        alerts.open += one.open
        alerts.critical += one.critical
    return FleetTotals(
        sites=len(every),
        assets=sum(e.assets.count for e in every),
        installed_generation_kw=round(sum(e.assets.installed_generation_kw for e in every), 3),
        now=PowerNow(**now),
        sites_reporting=sum(1 for e in every if e.now.newest_ms is not None),
        today=EnergyToday(**{f"{t}_kwh": _r(v) for t, v in kwh.items()}),
        grid_revenue_today=_revenue(total_revenue([e.revenue for e in every if e.revenue])),
        self_sufficiency=_share(sums["consumption"] - sums["import"], sums["consumption"]),
        self_consumption=_share(sums["generation"] - sums["export"], sums["generation"]),
        status=status,
        alerts=alerts,
    )


def _share(part: float, whole: float) -> float | None:
    return None if whole <= 1e-9 else round(min(1.0, max(0.0, part / whole)), 4)


@router.get(
    "/fleet/summary",
    summary="Every site's figures and the fleet's totals",
    description=DESCRIPTION,
    response_model=FleetSummaryOut,
)
async def get_fleet_summary(
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    cache: CacheDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Sites per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Sites to skip")] = 0,
    group: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="A site id: it and all sites below it")
    ] = None,
    search: Annotated[
        str | None, Query(max_length=200, description="Part of the site name (any case)")
    ] = None,
    country: Annotated[
        str | None, Query(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. IT")
    ] = None,
    kind: Annotated[
        str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Site kind")
    ] = None,
) -> Response:
    at = now_ms()
    summary = await fleet_summary(
        session=session,
        principal=principal,
        where=FleetFilter(group_id=group, name_contains=search, country=country, kind=kind),
        limit=limit,
        offset=offset,
        now_ms=at,
        tracked=_tracked(request),
        policy=status_policy(settings),
        cache=cache,
        max_gap_s=settings.energy_max_gap_s,
        recent=runtime_of(request.app).get(RECENT_BALANCES),
    )
    body = FleetSummaryOut(
        generated_at=iso(at),
        total=summary.total,
        limit=limit,
        offset=offset,
        totals=_totals(summary.every),
        sites=[_site(e) for e in summary.page],
    )
    # built and checked once above; returned as is (a thousand sites validated again by the
    # framework would cost more than their figures)
    return Response(body.model_dump_json(), media_type="application/json")
