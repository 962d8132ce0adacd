"""The GraphQL object types: sites, assets, latest values, series, today's figures, the
current balance and alerts. Units are in the field names (kW, kWh); times are ISO-8601 UTC,
``Today.start`` the site's local midnight with its offset; money is a Decimal string.

Figures are those of the REST answers, rounded alike: the current balance and today's energy
as ``GET /api/v1/fleet/summary`` (kW and kWh to 3 decimals, shares to 4), series as
``GET /api/v1/assets/{id}/series``, latest values as ``/assets/{id}/latest``, alerts as
``GET /api/v1/alerts``.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import strawberry
from strawberry.types import Info

from gridpilot.alerts.lifecycle import OPEN_STATES
from gridpilot.alerts.models import Alert as AlertRow
from gridpilot.analytics.grid_revenue import GridRevenue as Revenue
from gridpilot.analytics.site_balance import TERMS
from gridpilot.assets.models import Asset as AssetRow
from gridpilot.assets.models import Site as SiteRow
from gridpilot.balance.current import CurrentBalance
from gridpilot.core.timestamps import iso, iso_local
from gridpilot.fleet.today import SiteToday
from gridpilot.gql.context import Context
from gridpilot.gql.kpis import Asked, span_of
from gridpilot.gql.reads import read_latest, read_series

Ctx = Info[Context, None]


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@strawberry.type(description="The site's current balance [kW] (newest fresh power readings)")
class Balance:
    timestamp: str | None
    import_kw: float | None
    export_kw: float | None
    generation_kw: float | None
    consumption_kw: float | None
    charge_kw: float | None
    discharge_kw: float | None
    contract_utilization_pct: float | None
    flagged: bool

    @classmethod
    def of(cls, now: CurrentBalance, contract_kw: float | None) -> Balance:
        imported = now.power_kw["import"]
        share = (
            round(imported / contract_kw * 100, 2) if imported is not None and contract_kw else None
        )
        return cls(
            timestamp=None if now.newest_ms is None else iso(now.newest_ms),
            contract_utilization_pct=share,
            flagged=now.flagged,
            **{f"{t}_kw": _r(now.power_kw[t]) for t in TERMS},
        )


@strawberry.type(description="Exported energy x export price, rounded half up to the cent")
class GridRevenue:
    amount: Decimal
    currency: str
    export_kwh: Decimal
    unpriced_kwh: Decimal
    priced: bool = strawberry.field(description="False: no export price agreed (amount 0)")
    notes: list[str]

    @classmethod
    def of(cls, revenue: Revenue) -> GridRevenue:
        return cls(
            amount=revenue.amount,
            currency=revenue.currency,
            export_kwh=revenue.export_kwh,
            unpriced_kwh=revenue.unpriced_kwh,
            priced=revenue.priced,
            notes=list(revenue.notes),
        )


@strawberry.type(
    description="Today's KPIs: energy since the site's local midnight [kWh] (null: a term known "
    "in no interval yet, unknown rather than 0)"
)
class Today:
    start: str
    coverage: float
    flagged_intervals: int
    import_kwh: float | None
    export_kwh: float | None
    generation_kwh: float | None
    consumption_kwh: float | None
    charge_kwh: float | None
    discharge_kwh: float | None
    self_consumption: float | None
    self_sufficiency: float | None
    carbon_saved_kg: float = strawberry.field(
        description="generation_kwh x the site's emission factor [kg CO2]"
    )
    grid_revenue: GridRevenue

    @classmethod
    def of(cls, site: SiteRow, today: SiteToday, revenue: Revenue) -> Today:
        return cls(
            start=iso_local(today.start_ms, site.timezone),
            coverage=round(today.coverage, 4),
            flagged_intervals=today.flagged_intervals,
            self_consumption=_r(today.self_consumption, 4),
            self_sufficiency=_r(today.self_sufficiency, 4),
            carbon_saved_kg=round(today.kwh["generation"] * site.emission_factor_kg_per_kwh, 3),
            grid_revenue=GridRevenue.of(revenue),
            **{f"{t}_kwh": _r(today.known_kwh(t)) for t in TERMS},
        )


@strawberry.type(
    description="KPIs over a period: the figures of `Today` from `start` (the start of the "
    "interval the period starts in, the site's local time) to `end` (now for a running period)"
)
class Kpis(Today):
    end: str
    period: str | None = strawberry.field(description="The period's name when one was asked")

    @classmethod
    def over(
        cls, site: SiteRow, figures: tuple[SiteToday, Revenue], end_ms: int, period: str | None
    ) -> Kpis:
        """``Today``'s figures of the period, with its end and name."""
        base = Today.of(site, *figures)
        shown = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
        return cls(**shown, end=iso_local(end_ms, site.timezone), period=period)


@strawberry.type(description="The newest value of one metric of an asset")
class LatestValue:
    metric: str
    ts: str
    value: float
    unit: str | None


@strawberry.type
class Point:
    ts: str
    value: float | None


@strawberry.type(description="One metric of an asset over a period, as the REST series")
class Series:
    asset_id: int
    metric: str
    unit: str
    resolution: str
    agg: str
    source: str = strawberry.field(description="The rollup level (or raw) the points came from")
    start: str
    end: str
    points: list[Point]


