"""The fleet summary: every visible site's current balance [kW], today's energy [kWh] in the
site's local day, asset status counts and open alerts, with fleet totals.

Set-based throughout: one statement per kind of figure for all the sites asked for (balance
SQL, assets, statuses in chunks, alert counts), never a per-site loop of queries. Totals cover
every site that matches the filter; ``limit``/``offset`` page only the site list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.lifecycle import open_alert_counts
from gridpilot.analytics.grid_revenue import GridRevenue
from gridpilot.analytics.site_balance import TERMS
from gridpilot.assets.models import Site
from gridpilot.assets.service import list_sites
from gridpilot.assets.summary import AssetFact, SiteAssets, asset_facts, per_site
from gridpilot.auth.permissions import Principal
from gridpilot.balance.cache import CurrentBalanceCache
from gridpilot.balance.current import DEFAULT_MAX_AGE_MS, CurrentBalance, current_balances
from gridpilot.balance.recent import RecentBalances
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.control.status import (
    ONLINE,
    StatusPolicy,
    StatusView,
    last_will_stands,
    statuses_of,
    stored_statuses,
    surely_online,
)
from gridpilot.core.timestamps import local_midnight_ms
from gridpilot.fleet.today import SiteToday, today_of
from gridpilot.insights.kpis.revenue import (
    export_series,
    pricing_versions_by_site,
    site_revenue,
    tariff_stamps,
)
from gridpilot.telemetry.queries import last_seen as data_last_seen

#: Assets per status statement (SQLite allows 32,766 bound parameters).
STATUS_CHUNK = 5_000
#: Age after which a power reading no longer counts as current [ms] (as ``/current``).
CURRENT_MAX_AGE_MS = DEFAULT_MAX_AGE_MS


@dataclass(frozen=True)
class FleetFilter:
    """Which sites: ``group_id`` keeps a site and every site below it (``parent_id``); the
    others must all hold (name part in any case, country and kind equal)."""

    group_id: int | None = None
    name_contains: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    kind: str | None = None


@dataclass
class SiteSummary:
    """One site's figures (kW now, kWh today, counts)."""

    site: Site
    assets: SiteAssets
    now: CurrentBalance
    today: SiteToday
    status: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    #: What today's export earned (its tariffs' export price, ``insights.kpis.revenue``).
    revenue: GridRevenue | None = None


@dataclass
class FleetSummary:
    """The matching sites (``total``), the page of them, and every matching site's figures
    for the totals."""

    total: int
    page: list[SiteSummary]
    every: list[SiteSummary]
    now_ms: int
    #: Each site's balance from its local midnight, or from ``history_ms`` before now if earlier.
    balances: dict[int, SiteBalance] = field(default_factory=dict)


def today_totals(every: Sequence[SiteSummary]) -> dict[str, float | None]:
    """Each term's energy today [kWh] summed over the sites where it is known; None when no
    site knows it (every one without data today: unknown, not 0)."""
    totals: dict[str, float | None] = {}
    for term in TERMS:
        known = [e.today.kwh[term] for e in every if term not in e.today.unknown]
        totals[term] = sum(known) if known or not every else None
    return totals


def select_sites(sites: Sequence[Site], where: FleetFilter) -> list[Site]:
    """The sites of ``sites`` that match ``where``, by name."""
    chosen = list(sites)
    if where.group_id is not None:
        below = _descendants(sites, where.group_id)
        chosen = [s for s in chosen if s.id in below]
    if where.name_contains:
        needle = where.name_contains.casefold()
        chosen = [s for s in chosen if needle in s.name.casefold()]
    if where.country is not None:
        chosen = [s for s in chosen if s.country == where.country]
    if where.kind is not None:
        chosen = [s for s in chosen if s.kind == where.kind]
    return sorted(chosen, key=lambda s: (s.name.casefold(), s.id))


