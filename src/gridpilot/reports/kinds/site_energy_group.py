"""The site energy report of a device group (#22 item 1): the sites of its members, per site and
in total, over the report's period in the definition's time zone.

- **Per site** (table ``sites``): the KPI service's figures of each whole site
  (``compute_kpis``, the numbers of ``GET /api/v1/kpis?site=..``), as a site's report shows them:
  consumption, import, export, generation, peak demand with its local time (the site's zone), load
  factor, CO2, cost (rounded half-up to the cent) and the share of intervals with consumption.
- **Total**: the sums of those rows (energy, CO2; cost per currency as the sum of the sites' cents,
  so the table adds up to the cent); the *coincident* peak demand of the sites together (the
  highest summed consumption of one demand interval among the intervals where every site's is
  known, from the sites' balances solved together: ``site_balances``) with its time, and the load
  factor of that sum. The daily trend adds the sites' days (the report's zone), the load profile
  is the sum's.
- The members now (table ``members``), the top consumers of the sites, the alerts of the sites.

Figures the sites' peaks cannot give (a group peak is not the sum of the sites' peaks) are named
so in the notes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from gridpilot.balance.service import site_balances
from gridpilot.core.errors import ValidationFailed
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.reports.document import Column, Document, Figure, Section, Table, local_text, money
from gridpilot.reports.kinds import BuildContext
from gridpilot.reports.kinds.energy_parts import (
    INTERVAL_MS,
    SiteEnergyParams,
    alerts,
    coincident,
    consumers,
    days,
    pct,
    profile,
    value,
)

#: Members listed (the group may hold thousands of devices).
MAX_MEMBERS = 500
SUMMED = ("energy_kwh", "import_kwh", "export_kwh", "generation_kwh", "carbon_kg")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _site_row(name: str, timezone: str, kpis: dict[str, Any]) -> dict[str, Any]:
    peak = kpis.get("peak_demand_kw") or {}
    balance = kpis.get("balance") or {}
    cost = kpis.get("cost") or {}
    return {
        "site": name,
        "energy_kwh": value(kpis, "energy_kwh"),
        "import_kwh": balance.get("import_kwh"),
        "export_kwh": balance.get("export_kwh"),
        "generation_kwh": value(kpis, "generation_kwh"),
        "peak_demand_kw": peak.get("value"),
        "peak_at": local_text(_ms(peak["at"]), timezone) if peak.get("at") else None,
        "load_factor": value(kpis, "load_factor"),
        "carbon_kg": value(kpis, "carbon_kg"),
        "cost": money(cost.get("value")),
        "currency": cost.get("unit") if cost.get("value") is not None else None,
        "coverage_pct": pct((kpis.get("energy_kwh") or {}).get("coverage")),
    }


SITE_COLUMNS = [
    Column("site", "Site", kind="text"),
    Column("energy_kwh", "Consumption", "kWh", decimals=1),
    Column("import_kwh", "Import", "kWh", decimals=1),
    Column("export_kwh", "Export", "kWh", decimals=1),
    Column("generation_kwh", "Generation", "kWh", decimals=1),
    Column("peak_demand_kw", "Peak", "kW", decimals=2),
    Column("peak_at", "Peak at (site time)", kind="text"),
    Column("load_factor", "Load factor", decimals=3),
    Column("carbon_kg", "CO2", "kg", decimals=1),
    Column("cost", "Cost", decimals=2),
    Column("currency", "Currency", kind="text"),
    Column("coverage_pct", "Coverage", "%", decimals=1),
]


def _total(rows: list[dict[str, Any]], key: str) -> float | None:
    known = [r[key] for r in rows if r[key] is not None]
    return float(sum(known)) if known else None


def _totals(rows: list[dict[str, Any]]) -> list[Figure]:
    labels = {
        "energy_kwh": ("Consumption", "kWh"),
        "import_kwh": ("Grid import", "kWh"),
        "export_kwh": ("Grid export", "kWh"),
        "generation_kwh": ("Generation", "kWh"),
        "carbon_kg": ("CO2 of grid import", "kg"),
    }
    figures = [Figure(k, labels[k][0], _total(rows, k), labels[k][1], 1) for k in SUMMED]
    costs: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        if row["cost"] is not None:
            costs[row["currency"] or ""] += row["cost"]
    if len(costs) <= 1:
        unit, amount = next(iter(costs.items()), ("", None))
        figures.append(Figure("cost", "Cost of grid import", amount, unit, 2))
    else:  # sites with tariffs in several currencies: one total per currency
        figures += [
            Figure(f"cost_{c or 'none'}", f"Cost of grid import ({c})", a, c, 2)
            for c, a in sorted(costs.items())
        ]
    return figures


def _peak(edges: list[int], kwh: np.ndarray, step_ms: int, timezone: str) -> list[Figure]:
    """Coincident peak [kW], its local time, the load factor of the sum and the share of
    intervals where every site's consumption is known."""
    known = ~np.isnan(kwh)
    hours = step_ms / 3_600_000
    peak = at = factor = None
    if known.any():
        i = int(np.nanargmax(kwh))  # the first of equal maxima
        peak = float(kwh[i]) / hours
        at = local_text(edges[i], timezone)
        factor = float(np.nanmean(kwh)) / hours / peak if peak > 0 else None
    share = 100.0 * float(known.mean()) if len(kwh) else None
    return [
        Figure("peak_demand_kw", "Coincident peak demand", peak, "kW", 2, f"at {at}"),
        Figure("peak_at", "Peak at (local time)", at, "", 0),
        Figure("load_factor", "Load factor (of the sum)", factor, "", 3),
        Figure("coverage_pct", "Intervals with every site's consumption", share, "%", 1),
    ]


