"""Savings per local day or month: the site's measured operation re-priced against running it
without its batteries and with the rule-based self-consumption controller.

Why measured flows and not the stored schedules: a schedule is a plan on forecasts (what
happened differs by the forecast error, a manual override, peak shaving), the MPC stores a
new one every 15 minutes and keeps them 7 days, so a month could not be answered. The site
balance's 15-minute grid import and export and battery charge and discharge (kept a year at
15 minutes) are priced by the tariff valid in each interval, or the site's dynamic prices
where they hold it (``inputs.tariff_prices``), and
compared in ``analytics.flex.actuals.reprice`` (its docstring has the model). The rule-based
reference runs each enabled battery resource in turn, with its own figures; the measured
operation's wear and stored energy use the batteries as one (capacities and powers summed,
the rest weighted by capacity: the balance measures their sum). Each local month is read
once (the balance answers at most 31 days at 15 minutes), from its first day, so the demand
charge of a day is the rise of the month's peak that day. Nothing before the site's first
tariff version is priced: those intervals count as not measured.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.flex import Battery, money
from gridpilot.analytics.flex.actuals import Measured, PeriodCost, reprice
from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Principal
from gridpilot.balance.service import site_balances
from gridpilot.core.errors import Conflict, ValidationFailed
from gridpilot.core.timestamps import MS_PER_HOUR, iso
from gridpilot.flex.inputs import QUARTER_MS, Horizon, month_start_ms, tariff_prices
from gridpilot.flex.resources import list_resources
from gridpilot.flex.savings_schemas import FlexSavingsOut, SavingsPeriodOut
from gridpilot.flex.schedules import _site
from gridpilot.flex.schemas import BatteryParams, ResourceOut
from gridpilot.insights.kpis.tariffs import pricing_versions

Period = Literal["day", "month"]
#: The first days a period may start on (beyond them there is nothing to price).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
#: The most periods one answer holds.
MAX_COUNT = {"day": 31, "month": 12}


def site_batteries(resources: list[ResourceOut]) -> list[Battery]:
    """Each enabled battery as the rule-based controller runs it (from its configured start)."""
    return [
        Battery(
            r.name,
            capacity_kwh=p.capacity_kwh,
            charge_max_kw=p.charge_max_kw,
            discharge_max_kw=p.discharge_max_kw,
            soc_start_frac=p.soc_start_pct / 100,
            soc_min_frac=p.soc_min_pct / 100,
            soc_max_frac=p.soc_max_pct / 100,
            charge_efficiency=p.charge_efficiency,
            discharge_efficiency=p.discharge_efficiency,
            wear_cost_eur_per_kwh=p.cycle_cost_eur_per_kwh / 2,
        )
        for r in resources
        if isinstance(p := r.params, BatteryParams) and r.enabled
    ]


def equivalent_battery(resources: list[ResourceOut]) -> Battery | None:
    """The enabled batteries as one: capacities and powers summed, bands, efficiencies and
    wear weighted by capacity (None without a battery)."""
    params = [r.params for r in resources if isinstance(r.params, BatteryParams) and r.enabled]
    if not params:
        return None
    cap = sum(p.capacity_kwh for p in params)

    def mean(field: str) -> float:
        return sum(getattr(p, field) * p.capacity_kwh for p in params) / cap

    return Battery(
        "batteries",
        capacity_kwh=cap,
        charge_max_kw=sum(p.charge_max_kw for p in params),
        discharge_max_kw=sum(p.discharge_max_kw for p in params),
        soc_start_frac=mean("soc_start_pct") / 100,
        soc_min_frac=mean("soc_min_pct") / 100,
        soc_max_frac=mean("soc_max_pct") / 100,
        charge_efficiency=mean("charge_efficiency"),
        discharge_efficiency=mean("discharge_efficiency"),
        wear_cost_eur_per_kwh=mean("cycle_cost_eur_per_kwh") / 2,
    )


def period_edges(period: Period, first: date, count: int, timezone: str) -> list[int]:
    """``count + 1`` local midnights [UTC ms] bounding the days or months from ``first``."""
    zone = ZoneInfo(timezone)
    days: list[date] = []
    for i in range(count + 1):
        if period == "day":
            days.append(date.fromordinal(first.toordinal() + i))
        else:
            months = first.year * 12 + first.month - 1 + i
            days.append(date(months // 12, months % 12 + 1, 1))
    return [int(datetime.combine(d, time(0), zone).timestamp() * 1000) for d in days]


async def _month(
    session: AsyncSession, site: Site, edges: list[int], lo: int, hi: int,
    batteries: tuple[Battery | None, list[Battery]],
) -> list[PeriodCost] | None:  # fmt: skip
    """The periods' costs from one local month's intervals ``[lo, hi)`` (None: no tariff)."""
    found = (
        await site_balances(
            session=session, site_ids=[site.id], start_ms=lo, end_ms=hi, interval="15m"
        )
    )[site.id]
    values = found.balance.values
    steps = len(values["import"])
    horizon = Horizon(found.start_ms, found.step_ms, steps)
    prices = await tariff_prices(session=session, site=site, horizon=horizon)
    if prices is None:
        return None
    starts = horizon.step_starts_ms
    which = np.searchsorted(edges, starts, side="right") - 1
    which = np.where((starts >= edges[0]) & (which < len(edges) - 1), which, -1)
    measured = Measured(
        step_h=found.step_ms / MS_PER_HOUR,
        import_kwh=np.asarray(values["import"], dtype=float),
        export_kwh=np.asarray(values["export"], dtype=float),
        charge_kwh=np.asarray(values["charge"], dtype=float),
        discharge_kwh=np.asarray(values["discharge"], dtype=float),
        price_eur_per_kwh=prices.import_eur_per_kwh,
        export_price_eur_per_kwh=prices.export_eur_per_kwh,
    )
    equivalent, each = batteries
    return reprice(measured, equivalent, period_of=which, periods=len(edges) - 1,
                   demand_charge_eur_per_kw=prices.demand_charge_eur_per_kw,
                   rule_batteries=each)  # fmt: skip


def _out(label: str, start: int, end: int, costs: PeriodCost) -> SavingsPeriodOut:
    actual, none, rule = (money(v) for v in (costs.actual_eur, costs.no_battery_eur,
                                              costs.rule_based_eur))  # fmt: skip
    return _figures(label, start, end, actual, none, rule, costs.intervals, costs.measured)


def _figures(
    label: str, start: int, end: int, actual: Decimal, none: Decimal, rule: Decimal,
    intervals: int, measured: int,
) -> SavingsPeriodOut:  # fmt: skip
    return SavingsPeriodOut(
        period=label, start=iso(start), end=iso(end), optimised_eur=str(actual),
        no_battery_eur=str(none), rule_based_eur=str(rule),
        saving_vs_no_battery_eur=str(none - actual), saving_vs_rule_based_eur=str(rule - actual),
        intervals=intervals, measured_intervals=measured,
    )  # fmt: skip


async def flex_savings(
    *,
    session: AsyncSession,
    site_id: int,
    principal: Principal | None,
    period: Period,
    now_ms: int,
    start: date | None = None,
    count: int = 1,
) -> FlexSavingsOut:
    """``count`` local days or months from ``start`` (default: today or this month) up to now."""
    if not 1 <= count <= MAX_COUNT[period]:
        raise ValidationFailed(f"count must be 1 to {MAX_COUNT[period]} for period={period}")
    if start is not None and not EARLIEST <= start <= LATEST:
        raise ValidationFailed(f"start must lie between {EARLIEST} and {LATEST}")
    site = await _site(session, site_id, principal)
    zone = ZoneInfo(site.timezone)
    first = start or datetime.fromtimestamp(now_ms / 1000, zone).date()
    if period == "month":
        first = first.replace(day=1)
    edges = period_edges(period, first, count, site.timezone)
    resources = await list_resources(session=session, site_id=site_id, enabled_only=True)
    batteries = equivalent_battery(resources), site_batteries(resources)
    stop = min(edges[-1], -(-now_ms // QUARTER_MS) * QUARTER_MS)
    costs = [PeriodCost(0.0, 0.0, 0.0, 0, 0) for _ in edges[:-1]]
    versions = await pricing_versions(session=session, site=site)
    if not versions:
        raise Conflict(f"site {site_id} has no tariff to price its operation with",
                       details={"missing": ["tariff"]})  # fmt: skip
    priced_from = -(-versions[0][0] // QUARTER_MS) * QUARTER_MS  # nothing is priced before
    lo = max(month_start_ms(edges[0], site.timezone), priced_from)
    while lo < stop:
        hi = min(stop, period_edges("month", datetime.fromtimestamp(lo / 1000, zone).date(), 1,
                                    site.timezone)[1])  # fmt: skip
        found = await _month(session, site, edges, lo, hi, batteries)
        if found is None:  # cannot happen from the first version on; kept for safety
            raise Conflict(f"site {site_id} has no tariff over {iso(lo)}..{iso(hi)}")
        costs = [_plus(a, b) for a, b in zip(costs, found, strict=True)]
        lo = hi
    labels = [iso_label(e, site.timezone, period) for e in edges[:-1]]
    periods = [
        _out(label, edges[i], max(edges[i], min(edges[i + 1], now_ms)), costs[i])
        for i, label in enumerate(labels)
    ]
    return FlexSavingsOut(
        site_id=site_id, timezone=site.timezone, period=period,
        batteries=[r.name for r in resources if r.kind == "battery"], periods=periods,
        total=_total(periods, edges, now_ms),
    )  # fmt: skip


def _plus(a: PeriodCost, b: PeriodCost) -> PeriodCost:
    return PeriodCost(
        a.actual_eur + b.actual_eur, a.no_battery_eur + b.no_battery_eur,
        a.rule_based_eur + b.rule_based_eur, a.intervals + b.intervals, a.measured + b.measured,
    )  # fmt: skip


def _total(periods: list[SavingsPeriodOut], edges: list[int], now_ms: int) -> SavingsPeriodOut:
    def add(field: str) -> Decimal:
        return sum((Decimal(getattr(p, field)) for p in periods), Decimal("0.00"))

    end = min(edges[-1], max(edges[0], now_ms))
    return _figures(
        f"{periods[0].period}..{periods[-1].period}", edges[0], end,
        add("optimised_eur"), add("no_battery_eur"), add("rule_based_eur"),
        sum(p.intervals for p in periods), sum(p.measured_intervals for p in periods),
    )  # fmt: skip


def iso_label(ms: int, timezone: str, period: Period) -> str:
    """``2026-12-04`` (a day) or ``2026-12`` (a month), in the site's time."""
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).date()
    return local.isoformat() if period == "day" else local.isoformat()[:7]