@strawberry.type
class Alert:
    id: int
    site_id: int
    asset_id: int | None
    rule_id: int | None
    kind: str
    metric: str | None
    severity: str
    state: str
    title: str
    message: str
    value: float | None
    raised_at: str
    acknowledged_at: str | None
    resolved_at: str | None

    @classmethod
    def of(cls, row: AlertRow) -> Alert:
        return cls(
            id=row.id, site_id=row.site_id, asset_id=row.asset_id, rule_id=row.rule_id,
            kind=row.kind, metric=row.metric, severity=row.severity, state=row.state,
            title=row.title, message=row.message, value=row.value,
            raised_at=row.raised_at.isoformat(),
            acknowledged_at=row.acknowledged_at.isoformat() if row.acknowledged_at else None,
            resolved_at=row.resolved_at.isoformat() if row.resolved_at else None,
        )  # fmt: skip

    @strawberry.field(description="The alert's site (null when out of your scope)")
    async def site(self, info: Ctx) -> Site | None:
        row = await info.context.loaders.site.load(self.site_id)
        return None if row is None else Site.of(row)


@strawberry.type
class Asset:
    id: int
    site_id: int
    name: str
    kind: str
    role: str
    rated_capacity_kw: float | None
    manufacturer: str | None
    model: str | None

    @classmethod
    def of(cls, row: AssetRow) -> Asset:
        return cls(
            id=row.id, site_id=row.site_id, name=row.name, kind=row.kind, role=row.role,
            rated_capacity_kw=row.rated_capacity_kw, manufacturer=row.manufacturer,
            model=row.model,
        )  # fmt: skip

    @strawberry.field(description="The asset's site (null when out of your scope)")
    async def site(self, info: Ctx) -> Site | None:
        row = await info.context.loaders.site.load(self.site_id)
        return None if row is None else Site.of(row)

    @strawberry.field(description="The newest value of each metric (or of `metric`)")
    async def latest(self, info: Ctx, metric: str | None = None) -> list[LatestValue]:
        found = await read_latest(info.context, self.id, metric)
        return [LatestValue(metric=k, ts=ts, value=v, unit=u) for k, ts, v, u in found]

    @strawberry.field(
        description="One metric over [start, end): resolution raw, 1m, 15m, 1h, 1d...; agg "
        "avg, min, max, sum, count, first, last, delta; the coarsest rollup that fits"
    )
    async def series(
        self,
        info: Ctx,
        metric: str,
        start: str | None = None,
        end: str | None = None,
        resolution: str | None = None,
        agg: str = "avg",
    ) -> Series:
        body = await read_series(info.context, self.id, metric, start, end, resolution, agg)
        points = [Point(ts=ts, value=value) for ts, value in body.pop("points")]
        return Series(points=points, **body)


@strawberry.type
class Site:
    id: int
    name: str
    timezone: str
    latitude: float | None
    longitude: float | None
    country: str | None
    kind: str | None
    parent_id: int | None
    contract_demand_kw: float | None
    emission_factor_kg_per_kwh: float

    @classmethod
    def of(cls, row: SiteRow) -> Site:
        return cls(
            id=row.id, name=row.name, timezone=row.timezone, latitude=row.latitude,
            longitude=row.longitude, country=row.country, kind=row.kind,
            parent_id=row.parent_id, contract_demand_kw=row.contract_demand_kw,
            emission_factor_kg_per_kwh=row.emission_factor_kg_per_kwh,
        )  # fmt: skip

    @strawberry.field(description="The site's assets you may see")
    async def assets(self, info: Ctx) -> list[Asset]:
        return [Asset.of(a) for a in await info.context.loaders.assets.load(self.id)]

    @strawberry.field(description="The current balance [kW] (as the fleet summary's `now`)")
    async def balance(self, info: Ctx) -> Balance | None:
        now = await info.context.loaders.balance.load(self.id)
        return None if now is None else Balance.of(now, self.contract_demand_kw)

    @strawberry.field(description="Today's KPIs (as the fleet summary's `today`)")
    async def today(self, info: Ctx) -> Today | None:
        found = await info.context.loaders.today.load(self.id)
        row = await info.context.loaders.site.load(self.id)
        if found is None or row is None:
            return None
        return Today.of(row, *found)

    @strawberry.field(
        description="KPIs over a period: `period` (today, yesterday, this_week, last_week, "
        "this_month, last_month, last_hour, last_24_hours, last_N_hours, last_N_days; in the "
        "site's local time) or `start`/`end` (ISO-8601, UTC without an offset, or epoch ms, "
        "as GET /api/v1/kpis; end defaults to now, start to 24 h before it); default today. "
        "At most 400 days, starting before now"
    )
    async def kpis(
        self,
        info: Ctx,
        period: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> Kpis | None:
        ctx = info.context
        asked = Asked(period, start, end)
        span = span_of(asked, self.timezone, ctx.now_ms)
        found = await ctx.loaders.kpis.load((self.id, asked, span))
        row = await ctx.loaders.site.load(self.id)
        if found is None or row is None:
            return None
        named = None if start is not None or end is not None else (period or "today")
        return Kpis.over(row, found, span.end_ms, named)

    @strawberry.field(
        description="The site's alerts, newest first (at most 100); states: active, "
        "acknowledged, resolved (default: open = active and acknowledged)"
    )
    async def alerts(self, info: Ctx, states: list[str] | None = None) -> list[Alert]:
        wanted = tuple(sorted(states)) if states else tuple(sorted(OPEN_STATES))
        rows = await info.context.loaders.alerts.load((self.id, wanted))
        return [Alert.of(a) for a in rows]