def _descendants(sites: Sequence[Site], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for site in sites:
        if site.parent_id is not None:
            children.setdefault(site.parent_id, []).append(site.id)
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


async def fleet_summary(
    *,
    session: AsyncSession,
    principal: Principal,
    where: FleetFilter,
    limit: int,
    offset: int,
    now_ms: int,
    tracked: Callable[[int], int | None],
    policy: StatusPolicy,
    cache: CurrentBalanceCache | None = None,
    max_gap_s: int = 900,
    history_ms: int = 0,
    recent: RecentBalances | None = None,
) -> FleetSummary:
    """The summary of the principal's sites that match ``where`` (see the module docstring);
    with ``history_ms`` its ``balances`` also cover that much before now (one statement)."""
    visible = await list_sites(session=session, principal=principal, limit=10**9)
    sites = select_sites(visible, where)
    ids = [s.id for s in sites]
    facts = await asset_facts(session=session, site_ids=ids)
    if principal.asset_ids is not None:  # a device key sees its asset, not a site's figures
        facts = [f for f in facts if f.asset_id in principal.asset_ids]
    counts = per_site(facts)
    if cache is not None:
        now = await cache.balances(ids, now_ms=now_ms, max_age_ms=CURRENT_MAX_AGE_MS)
    else:
        now = await current_balances(
            session=session, site_ids=ids, now_ms=now_ms, max_age_ms=CURRENT_MAX_AGE_MS
        )
    today, balances = await _today(session, sites, now_ms, max_gap_s, history_ms, recent)
    statuses = await status_counts(session, facts, tracked, policy, now_ms)
    alerts = await open_alert_counts(session=session, principal=principal, site_ids=ids)
    revenue = await revenue_today(session, sites, balances, today, now_ms, recent)
    every = [
        SiteSummary(
            site=s,
            assets=counts.get(s.id, SiteAssets()),
            now=now[s.id],
            today=today[s.id],
            status=statuses.get(s.id, {}),
            alerts=alerts.get(s.id, {}),
            revenue=revenue.get(s.id),
        )
        for s in sites
    ]
    return FleetSummary(len(sites), every[offset : offset + limit], every, now_ms, balances)


async def _today(
    session: AsyncSession,
    sites: Sequence[Site],
    now_ms: int,
    max_gap_s: int,
    history_ms: int,
    recent: RecentBalances | None,
) -> tuple[dict[int, SiteToday], dict[int, SiteBalance]]:
    """Each site's balance from its local midnight (or ``history_ms`` before now, if earlier)
    to now, from one balance statement (or ``recent``'s shared copy, at most its TTL old), and
    its part since local midnight."""
    if not sites:
        return {}, {}
    midnights = {s.id: local_midnight_ms(s.timezone, now_ms) for s in sites}
    start = min([*midnights.values(), now_ms - history_ms])
    if recent is not None:
        balances = await recent.get(
            list(midnights), start_ms=start, now_ms=now_ms, max_gap_s=max_gap_s
        )
    else:
        balances = await site_balances(
            session=session,
            site_ids=list(midnights),
            start_ms=start,
            end_ms=now_ms + 1,
            interval="15m",
            now_ms=now_ms,
            max_gap_s=max_gap_s,
        )
    today = {}
    for site_id, midnight in midnights.items():
        balance = balances[site_id]
        kept = recent.derived(("today", site_id), balance, midnight) if recent else None
        if kept is None:
            kept = today_of(balance, midnight, now_ms)
            if recent is not None:
                recent.keep(("today", site_id), balance, midnight, kept)
        today[site_id] = kept
    return today, balances


async def today_figures(
    *,
    session: AsyncSession,
    sites: Sequence[Site],
    now_ms: int,
    max_gap_s: int = 900,
    recent: RecentBalances | None = None,
) -> tuple[dict[int, SiteToday], dict[int, GridRevenue]]:
    """Today's energy and grid revenue of ``sites`` (scope checked by the caller), as the
    fleet summary computes them: one balance statement (or ``recent``'s copy) for all."""
    today, balances = await _today(session, sites, now_ms, max_gap_s, 0, recent)
    return today, await revenue_today(session, sites, balances, today, now_ms, recent)


async def revenue_today(
    session: AsyncSession,
    sites: Sequence[Site],
    balances: dict[int, SiteBalance],
    today: dict[int, SiteToday],
    now_ms: int,
    recent: RecentBalances | None = None,
) -> dict[int, GridRevenue]:
    """Each site's grid revenue since its local midnight: the export of its balance priced
    with its tariffs' export price (one tariff query for all the sites). With ``recent`` a
    figure is kept beside the shared balance it comes from and computed again only when that
    balance, the site's midnight or its tariff versions change."""
    stamps = await tariff_stamps(session=session, sites=sites)
    found: dict[int, GridRevenue] = {}
    todo = []
    for s in sites:
        if s.id not in balances:
            continue
        stamp = (today[s.id].start_ms, stamps[s.id])
        kept = recent.derived(("revenue", s.id), balances[s.id], stamp) if recent else None
        if kept is None:
            todo.append(s)
        else:
            found[s.id] = kept
    versions = await pricing_versions_by_site(session=session, sites=todo)
    for s in todo:
        found[s.id] = site_revenue(
            s, versions[s.id], export_series(balances[s.id], today[s.id].start_ms, now_ms)
        )
        if recent is not None:
            stamp = (today[s.id].start_ms, stamps[s.id])
            recent.keep(("revenue", s.id), balances[s.id], stamp, found[s.id])
    return found


async def status_counts(
    session: AsyncSession,
    facts: Sequence[AssetFact],
    tracked: Callable[[int], int | None],
    policy: StatusPolicy,
    now_ms: int,
) -> dict[int, dict[str, int]]:
    """online/offline/unknown counts per site: ``effective_status`` of each asset, computed
    only for those that their stored last-seen does not already make online
    (``surely_online``), and from their newest stored reading only where their stored and
    tracked last-seen do not (newer evidence can only keep an online asset online)."""
    assets = {f.asset_id: (f.site_id, f.expected_interval_s) for f in facts}
    site_ids = sorted({f.site_id for f in facts})
    online: set[int] = set()
    for i in range(0, len(site_ids), STATUS_CHUNK):
        chunk = site_ids[i : i + STATUS_CHUNK]
        online |= await surely_online(session=session, site_ids=chunk, policy=policy, now_ms=now_ms)
    rest = [a for a in assets if a not in online]
    found: dict[int, StatusView] = {}
    for i in range(0, len(rest), STATUS_CHUNK):
        chunk = rest[i : i + STATUS_CHUNK]
        stored = await stored_statuses(session=session, asset_ids=chunk)
        found |= _statuses(assets, chunk, stored, tracked, policy, now_ms, {})
        unsure = [  # a standing Last Will ignores stored data; online stays online
            a
            for a in chunk
            if found[a].status != ONLINE and not last_will_stands(stored.get(a), tracked(a))
        ]
        if unsure:
            data = await data_last_seen(session=session, asset_ids=unsure)
            found |= _statuses(assets, unsure, stored, tracked, policy, now_ms, data)
    counts: dict[int, dict[str, int]] = {}
    for asset_id, (site_id, _) in assets.items():
        state = ONLINE if asset_id in online else found[asset_id].status
        site = counts.setdefault(site_id, {})
        site[state] = site.get(state, 0) + 1
    return counts


def _statuses(
    assets: dict[int, tuple[int, float | None]],
    asset_ids: Sequence[int],
    stored: dict[int, Any],
    tracked: Callable[[int], int | None],
    policy: StatusPolicy,
    now_ms: int,
    data: dict[int, int | None],
) -> dict[int, StatusView]:
    """``effective_status`` of ``asset_ids`` by id (``statuses_of``; ``assets``: site id and
    expected interval [s] per asset id)."""
    views = statuses_of(
        ((a, *assets[a]) for a in asset_ids),
        stored=stored, data=data, tracked=tracked, policy=policy, now_ms=now_ms,
    )  # fmt: skip
    return {v.asset_id: v for v in views}
