"""``/``: the fleet at a glance, from one fleet summary (whose one balance statement covers
today and the last 24 h) whatever the number of sites: the KPI strip, the current balance
(refreshed from the in-memory cache every few seconds), the last 24 h of the summed site
balances and the map of sites. The page answers at once and fills in when the figures are
in, so no fleet size reaches NiceGUI's response_timeout."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from gridpilot.core.timestamps import now_ms
from gridpilot.fleet.service import FleetSummary
from gridpilot.fleet.today import SiteToday
from gridpilot.web.chart_legend import ChartLegend, without_legend
from gridpilot.web.charts import balance_chart, on_site_clock
from gridpilot.web.energy_flow import Flows, flows_of, load_balances
from gridpilot.web.fleet_strip import SeedFigures, seed_figures, seed_strip
from gridpilot.web.fleet_view import (
    FleetTotals,
    PowerHistory,
    complete_part,
    consumption_today,
    current_totals,
    fleet_totals,
    load_fleet,
    now_totals,
    recent,
    sum_balances,
)
from gridpilot.web.flow_view import fleet_flow, fleet_flows
from gridpilot.web.layout import frame, kpi_card, require_login
from gridpilot.web.now_panel import NOW_REFRESH_S, now_panel, now_terms, show_now
from gridpilot.web.numbers import UNKNOWN, energy, number, power, share, zone_name
from gridpilot.web.site_map import site_map
from gridpilot.web.time_range import DEFAULT, chosen, period_of, range_picker

TITLE = "Power, last 24 hours (15-min averages, all sites, {zone})"


def _draw(chart: ui.echart, legend: ChartLegend, history: PowerHistory, zone: str) -> None:
    """The fleet's balance chart on ``zone``'s wall clock (axis and tooltips read as the
    title's zone, whatever the browser's), its legend below it."""
    chart.options.clear()
    chart.options.update(on_site_clock(balance_chart(history), zone))
    legend.show(chart.options)
    chart.update()


def _kpis(totals: FleetTotals, seed: SeedFigures, todays: list[SiteToday]) -> None:
    today = totals.today_kwh
    used, unknown = consumption_today(todays)
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
            "Consumption today", used, "energy", unknown or "each site's day", flow="consumption"
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
        kpi_card("Carbon today", number(totals.carbon_kg, "kg CO₂", 0), "carbon", "grid import")
        kpi_card("Cost today", "per site", "cost", "tariffs differ: on each site's page")
        kpi_card(
            "Open alerts",
            f"{totals.alerts_open:,}",
            "alerts",
            f"{totals.alerts_critical:,} critical",
        )


def _range_drawer(
    fleet: FleetSummary,
    zone: str,
    title: ui.label,
    chart: ui.echart,
    legend: ChartLegend,
    show_flow: Callable[[Flows, str], None],
) -> Callable[[], Awaitable[None]]:
    """The redraw of the chart and the energy flow for the global time range: the last 24 h
    from the fleet summary itself (no query), another range from one balance statement over
    every site, its days those of ``zone`` (the sites' zone when they share one, else UTC)."""

    async def redraw() -> None:
        choice = chosen()
        if choice.name == DEFAULT:
            history, (flows, text) = recent(fleet, 24), fleet_flows(fleet, 24)
            title.set_text(TITLE.format(zone=zone_name(zone, fleet.now_ms)))
        else:
            period = period_of(choice, zone, now_ms())
            span = (period.start_ms, period.end_ms)
            found = await load_balances([e.site for e in fleet.every], {
                e.site.id: span for e in fleet.every
            })  # fmt: skip
            history = complete_part(sum_balances(found), min(now_ms(), period.end_ms))
            flows, text = flows_of([b.balance for b in found]), f"{period.text}, all sites"
            title.set_text(f"Power, {period.text} (all sites)")
        _draw(chart, legend, history, zone)
        show_flow(flows, text)

    return redraw


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
                title = (
                    ui.label(TITLE.format(zone="…"))
                    .classes("text-subtitle1")
                    .props("data-testid=power-title")
                )
                empty = without_legend(balance_chart(sum_balances([])))
                chart = ui.echart(empty).classes("w-full h-72").props("data-testid=power-chart")
                legend = ChartLegend(chart, "power-legend")
            below = ui.column().classes("w-full")
        # the page answers at once; the figures follow (a large fleet never hits the timeout)
        await ui.context.client.connected()
        fleet = await load_fleet(user, history_hours=24)
        history = recent(fleet, 24)
        zones = {e.site.timezone for e in fleet.every}
        zone = zones.pop() if len(zones) == 1 else "UTC"  # the sites' zone when they share one
        parts.clear()
        with parts:
            _kpis(
                fleet_totals(fleet.every), seed_figures(fleet.every), [e.today for e in fleet.every]
            )
            labels = now_panel(
                now_totals(e.now for e in fleet.every), now_terms(history.present), zone
            )
            holder = ui.column().classes("w-full gap-2")
        with below:
            site_map(fleet.every)
        site_ids = [e.site.id for e in fleet.every]
        with holder:
            picker = ui.row().classes("w-full")
            show_flow = fleet_flow(fleet)
        redraw = _range_drawer(fleet, zone, title, chart, legend, show_flow)
        with picker:
            range_picker(redraw)
        if chosen().name == DEFAULT:  # the flow card shows it already
            title.set_text(TITLE.format(zone=zone_name(zone, fleet.now_ms)))
            _draw(chart, legend, history, zone)
        else:
            await redraw()

        async def refresh() -> None:
            show_now(labels, await current_totals(site_ids), zone)

        ui.timer(NOW_REFRESH_S, refresh)
