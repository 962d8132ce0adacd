"""The request context of a GraphQL query: the caller, one database session, and DataLoaders
that batch every per-site or per-asset figure of a query into one service call per kind.

Resolvers run concurrently and an ``AsyncSession`` allows one operation at a time, so every
service call goes through ``Context.call`` (one lock per request). Every loader checks the
principal's scope itself: a site or asset out of scope loads as nothing (``None``/``[]``),
however the query reached it (top level or nested, e.g. ``alert.site``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from gridpilot.alerts.lifecycle import AlertFilter, list_alerts
from gridpilot.alerts.models import Alert
from gridpilot.analytics.grid_revenue import GridRevenue
from gridpilot.assets.models import Asset, Site
from gridpilot.assets.service import list_assets, sites_by_id
from gridpilot.auth.permissions import Principal
from gridpilot.balance.cache import CurrentBalanceCache
from gridpilot.balance.current import CurrentBalance, current_balances
from gridpilot.balance.recent import RecentBalances
from gridpilot.core.settings import Settings
from gridpilot.fleet.service import CURRENT_MAX_AGE_MS, today_figures
from gridpilot.fleet.today import SiteToday
from gridpilot.gql.kpis import Asked, Span, period_figures

T = TypeVar("T")
#: A site's figures over a period asked: (site id, the period as asked, the site's span).
KpiKey = tuple[int, Asked, Span]
Figures = tuple[SiteToday, GridRevenue]
#: At most this many alerts per site in ``Site.alerts`` [count].
MAX_SITE_ALERTS = 100


@dataclass
class Context:
    """One GraphQL request: the caller, its session, the clock and the loaders."""

    principal: Principal
    session: AsyncSession
    settings: Settings
    now_ms: int
    cache: CurrentBalanceCache | None = None
    recent: RecentBalances | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self)

    async def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one service call on the request's session (one at a time)."""
        async with self.lock:
            return await work()


class Loaders:
    """Batched loads keyed by site or asset id (one service call per batch)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.site: DataLoader[int, Site | None] = DataLoader(self._sites)
        self.assets: DataLoader[int, list[Asset]] = DataLoader(self._assets)
        self.balance: DataLoader[int, CurrentBalance | None] = DataLoader(self._balances)
        self.today: DataLoader[int, tuple[SiteToday, GridRevenue] | None] = DataLoader(self._today)
        self.alerts: DataLoader[tuple[int, tuple[str, ...]], list[Alert]] = DataLoader(self._alerts)
        self.kpis: DataLoader[KpiKey, Figures | None] = DataLoader(self._kpis)

    def _visible(self, ids: Sequence[int]) -> list[int]:
        return sorted(set(self.ctx.principal.visible_sites(ids)))

    async def _sites(self, ids: list[int]) -> list[Site | None]:
        visible = self._visible(ids)
        found = await self.ctx.call(lambda: sites_by_id(session=self.ctx.session, site_ids=visible))
        return [found.get(i) if i in visible else None for i in ids]

    async def _assets(self, site_ids: list[int]) -> list[list[Asset]]:
        visible = self._visible(site_ids)
        rows = await self.ctx.call(
            lambda: list_assets(
                session=self.ctx.session,
                principal=self.ctx.principal,
                site_ids=visible,
                limit=10**6,
            )
        )
        by_site: dict[int, list[Asset]] = {i: [] for i in site_ids}
        for asset in rows:
            by_site.setdefault(asset.site_id, []).append(asset)
        return [by_site[i] for i in site_ids]

    async def _balances(self, site_ids: list[int]) -> list[CurrentBalance | None]:
        ctx, visible = self.ctx, self._visible(site_ids)
        if ctx.principal.asset_ids is not None:  # a device key sees its asset, not the site
            visible = []
        if ctx.cache is not None:
            found = await ctx.cache.balances(
                visible, now_ms=ctx.now_ms, max_age_ms=CURRENT_MAX_AGE_MS
            )
        else:
            found = await ctx.call(
                lambda: current_balances(
                    session=ctx.session,
                    site_ids=visible,
                    now_ms=ctx.now_ms,
                    max_age_ms=CURRENT_MAX_AGE_MS,
                )
            )
        return [found.get(i) for i in site_ids]

    async def _today(self, site_ids: list[int]) -> list[tuple[SiteToday, GridRevenue] | None]:
        ctx = self.ctx
        sites = [s for s in await self.site.load_many(site_ids) if s is not None]
        if ctx.principal.asset_ids is not None:
            sites = []

        async def work() -> tuple[dict[int, SiteToday], dict[int, GridRevenue]]:
            return await today_figures(
                session=ctx.session,
                sites=sites,
                now_ms=ctx.now_ms,
                max_gap_s=ctx.settings.energy_max_gap_s,
                recent=ctx.recent,
            )

        today, revenue = await ctx.call(work)
        return [(today[i], revenue[i]) if i in today and i in revenue else None for i in site_ids]

    async def _kpis(self, keys: list[KpiKey]) -> list[Figures | None]:
        """One balance statement per period asked, for all its sites."""
        ctx = self.ctx
        by_asked: dict[Asked, dict[int, Span]] = {}
        for site_id, asked, span in keys:
            by_asked.setdefault(asked, {})[site_id] = span
        found: dict[tuple[int, Asked], Figures] = {}
        for asked, spans in by_asked.items():
            sites = [s for s in await self.site.load_many(list(spans)) if s is not None]
            if ctx.principal.asset_ids is not None:  # a device key: no site figures
                sites = []

            async def work(
                sites: list[Site] = sites, spans: dict[int, Span] = spans
            ) -> dict[int, Figures]:
                return await period_figures(
                    session=ctx.session, sites=sites, spans=spans,
                    max_gap_s=ctx.settings.energy_max_gap_s,
                )  # fmt: skip

            for site_id, figures in (await ctx.call(work)).items():
                found[(site_id, asked)] = figures
        return [found.get((site_id, asked)) for site_id, asked, _ in keys]

    def _alert_query(self, where: AlertFilter, sites: int) -> Callable[[], Awaitable[list[Alert]]]:
        def work() -> Awaitable[list[Alert]]:
            return list_alerts(
                session=self.ctx.session,
                principal=self.ctx.principal,
                where=where,
                limit=max(1, sites) * MAX_SITE_ALERTS,
                offset=0,
            )

        return work

    async def _alerts(self, keys: list[tuple[int, tuple[str, ...]]]) -> list[list[Alert]]:
        by_states: dict[tuple[str, ...], list[int]] = {}
        for site_id, states in keys:
            by_states.setdefault(states, []).append(site_id)
        found: dict[tuple[int, tuple[str, ...]], list[Alert]] = {}
        for states, ids in by_states.items():
            visible = self._visible(ids)
            where = AlertFilter(states=list(states) or None, site_ids=visible)
            rows = await self.ctx.call(self._alert_query(where, len(visible)))
            for alert in rows:
                kept = found.setdefault((alert.site_id, states), [])
                if len(kept) < MAX_SITE_ALERTS:
                    kept.append(alert)
        return [found.get(key, []) for key in keys]
