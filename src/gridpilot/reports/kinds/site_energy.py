"""The site energy report: energy, cost by tariff period, CO2, peak with its local time, load
factor, top consumers, daily trend, load profile, alerts of the period and data coverage.

Every total is the KPI service's (``insights.kpis.service.compute_kpis``, the function behind
``GET /api/v1/kpis?site=..&start=..&end=..&interval=15m``) for the same period, so the report
and the API agree to the displayed precision. The daily trend and the load profile come from
the site balance on the same intervals (``balance.service.site_balances``): the days add up to
the period's consumption. Top consumers are the ``consumer`` assets' own energy (telemetry's
register or power integral, every asset's in one batch), their share against the site's
consumption. A device group's report (its members' sites, per site and in total) is built by
``site_energy_group``. Definitions and units: docs/reports.md and docs/kpis.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.reports.document import Column, Document, Figure, Section, Table, local_text, money
from gridpilot.reports.kinds import BuildContext, ReportKind, register
from gridpilot.reports.kinds.energy_parts import (
    INTERVAL_MS,
    SiteEnergyParams,
    alerts,
    consumers,
    days,
    pct,
    profile,
)
from gridpilot.reports.kinds.energy_parts import value as _value
from gridpilot.reports.kinds.site_energy_group import build_group
from gridpilot.reports.targets import GROUP, SITE

__all__ = ["SiteEnergyParams", "build"]


def _summary(kpis: dict[str, Any], timezone: str) -> list[Figure]:
    """The headline figures, as the KPI API gives them, to their displayed precision."""
    peak = kpis.get("peak_demand_kw") or {}
    at = peak.get("at")
    peak_at = local_text(_ms(at), timezone) if at else None
    balance = kpis.get("balance") or {}
    figures = [
        Figure("energy_kwh", "Consumption", _value(kpis, "energy_kwh"), "kWh", 1),
        Figure("import_kwh", "Grid import", balance.get("import_kwh"), "kWh", 1),
        Figure("export_kwh", "Grid export", balance.get("export_kwh"), "kWh", 1),
        Figure("generation_kwh", "Generation", _value(kpis, "generation_kwh"), "kWh", 1),
        Figure("peak_demand_kw", "Peak demand", peak.get("value"), "kW", 2, f"at {peak_at}"),
        Figure("peak_at", "Peak at (local time)", peak_at, "", 0),
        Figure("load_factor", "Load factor", _value(kpis, "load_factor"), "", 3),
        Figure("carbon_kg", "CO2 of grid import", _value(kpis, "carbon_kg"), "kg", 1),
    ]
    if "contract_utilization_pct" in kpis:
        share = _value(kpis, "contract_utilization_pct")
        figures.append(Figure("contract_utilization_pct", "Contract utilisation", share, "%", 1))
    return figures


def _cost(kpis: dict[str, Any]) -> Section:
    cost = kpis.get("cost") or {}
    unit = cost.get("unit") or ""
    items: list[Any] = [
        Figure("cost", "Cost of grid import", money(cost.get("value")), unit, 2),
        Figure("energy_cost", "Energy charges", money(cost.get("energy_cost")), unit, 2),
        Figure("demand_cost", "Demand charges", money(cost.get("demand_cost")), unit, 2),
        Figure("fixed_cost", "Fixed charges", money(cost.get("fixed_cost")), unit, 2),
    ]
    rows = [
        [name, part["energy_kwh"], money(part["cost"])]
        for name, part in sorted((cost.get("by_period") or {}).items())
    ]
    columns = [
        Column("period", "Tariff period", kind="text"),
        Column("energy_kwh", "Energy", "kWh", decimals=1),
        Column("cost", "Cost", unit, decimals=2),
    ]
    items.append(Table("cost_by_period", "Cost by tariff period", columns, rows))
    return Section("Cost", items)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _coverage(kpis: dict[str, Any], site: SiteBalance) -> Section:
    energy_fig = kpis.get("energy_kwh") or {}
    balance = kpis.get("balance") or {}
    share = energy_fig.get("coverage")
    points = balance.get("point_coverage")
    silent = ", ".join(f"#{p}" if p else "site" for p in site.without_data) or "none"
    return Section(
        "Data coverage",
        [
            Figure("coverage_pct", "Intervals with consumption", pct(share), "%", 1),
            Figure(
                "balance_coverage_pct", "Balance coverage", pct(balance.get("coverage")), "%", 1
            ),
            Figure(
                "point_coverage_pct",
                "Meters reporting",
                pct(points),
                "%",
                1,
                f"without data: {silent}",
            ),
            Figure(
                "flagged_intervals", "Intervals flagged", balance.get("flagged_intervals"), "", 0
            ),
        ],
    )


async def build(ctx: BuildContext, params: SiteEnergyParams) -> Document:
    """The report's document over ``[ctx.start_ms, ctx.end_ms)`` (a group's: ``build_group``)."""
    if ctx.target.kind == GROUP:
        return await build_group(ctx, params, KIND.title)
    interval_ms = INTERVAL_MS[params.interval]
    found = await compute_kpis(
        session=ctx.session,
        principal=ctx.principal,
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        interval_ms=interval_ms,
        max_gap_s=ctx.settings.energy_max_gap_s,
        site_id=ctx.site.id,
    )
    kpis = found["kpis"]
    site = (
        await site_balances(
            session=ctx.session,
            site_ids=[ctx.site.id],
            start_ms=ctx.start_ms,
            end_ms=ctx.end_ms,
            interval=params.interval,
            max_gap_s=ctx.settings.energy_max_gap_s,
        )
    )[ctx.site.id]
    zone = ctx.site.timezone
    daily, trend = days([site], zone)
    edges = list(site.edges[:-1])
    load = profile(edges, site.balance.values["consumption"][: len(edges)], site.step_ms, zone)
    top = await consumers(ctx, [ctx.site.id], _value(kpis, "energy_kwh"), params.top_consumers)
    notes = list((kpis.get("cost") or {}).get("notes") or [])
    notes.append("Totals are those of GET /api/v1/kpis for the same site and period.")
    return Document(
        kind=KIND.name,
        title=KIND.title,
        site_name=ctx.site.name,
        timezone=zone,
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        generated_ms=ctx.now_ms,
        sections=[
            Section("Summary", [*_summary(kpis, zone), trend, load]),
            _cost(kpis),
            Section("Consumers and days", [top, daily]),
            await alerts(ctx, [ctx.site.id]),
            _coverage(kpis, site),
        ],
        notes=notes,
    )


KIND = register(
    ReportKind(
        name="site_energy",
        title="Site energy report",
        description="Energy, cost by tariff period, CO2, peak, load factor, top consumers, "
        "daily trend, load profile, alerts and data coverage of a site over a period; of a "
        "device group: its members' sites, per site and in total.",
        params=SiteEnergyParams,
        build=build,
        targets=frozenset({SITE, GROUP}),
    )
)
