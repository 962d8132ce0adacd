"""``/``: KPI strip, the map of sites and the total power of the last 24 hours, live."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from gridpilot.assets.service import list_assets
from gridpilot.auth.permissions import Principal
from gridpilot.web.charts import points, time_chart
from gridpilot.web.context import current
from gridpilot.web.figures import CONSUMING, Overview, overview
from gridpilot.web.layout import frame, kpi_card, require_login


def _number(value: float, unit: str, digits: int = 1) -> str:
    return f"{value:,.{digits}f} {unit}"


def _kpis(data: Overview) -> None:
    with ui.row().classes("w-full gap-3"):
        kpi_card("Sites", str(len(data.sites)), "sites", f"{data.asset_count} assets")
        kpi_card("Installed generation", _number(data.installed_kw, "kW", 0), "installed")
        kpi_card("Energy today", _number(data.energy_kwh, "kWh"), "energy")
        kpi_card("Generation today", _number(data.produced_kwh, "kWh"), "generation")
        worst = data.worst_contract_use()
        if worst is None:
            kpi_card("Peak vs contract", "no contract", "peak")
        else:
            name, peak, contract = worst
            kpi_card(
                "Peak vs contract", f"{peak / contract:.0%}", "peak", f"{name}: {peak:,.0f} kW"
            )
        kpi_card("Cost today", data.cost_today(), "cost")
        kpi_card("Carbon today", _number(data.carbon_kg, "kg CO2"), "carbon")
        kpi_card("Carbon avoided", _number(data.avoided_kg, "kg CO2"), "avoided")
        kpi_card(
            "Active alerts", str(data.active_alerts), "alerts", f"{data.critical_alerts} critical"
        )


def _map(data: Overview) -> None:
    located = [s.site for s in data.sites if s.site.latitude is not None]
    if not located:
        return
    lat = sum(s.latitude or 0.0 for s in located) / len(located)
    lon = sum(s.longitude or 0.0 for s in located) / len(located)
    tiles = current().settings.web_map_tiles_url
    with ui.card().classes("w-full"):
        ui.label("Sites").classes("text-subtitle1")
        area = (
            ui.leaflet(center=(lat, lon), zoom=5)
            .classes("w-full h-72")
            .props("data-testid=site-map")
        )
        area.clear_layers()  # no tiles unless configured: markers on a plain background
        if tiles:
            area.tile_layer(url_template=tiles, options={"attribution": "map tiles"})
        for site in located:
            area.generic_layer(
                name="circleMarker",
                args=[[site.latitude, site.longitude], {"radius": 9, "color": "#1976d2"}],
            )


async def _live_total(user: Principal, chart: ui.echart, now_label: ui.label) -> None:
    """Update the live total power on every ``readings.stored`` of the user's consumers."""
    context = current()
    async with context.session() as session:
        assets = await list_assets(session=session, principal=user, limit=100_000)
    roles = {a.id: a.role for a in assets}
    latest: dict[int, float] = {}

    async def on_stored(_topic: str, payload: dict[str, Any]) -> None:
        changed = False
        newest = 0
        for entry in payload.get("assets", []):
            asset_id = entry.get("asset_id")
            power = entry.get("latest", {}).get("power_kw")
            if asset_id in roles and roles[asset_id] in CONSUMING and power is not None:
                latest[asset_id] = float(power["value"])
                newest = max(newest, int(power["ts"]))
                changed = True
        if not changed:
            return
        total = sum(latest.values())
        now_label.set_text(f"Now: {total:,.1f} kW")
        live = chart.options["series"][-1]["data"]
        live.append([newest, round(total, 3)])
        del live[:-500]
        chart.update()

    unsubscribe = context.bus.subscribe("readings.stored", on_stored)
    ui.context.client.on_delete(unsubscribe)


def register() -> None:
    @ui.page("/")
    async def overview_page() -> None:
        user = await require_login("/")
        if user is None:
            return
        async with current().session() as session:
            data = await overview(session=session, principal=user)
        with frame(user, "Overview"):
            _kpis(data)
            with ui.card().classes("w-full"):
                with ui.row().classes("w-full justify-between items-center"):
                    ui.label("Total power, last 24 h").classes("text-subtitle1")
                    now_label = ui.label("Now: waiting for data").props("data-testid=live-total")
                consumption, production = data.total_power()
                chart = (
                    ui.echart(
                        time_chart(
                            {
                                "Consumption": points(consumption),
                                "Generation": points(production),
                                "Live consumption": [],
                            }
                        )
                    )
                    .classes("w-full h-80")
                    .props("data-testid=power-chart")
                )
            _map(data)
        await _live_total(user, chart, now_label)
