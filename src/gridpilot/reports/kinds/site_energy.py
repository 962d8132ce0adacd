"""The site energy report: energy, cost by tariff period, CO2, peak with its local time, load
factor, top consumers, daily trend, load profile, alerts of the period and data coverage.

Every total is the KPI service's (``insights.kpis.service.compute_kpis``, the function behind
``GET /api/v1/kpis?site=..&start=..&end=..&interval=15m``) for the same period, so the report
and the API agree to the displayed precision. The daily trend and the load profile come from
the site balance on the same intervals (``balance.service.site_balances``): the days add up to
the period's consumption. Top consumers are the ``consumer`` assets' own energy (telemetry's
register or power integral), their share against the site's consumption. Definitions and units:
docs/reports.md and docs/kpis.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gridpilot.alerts.lifecycle import AlertFilter, list_alerts
from gridpilot.assets.service import list_assets
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.reports.document import (
    Chart,
    Column,
    Document,
    Figure,
    Section,
    Table,
    local_text,
    money,
)
from gridpilot.reports.kinds import BuildContext, ReportKind, register
from gridpilot.telemetry.service import energy

INTERVAL_MS = {"15m": 900_000, "1h": 3_600_000}
MAX_ALERTS = 500


class SiteEnergyParams(BaseModel):
    """Parameters of the site energy report."""

    model_config = ConfigDict(extra="forbid")

    interval: Literal["15m", "1h"] = Field(
        default="15m", description="Demand interval of peak, load factor and profile"
    )
    top_consumers: int = Field(default=10, ge=1, le=50, description="Consumers listed")


def _value(kpis: dict[str, Any], key: str) -> Any:
    return (kpis.get(key) or {}).get("value")


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


def _days(site: SiteBalance, timezone: str) -> tuple[Table, Chart]:
    """Consumption, import and generation per local day [kWh] (known intervals summed)."""
    zone = ZoneInfo(timezone)
    terms = ("consumption", "import", "generation")
    days: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(terms, 0.0))
    starts: dict[str, int] = {}
    values = site.balance.values
    for i, edge in enumerate(site.edges[:-1]):
        day = datetime.fromtimestamp(edge / 1000, tz=zone).date().isoformat()
        starts.setdefault(day, edge)
        for term in terms:
            kwh = float(values[term][i])
            if not np.isnan(kwh):
                days[day][term] += kwh
    order = sorted(starts)
    columns = [Column("day", "Day", kind="time")] + [
        Column(f"{t}_kwh", t.capitalize(), "kWh", decimals=1) for t in terms
    ]
    rows = [[starts[d], *(days[d][t] for t in terms)] for d in order]
    chart = Chart(
        "daily_trend",
        "Daily consumption",
        "bar",
        [d[5:] for d in order],
        {"consumption": [days[d]["consumption"] for d in order]},
        "kWh",
    )
    return Table("daily_trend", "Energy per day", columns, rows), chart


def _profile(site: SiteBalance, timezone: str) -> Chart:
    """Mean consumption [kW] per local time of day over the period."""
    zone = ZoneInfo(timezone)
    slots: dict[str, list[float]] = defaultdict(list)
    hours = site.step_ms / 3_600_000
    for i, edge in enumerate(site.edges[:-1]):
        kwh = float(site.balance.values["consumption"][i])
        if not np.isnan(kwh):
            slots[f"{datetime.fromtimestamp(edge / 1000, tz=zone):%H:%M}"].append(kwh / hours)
    labels = sorted(slots)
    mean = [float(np.mean(slots[s])) for s in labels]
    return Chart(
        "load_profile",
        "Load profile (mean by time of day)",
        "line",
        labels,
        {"consumption": mean},
        "kW",
    )


async def _consumers(ctx: BuildContext, total_kwh: float | None, top: int) -> Table:
    """The ``top`` consumer assets by energy, with their share and coverage."""
    assets = await list_assets(
        session=ctx.session,
        principal=ctx.principal,
        site_id=ctx.site.id,
        role="consumer",
        limit=100_000,
    )
    found = []
    for asset in assets:
        result = await energy(
            session=ctx.session,
            asset_id=asset.id,
            start_ms=ctx.start_ms,
            end_ms=ctx.end_ms,
            max_gap_s=ctx.settings.energy_max_gap_s,
        )
        if result.energy_kwh is not None:
            found.append((result.energy_kwh, asset.name, result.coverage))
    found.sort(key=lambda item: (-item[0], item[1]))
    rows = [
        [name, kwh, 100 * kwh / total_kwh if total_kwh else None, 100 * cov]
        for kwh, name, cov in found[:top]
    ]
    columns = [
        Column("asset", "Asset", kind="text"),
        Column("energy_kwh", "Energy", "kWh", decimals=1),
        Column("share_pct", "Share", "%", decimals=1),
        Column("coverage_pct", "Coverage", "%", decimals=1),
    ]
    return Table("top_consumers", f"Top {top} consumers", columns, rows)


async def _alerts(ctx: BuildContext) -> Section:
    where = AlertFilter(
        site_id=ctx.site.id,
        since=datetime.fromtimestamp(ctx.start_ms / 1000, tz=UTC),
        until=datetime.fromtimestamp(ctx.end_ms / 1000, tz=UTC),
    )
    alerts = await list_alerts(
        session=ctx.session, principal=ctx.principal, where=where, limit=MAX_ALERTS, offset=0
    )
    count = {s: sum(1 for a in alerts if a.severity == s) for s in ("critical", "warning", "info")}
    rows = [
        [int(a.raised_at.timestamp() * 1000), a.severity, a.state, a.title] for a in alerts[::-1]
    ]
    columns = [
        Column("raised", "Raised", kind="time"),
        Column("severity", "Severity", kind="text"),
        Column("state", "State now", kind="text"),
        Column("title", "Alert", kind="text"),
    ]
    return Section(
        "Alerts of the period",
        [
            Figure("alerts", "Alerts raised", len(alerts), "", 0),
            *(Figure(f"alerts_{s}", s.capitalize(), n, "", 0) for s, n in count.items()),
            Table("alerts", "Alerts raised in the period", columns, rows),
        ],
    )


def _coverage(kpis: dict[str, Any], site: SiteBalance) -> Section:
    energy_fig = kpis.get("energy_kwh") or {}
    balance = kpis.get("balance") or {}
    share = energy_fig.get("coverage")
    points = balance.get("point_coverage")
    silent = ", ".join(f"#{p}" if p else "site" for p in site.without_data) or "none"
    return Section(
        "Data coverage",
        [
            Figure("coverage_pct", "Intervals with consumption", _pct(share), "%", 1),
            Figure(
                "balance_coverage_pct", "Balance coverage", _pct(balance.get("coverage")), "%", 1
            ),
            Figure(
                "point_coverage_pct",
                "Meters reporting",
                _pct(points),
                "%",
                1,
                f"without data: {silent}",
            ),
            Figure(
                "flagged_intervals", "Intervals flagged", balance.get("flagged_intervals"), "", 0
            ),
        ],
    )


def _pct(share: float | None) -> float | None:
    return None if share is None else 100.0 * share


async def build(ctx: BuildContext, params: SiteEnergyParams) -> Document:
    """The report's document over ``[ctx.start_ms, ctx.end_ms)``."""
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
    days, trend = _days(site, zone)
    consumers = await _consumers(ctx, _value(kpis, "energy_kwh"), params.top_consumers)
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
            Section("Summary", [*_summary(kpis, zone), trend, _profile(site, zone)]),
            _cost(kpis),
            Section("Consumers and days", [consumers, days]),
            await _alerts(ctx),
            _coverage(kpis, site),
        ],
        notes=notes,
    )


KIND = register(
    ReportKind(
        name="site_energy",
        title="Site energy report",
        description="Energy, cost by tariff period, CO2, peak, load factor, top consumers, "
        "daily trend, load profile, alerts and data coverage of a site over a period.",
        params=SiteEnergyParams,
        build=build,
    )
)
