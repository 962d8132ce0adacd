"""``/``: the fleet at a glance, from one fleet summary (whose one balance statement covers
today and the last 24 h) whatever the number of sites: the KPI strip, the current balance
(refreshed from the in-memory cache every few seconds), the last 24 h of the summed site
balances and the map of sites. The page answers at once and fills in when the figures are
in, so no fleet size reaches NiceGUI's response_timeout."""

from __future__ import annotations

from nicegui import ui

from gridpilot.web.charts import balance_chart
from gridpilot.web.fleet_strip import SeedFigures, seed_figures, seed_strip
from gridpilot.web.fleet_view import (
    FleetTotals,
    current_totals,
    fleet_totals,
    load_fleet,
    now_totals,
    recent,
    sum_balances,
)
from gridpilot.web.flow_view import fleet_flow
from gridpilot.web.layout import frame, kpi_card, require_login
from gridpilot.web.now_panel import NOW_REFRESH_S, now_panel, now_terms, show_now
from gridpilot.web.numbers import UNKNOWN, energy, number, power, share
from gridpilot.web.site_map import site_map


def _kpis(totals: FleetTotals, seed: SeedFigures) -> None:
    today = totals.today_kwh
    status = totals.status
    with ui.row().classes("w-full gap-3").props("data-testid=kpi-strip"):
        seed_strip(seed)  # the fleet seed's four: sites, capacity, carbon saved, grid revenue
        kpi_card(
            "Assets",
            f"{totals.assets:,}",
            "assets",
            f"{status.get('online', 0):,} online · {status.get('offline', 0):,} offline",
        )
        kpi_card(
            "Consumption today",
            energy(today["consumption"]),
            "energy",
            "each site's day",
            flow="consumption",
        )
        kpi_card("Generation today", energy(today["generation"]), "generation", flow="generation")
        kpi_card("Self-sufficiency today", share(totals.self_sufficiency), "selfsufficiency")
        worst = totals.worst_contract
        if worst is None:
            kpi_card("Contract use now", UNKNOWN, "peak", "no contract with a known import")
        else:
            name, imported, contract = worst
            kpi_card(
                "Contract use now",
                share(imported / contract),
                "peak",
                f"{name}: {power(imported)} of {power(contract)}",
            )
        kpi_card("Carbon today", number(totals.carbon_kg, "kg CO2", 0), "carbon", "grid import")
        kpi_card("Cost today", "per site", "cost", "tariffs differ: on each site's page")
        kpi_card(
            "Open alerts",
            f"{totals.alerts_open:,}",
            "alerts",
            f"{totals.alerts_critical:,} critical",
        )


def register() -> None:
    @ui.page("/")
    async def overview_page() -> None:
        user = await require_login("/")
        if user is None:
            return
        with frame(user, "Overview"):
            parts = ui.column().classes("w-full gap-4")
            with parts:
                ui.spinner(size="lg").props("data-testid=overview-loading")
            with ui.card().classes("w-full"):
                ui.label("Power, last 24 hours (15-min averages, all sites)").classes(
                    "text-subtitle1"
                )
                chart = ui.echart(balance_chart(sum_balances([]))).classes("w-full h-80")
                chart.props("data-testid=power-chart")
            below = ui.column().classes("w-full")
        # the page answers at once; the figures follow (a large fleet never hits the timeout)
        await ui.context.client.connected()
        fleet = await load_fleet(user, history_hours=24)
        history = recent(fleet, 24)
        zones = {e.site.timezone for e in fleet.every}
        zone = zones.pop() if len(zones) == 1 else "UTC"  # the sites' zone when they share one
        parts.clear()
        with parts:
            _kpis(fleet_totals(fleet.every), seed_figures(fleet.every))
            labels = now_panel(
                now_totals(e.now for e in fleet.every), now_terms(history.present), zone
            )
            fleet_flow(fleet)
        chart.options.clear()
        chart.options.update(balance_chart(history))
        chart.update()
        with below:
            site_map(fleet.every)
        site_ids = [e.site.id for e in fleet.every]

        async def refresh() -> None:
            show_now(labels, await current_totals(site_ids), zone)

        ui.timer(NOW_REFRESH_S, refresh)
