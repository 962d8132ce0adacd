"""The fleet seed's KPI strip (ecogrid-der-fleet.md: total sites, capacity, carbon saved, grid
revenue) from one fleet summary, each figure with its unit and a tooltip saying how it is
computed (the same sums as the API's fleet totals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from nicegui import ui

from gridpilot.analytics.grid_revenue import GridRevenue, total_revenue
from gridpilot.fleet.service import SiteSummary
from gridpilot.web.layout import kpi_card

#: Written before the amount; other currencies follow it as a code.
SIGNS = {"EUR": "€", "USD": "$", "GBP": "£"}

HOW = {
    "sites": "Every site you may see (your account's site scope).",
    "capacity": "Rated capacity of the producing assets (PV, wind and other producers and "
    "prosumers), summed over the sites: kW / 1,000 = MW.",
    "carbon-saved": "On-site generation since each site's local midnight (kWh, from the site "
    "energy balance) x that site's grid emission factor (kg CO2/kWh, site setting; default "
    "0.45): the factor the carbon KPI applies to grid import.",
    "revenue": "Energy exported since each site's local midnight x its tariff's export price "
    "for each 15-min interval (the feed-in rate or time-of-use export periods of the tariff "
    "version valid then), rounded half up to the cent. A site without an export price "
    "counts 0.",
}


@dataclass(frozen=True)
class SeedFigures:
    """Sites, capacity [MW], carbon saved today [kg CO2], grid revenue today (None: the sites
    are priced in different currencies)."""

    sites: int
    capacity_mw: float
    carbon_saved_kg: float
    revenue: GridRevenue | None
    unpriced_sites: int


def seed_figures(every: Sequence[SiteSummary]) -> SeedFigures:
    """The four figures over every site of a fleet summary."""
    revenues = [e.revenue for e in every if e.revenue is not None]
    return SeedFigures(
        sites=len(every),
        capacity_mw=sum(e.assets.installed_generation_kw for e in every) / 1000.0,
        carbon_saved_kg=sum(
            e.today.kwh["generation"] * e.site.emission_factor_kg_per_kwh for e in every
        ),
        revenue=total_revenue(revenues),
        unpriced_sites=sum(1 for r in revenues if not r.priced),
    )


def amount(value: Decimal, currency: str) -> str:
    """``€1,234.56`` (``1,234.56 CHF`` for a currency without a sign)."""
    text = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    if currency in SIGNS:
        return f"{sign}{SIGNS[currency]}{text}"
    return f"{sign}{text} {currency}"


def _card(label: str, value: str, mark: str, hint: str) -> None:
    shown = kpi_card(label, value, mark, hint)
    card = shown.parent_slot.parent if shown.parent_slot is not None else shown
    with card:
        ui.tooltip(HOW[mark]).props(f"data-testid=kpi-{mark}-how max-width=22rem").classes(
            "text-body2"
        )


def seed_strip(figures: SeedFigures) -> None:
    """Total sites, capacity [MW], carbon saved today [kg CO2], grid revenue today."""
    _card("Total sites", f"{figures.sites:,}", "sites", "in your scope")
    _card("Capacity", f"{figures.capacity_mw:,.2f} MW", "capacity", "installed generation")
    _card(
        "Carbon saved today",
        f"{figures.carbon_saved_kg:,.0f} kg CO₂",
        "carbon-saved",
        "generation x grid factor",
    )
    revenue = figures.revenue
    if revenue is None:
        _card("Grid revenue today", "per site", "revenue", "sites use different currencies")
        return
    if figures.sites and figures.unpriced_sites == figures.sites:
        hint = "no export price set"
    elif figures.unpriced_sites:
        hint = f"{figures.unpriced_sites:,} of {figures.sites:,} sites without export price"
    else:
        hint = f"{float(revenue.export_kwh):,.0f} kWh exported"
    _card("Grid revenue today", amount(revenue.amount, revenue.currency), "revenue", hint)
