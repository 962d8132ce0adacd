"""The fleet as the dashboard shows it, set-based for any number of sites: the fleet summary of
the user's sites (one call), its totals, the fleet's power over the last hours from one balance
statement, and the current balance totals from the in-memory cache (``balance.cache``).

kW are average power per interval (kWh / interval hours) or the newest readings; kWh are
sums since each site's local midnight; nothing here loops queries over sites.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridpilot.analytics.site_balance import TERMS
from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Principal
from gridpilot.balance.cache import BALANCE
from gridpilot.balance.current import CurrentBalance, current_balances
from gridpilot.balance.recent import RECENT_BALANCES
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.control.tasks import CONTROL, status_policy
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import local_midnight_ms, now_ms, to_ms
from gridpilot.fleet.service import (
    CURRENT_MAX_AGE_MS,
    FleetFilter,
    FleetSummary,
    SiteSummary,
    fleet_summary,
    today_totals,
)
from gridpilot.fleet.today import SiteToday, today_of
from gridpilot.web.context import current
from gridpilot.web.energy_flow import NO_DATA, NO_METER
from gridpilot.web.numbers import UNKNOWN, energy

HOUR_MS = 3_600_000


async def load_fleet(
    principal: Principal,
    *,
    search: str | None = None,
    limit: int = 0,
    offset: int = 0,
    history_hours: int = 0,
) -> FleetSummary:
    """The fleet summary of the user's sites whose name contains ``search``: every site's
    figures in ``every``, ``limit`` of them from ``offset`` in ``page``; its ``balances`` cover
    the last ``history_hours`` too (``recent``)."""
    context = current()
    runtime = runtime_of(context.app).get(CONTROL)
    async with context.session() as session:
        return await fleet_summary(
            session=session,
            principal=principal,
            where=FleetFilter(name_contains=search or None),
            limit=limit,
            offset=offset,
            now_ms=now_ms(),
            tracked=runtime.tracker.last_seen if runtime else (lambda _asset_id: None),
            policy=status_policy(context.settings),
            cache=runtime_of(context.app).get(BALANCE),
            max_gap_s=context.settings.energy_max_gap_s,
            history_ms=history_hours * HOUR_MS,
            recent=runtime_of(context.app).get(RECENT_BALANCES),
        )


def recent(fleet: FleetSummary, hours: int) -> PowerHistory:
    """The summed balance of the fleet's sites over the ``hours`` before the summary (loaded
    with ``history_hours`` >= ``hours``), complete intervals only."""
    summed = sum_balances(list(fleet.balances.values()))
    first = fleet.now_ms - hours * HOUR_MS
    skip = sum(1 for ts in summed.stamps_ms if ts + summed.step_ms <= first)
    kw = {t: v[skip:] for t, v in summed.kw.items()}
    cut = PowerHistory(summed.stamps_ms[skip:], summed.step_ms, kw, summed.present)
    return complete_part(cut, fleet.now_ms)


@dataclass(frozen=True)
class NowTotals:
    """The fleet's current balance: each term's sum over the sites where it is known [kW]
    (None where no site knows it), how many sites have a fresh power reading, and the newest
    power reading of any of their assets, fresh or not [epoch ms] (None: never one)."""

    power_kw: dict[str, float | None]
    reporting: int
    sites: int
    last_ms: int | None = None
    #: No site's consumption is measured or derived now: only assumed 0 (plants without a
    #: consumption or grid meter), shown as a dash like the cards, not 0.0 kW.
    unmetered_consumption: bool = False


def now_totals(balances: Iterable[CurrentBalance]) -> NowTotals:
    """Sum current balances per term (unknown sites left out, as the fleet summary's totals)."""
    sums: dict[str, float | None] = dict.fromkeys(TERMS)
    reporting = 0
    listed = list(balances)
    for balance in listed:
        reporting += balance.newest_ms is not None
        for term in TERMS:
            value = balance.power_kw[term]
            if value is not None:
                sums[term] = (sums[term] or 0.0) + value
    stamps = [] if reporting else [a["ts"] for b in listed for a in b.assets if a.get("ts")]
    last = max((to_ms(ts) for ts in stamps), default=None)  # only when all are silent
    unmetered = bool(listed) and all(b.sources["consumption"] == "absent" for b in listed)
    return NowTotals(sums, reporting, len(listed), last, unmetered)


async def balances_now(site_ids: Sequence[int]) -> dict[int, CurrentBalance]:
    """Each site's current balance, from the cache (the database without one)."""
    context = current()
    cache = runtime_of(context.app).get(BALANCE)
    at = now_ms()
    if cache is not None:
        return await cache.balances(site_ids, now_ms=at, max_age_ms=CURRENT_MAX_AGE_MS)
    async with context.session() as session:
        return await current_balances(
            session=session, site_ids=site_ids, now_ms=at, max_age_ms=CURRENT_MAX_AGE_MS
        )


async def current_totals(site_ids: Sequence[int]) -> NowTotals:
    """The current balance of ``site_ids`` summed (scope checked by the caller)."""
    return now_totals((await balances_now(site_ids)).values())


async def site_today(site: Site) -> SiteToday:
    """One site's energy since its local midnight [kWh] (as the fleet summary's ``today``)."""
    at = now_ms()
    midnight = local_midnight_ms(site.timezone, at)
    context = current()
    async with context.session() as session:
        found = await site_balances(
            session=session,
            site_ids=[site.id],
            start_ms=midnight,
            end_ms=at + 1,
            interval="15m",
            max_gap_s=context.settings.energy_max_gap_s,
        )
    return today_of(found[site.id], midnight, at)


def consumption_note(todays: Sequence[SiteToday]) -> str | None:
    """Why the consumption today of these sites reads unknown: ``NO_DATA`` when none knows it
    in any interval, ``NO_METER`` when none measured or derived it (plants, whose consumption
    is only assumed 0); None when some site's consumption is known."""
    if not todays or any("consumption" in t.metered for t in todays):
        return None
    if all("consumption" in t.unknown for t in todays):
        return NO_DATA
    return NO_METER


def consumption_today(todays: Sequence[SiteToday]) -> tuple[str, str | None]:
    """The consumption today of these sites summed, as text (a dash where unknown, never
    0.0 kWh for what nothing measured), and the reason when unknown."""
    note = consumption_note(todays)
    if note is not None:
        return UNKNOWN, note
    return energy(sum(t.kwh["consumption"] for t in todays)), None


@dataclass(frozen=True)
class FleetTotals:
    """The KPI strip: counts, installed generation [kW], today's energy [kWh] (None: a term no
    site knows today) and carbon [kg CO2] (grid import and generation times each site's
    emission factor), self-sufficiency (0-1), the site nearest its contract now (name, import
    kW, contract kW), open alerts."""

    sites: int
    assets: int
    installed_kw: float
    today_kwh: dict[str, float | None]
    self_sufficiency: float | None
    carbon_kg: float
    avoided_kg: float
    worst_contract: tuple[str, float, float] | None
    alerts_open: int
    alerts_critical: int
    status: dict[str, int]


def fleet_totals(every: Sequence[SiteSummary]) -> FleetTotals:
    """Totals over every site of a fleet summary (the same sums as the API's ``totals``)."""
    kwh = today_totals(every)
    used, imported = kwh["consumption"] or 0.0, kwh["import"] or 0.0
    status: dict[str, int] = {}
    for entry in every:
        for name, count in entry.status.items():
            status[name] = status.get(name, 0) + count
    return FleetTotals(
        sites=len(every),
        assets=sum(e.assets.count for e in every),
        installed_kw=sum(e.assets.installed_generation_kw for e in every),
        today_kwh=kwh,
        self_sufficiency=None if used <= 1e-9 else min(1.0, max(0.0, 1 - imported / used)),
        carbon_kg=sum(e.today.kwh["import"] * e.site.emission_factor_kg_per_kwh for e in every),
        avoided_kg=sum(
            e.today.kwh["generation"] * e.site.emission_factor_kg_per_kwh for e in every
        ),
        worst_contract=worst_contract(every),
        alerts_open=sum(sum(e.alerts.values()) for e in every),
        alerts_critical=sum(e.alerts.get("critical", 0) for e in every),
        status=status,
    )


def worst_contract(every: Iterable[SiteSummary]) -> tuple[str, float, float] | None:
    """(site name, grid import now [kW], contract demand [kW]) of the site with the highest
    import / contract, among the sites with a contract and a known import."""
    rated = [
        (e.site.name, e.now.power_kw["import"] or 0.0, e.site.contract_demand_kw or 0.0)
        for e in every
        if e.site.contract_demand_kw and e.now.power_kw["import"] is not None
    ]
    return max(rated, key=lambda r: r[1] / r[2]) if rated else None


@dataclass(frozen=True)
class PowerHistory:
    """Average power per interval [kW] of each term, summed over sites (NaN where no site
    knows the term), on intervals starting at ``stamps_ms``; ``present``: the terms some site
    can have (storage only where there is some)."""

    stamps_ms: list[int]
    step_ms: int
    kw: dict[str, np.ndarray]
    present: frozenset[str]

    def kwh(self, term: str) -> np.ndarray:
        """The term's energy per interval [kWh]."""
        return self.kw[term] * (self.step_ms / HOUR_MS)


async def power_history(site_ids: Sequence[int], *, hours: int) -> PowerHistory:
    """The summed balance of ``site_ids`` over the last ``hours`` (scope checked by the
    caller): one balance statement for all the sites, 15-min intervals up to 7 days. The
    interval still running is left out (its average so far would read as a drop)."""
    end = now_ms()
    context = current()
    async with context.session() as session:
        found = await site_balances(
            session=session,
            site_ids=list(site_ids),
            start_ms=end - hours * HOUR_MS,
            end_ms=end,
            max_gap_s=context.settings.energy_max_gap_s,
        )
    return complete_part(sum_balances(list(found.values())), end)


def complete_part(history: PowerHistory, end_ms: int) -> PowerHistory:
    """The intervals of ``history`` that ended by ``end_ms``."""
    n = sum(1 for ts in history.stamps_ms if ts + history.step_ms <= end_ms)
    kw = {t: v[:n] for t, v in history.kw.items()}
    return PowerHistory(history.stamps_ms[:n], history.step_ms, kw, history.present)


def energy_per(history: PowerHistory, timezone: str, bucket: str) -> PowerHistory:
    """Energy [kWh] per ``bucket`` ("1h" or "1D", days of ``timezone``) in ``kw``'s place:
    the bars of a chart (a bucket without any known interval: NaN)."""
    index = pd.DatetimeIndex(pd.to_datetime(history.stamps_ms, unit="ms", utc=True))
    index = index.tz_convert(timezone)
    sums: dict[str, np.ndarray] = {}
    stamps: list[int] = []
    for term in history.kw:
        summed = pd.Series(history.kwh(term), index=index).resample(bucket).sum(min_count=1)
        sums[term] = summed.to_numpy(dtype="float64")
        stamps = [int(ts.timestamp() * 1000) for ts in summed.index]
    return PowerHistory(stamps, 0, sums, history.present)


def sum_balances(balances: Sequence[SiteBalance]) -> PowerHistory:
    """Sum ``SiteBalance``s on their common intervals (an interval known at no site: NaN)."""
    if not balances:
        return PowerHistory([], 0, {t: np.array([]) for t in TERMS}, frozenset())
    first = balances[0]
    start, step = int(first.start_ms), int(first.step_ms)
    n = len(first.balance.values["consumption"])
    kw: dict[str, np.ndarray] = {}
    present: set[str] = set()
    for term in TERMS:
        stack = np.full((len(balances), n), np.nan)
        for row, site in enumerate(balances):
            values = site.balance.values[term]
            stack[row, : min(n, len(values))] = values[:n]
            if (site.balance.sources[term] != "absent").any():
                present.add(term)
        known = ~np.isnan(stack)
        total = np.where(known.any(axis=0), np.nansum(stack, axis=0), np.nan)
        kw[term] = total / (step / HOUR_MS)
    return PowerHistory([start + i * step for i in range(n)], step, kw, frozenset(present))
