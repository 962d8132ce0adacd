"""``Site.kpis``: a site's energy figures over a period, as ``Site.today`` computes them for
the site's local day (``fleet.today.today_of`` over its balance, grid revenue from the export
priced by its tariffs), for any period.

A period is named (``analytics.periods``: ``today``, ``yesterday``, ``this_month``,
``last_7_days``... in the site's local time) or given by ``start``/``end`` (ISO-8601, UTC
without an offset, or epoch ms, as ``GET /api/v1/kpis``; ``end`` defaults to now and ``start``
to 24 h before ``end``). The sites asked for one period are solved together: one balance
statement per period asked, whatever the number of sites (15-min intervals up to 31 days,
hourly beyond, at most 400 days).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.grid_revenue import GridRevenue
from gridpilot.analytics.periods import DAY_MS, window
from gridpilot.assets.models import Site
from gridpilot.balance.service import site_balances
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import parse_period
from gridpilot.fleet.today import SiteToday, today_of
from gridpilot.insights.kpis.revenue import export_series, pricing_versions_by_site, site_revenue

#: The longest period [days] (the balance's hourly limit).
MAX_DAYS = 400
#: Periods up to this long [days] are solved on 15-min intervals, longer ones hourly.
FINE_DAYS = 31


@dataclass(frozen=True)
class Asked:
    """The period as the query gave it."""

    period: str | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class Span:
    """A site's period ``[start_ms, end_ms)``, a running one ending now."""

    start_ms: int
    end_ms: int


def span_of(asked: Asked, timezone: str, now_ms: int) -> Span:
    """The site's period of ``asked``; ``ValidationFailed`` in words for a bad one."""
    if asked.period is not None and (asked.start is not None or asked.end is not None):
        raise ValidationFailed("give either period or start and end, not both")
    if asked.start is None and asked.end is None:
        start, end = window(asked.period or "today", timezone, now_ms)
    else:
        start, end = parse_period(asked.start, asked.end)
    if start >= now_ms:
        raise ValidationFailed("the period must start before now: KPIs are measured")
    if end - start > MAX_DAYS * DAY_MS:
        raise ValidationFailed(f"a KPI period is at most {MAX_DAYS} days")
    return Span(start, min(end, now_ms))


async def period_figures(
    *, session: AsyncSession, sites: Sequence[Site], spans: dict[int, Span], max_gap_s: int
) -> dict[int, tuple[SiteToday, GridRevenue]]:
    """Each site's figures over its span (scope checked by the caller): one balance statement
    over the spans' union, one tariff query."""
    if not sites:
        return {}
    lo = min(spans[s.id].start_ms for s in sites)
    hi = max(spans[s.id].end_ms for s in sites)
    balances = await site_balances(
        session=session,
        site_ids=[s.id for s in sites],
        start_ms=lo,
        end_ms=hi + 1,  # a reading stamped at the end (now) counts, as for today
        interval="15m" if hi + 1 - lo <= FINE_DAYS * DAY_MS else "1h",
        now_ms=hi,
        max_gap_s=max_gap_s,
    )
    versions = await pricing_versions_by_site(session=session, sites=sites)
    found = {}
    for site in sites:
        balance, span = balances[site.id], spans[site.id]
        edge = balance.start_ms + (span.start_ms - balance.start_ms) // balance.step_ms * (
            balance.step_ms
        )  # the start of the interval the period starts in: the figures' start
        figures = today_of(balance, edge, span.end_ms)
        exported = export_series(balance, edge, span.end_ms)
        found[site.id] = (figures, site_revenue(site, versions[site.id], exported))
    return found