async def build_group(ctx: BuildContext, params: SiteEnergyParams, title: str) -> Document:
    """The group's document over ``[ctx.start_ms, ctx.end_ms)``."""
    target = ctx.target
    if not target.sites:
        raise ValidationFailed(f"group {target.name!r} has no members: nothing to report")
    interval_ms = INTERVAL_MS[params.interval]
    rows = []
    for site in target.sites:
        found = await compute_kpis(
            session=ctx.session,
            principal=ctx.principal,
            start_ms=ctx.start_ms,
            end_ms=ctx.end_ms,
            interval_ms=interval_ms,
            max_gap_s=ctx.settings.energy_max_gap_s,
            site_id=site.id,
        )
        rows.append(_site_row(site.name, site.timezone, found["kpis"]))
    balances = await site_balances(
        session=ctx.session,
        site_ids=[s.id for s in target.sites],
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        interval=params.interval,
        max_gap_s=ctx.settings.energy_max_gap_s,
    )
    ordered = [balances[s.id] for s in target.sites]
    zone = target.timezone
    daily, trend = days(ordered, zone)
    edges, summed, step_ms = coincident(ordered)
    names = {s.id: s.name for s in target.sites}
    total = _total(rows, "energy_kwh")
    top = await consumers(ctx, list(names), total, params.top_consumers, names)
    members = [[a.name, names.get(a.site_id, ""), a.kind, a.role] for a in target.members]
    member_columns = [
        Column("asset", "Asset", kind="text"),
        Column("site", "Site", kind="text"),
        Column("kind", "Kind", kind="text"),
        Column("role", "Role", kind="text"),
    ]
    summary: list[Any] = [
        Figure("sites", "Sites", len(target.sites), "", 0),
        Figure("members", "Members", len(target.members), "", 0),
        *_totals(rows),
        *_peak(edges, summed, step_ms, zone),
        trend,
        profile(edges, summed, step_ms, zone),
    ]
    notes = [
        "Per-site figures are those of GET /api/v1/kpis for each site and the period; the "
        "totals are their sums (cost: the sum of the sites' amounts to the cent).",
        "The coincident peak is the highest summed consumption of one interval where every "
        "site's consumption is known; it is not the sum of the sites' peaks.",
    ]
    if len(target.members) > MAX_MEMBERS:
        notes.append(f"Members: the first {MAX_MEMBERS} of {len(target.members)} are listed.")
    return Document(
        kind="site_energy",
        title=title,
        site_name=target.label.removeprefix("group "),
        timezone=zone,
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        generated_ms=ctx.now_ms,
        target="group",
        sections=[
            Section("Total of the group's sites", summary),
            Section(
                "Per site",
                [
                    Table(
                        "sites",
                        "Sites",
                        SITE_COLUMNS,
                        [[r[c.key] for c in SITE_COLUMNS] for r in rows],
                    )
                ],
            ),
            Section("Consumers and days", [top, daily]),
            Section(
                "Members",
                [Table("members", "Group members", member_columns, members[:MAX_MEMBERS])],
            ),
            await alerts(ctx, list(names), names),
        ],
        notes=notes,
    )
