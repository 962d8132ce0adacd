"""``/kpis``: a site's KPIs over a period, with the cost and carbon breakdowns.

The figures are those of ``GET /api/v1/kpis`` (same service); periods are the site's local days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from gridpilot.assets.service import list_sites
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import now_ms
from gridpilot.flex import service as flex
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.web.context import current
from gridpilot.web.flex_view import savings_bars
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.numbers import energy, money, power, share, spaced_percent
from gridpilot.web.palette import CONTRACT, GREY, GRID_LINE, colour
from gridpilot.web.site_cards import consumption_note
from gridpilot.web.time_range import CHOICES, Choice, period_of, range_picker
from gridpilot.web.time_range import chosen as chosen_range

PERIODS = ["Today", "Yesterday", "Last 7 days", "This month"]

#: KPI key -> (label, how to show the value).
LABELS: dict[str, tuple[str, str]] = {
    "energy_kwh": ("Energy", "{:,.1f} kWh"),
    "peak_demand_kw": ("Peak demand", "{:,.1f} kW"),
    "load_factor": ("Load factor", "{:.0%}"),
    "sec_kwh_per_unit": ("Energy per unit produced", "{:,.3f} kWh/unit"),
    "carbon_kg": ("Carbon", "{:,.0f} kg CO\u2082"),
    "contract_utilization_pct": ("Contract utilisation (peak import)", "{:.0f} %"),
    "peak_import_kw": ("Peak grid import", "{:,.1f} kW"),
    "generation_kwh": ("Generation", "{:,.1f} kWh"),
    "capacity_factor": ("Capacity factor", "{:.1%}"),
    "specific_yield_kwh_per_kwp": ("Specific yield", "{:,.2f} kWh/kWp"),
    "performance_ratio": ("Performance ratio", "{:.0%}"),
    "availability": ("Availability", "{:.1%}"),
    "self_consumption": ("Self-consumption", "{:.0%}"),
    "self_sufficiency": ("Self-sufficiency", "{:.0%}"),
}


NOTHING_MEASURED = (
    "Nothing measured in the period: the grid import and export (or the battery) did not "
    "report, so there is no operation to price."
)
#: Energies [kWh] and powers [kW] written as every page writes them (MWh, MW when large).
SCALED = {
    "energy_kwh": energy, "generation_kwh": energy, "peak_demand_kw": power,
    "peak_import_kw": power,
}  # fmt: skip
#: Money KPIs and their labels.
MONEY = {"cost": "Cost", "grid_revenue": "Grid revenue"}


def period_ms(choice: str, timezone: str, at_ms: int) -> tuple[int, int]:
    """``[start, end)`` in epoch ms of a named period in the site's local time."""
    zone = ZoneInfo(timezone)
    today = datetime.fromtimestamp(at_ms / 1000, zone).date()

    def midnight(day: Any) -> int:
        return int(datetime.combine(day, time(0), zone).timestamp() * 1000)

    if choice == "Yesterday":
        return midnight(today - timedelta(days=1)), midnight(today)
    if choice == "Last 7 days":
        return midnight(today - timedelta(days=6)), at_ms
    if choice == "This month":
        return midnight(today.replace(day=1)), at_ms
    return midnight(today), at_ms


def show_value(key: str, figure: dict[str, Any]) -> str:
    value = figure.get("value")
    if value is None:
        return "no data"
    if key in ("cost", "grid_revenue"):  # grid revenue: a Decimal string
        return money(float(value), figure.get("unit") or "")
    if key in SCALED:  # kWh to MWh and kW to MW as on every other page
        return SCALED[key](float(value))
    pattern = LABELS.get(key, (key, "{:,.2f}"))[1]
    return spaced_percent(pattern.format(value))


#: The KPIs of a site's consumption: unknown where the balance never measured nor derived it.
CONSUMPTION_KPIS = frozenset({"energy_kwh", "peak_demand_kw", "load_factor", "sec_kwh_per_unit"})


def _cards(result: dict[str, Any]) -> None:
    figures = result["kpis"]
    # a plant's consumption is only assumed 0: "no consumption meter", never 0.0 kWh
    unknown = consumption_note(figures) if "balance" in figures else None
    with ui.row().classes("w-full gap-3"):
        for key, figure in figures.items():
            if "value" not in figure:  # a container (the balance's totals), not a figure
                continue
            label = MONEY.get(key) or LABELS.get(key, (key.replace("_", " ").capitalize(), ""))[0]
            shown = show_value(key, figure)
            if unknown is not None and key in CONSUMPTION_KPIS:
                shown = unknown
            with ui.card().classes("min-w-[10rem] grow").props(f"data-testid=kpi-{key}"):
                ui.label(label).classes("text-caption text-grey-7")
                ui.label(shown).classes("text-h6")
                ui.label(f"coverage {share(figure.get('coverage', 0))}").classes("text-caption")


def _cost(figure: dict[str, Any]) -> None:
    with ui.card().classes("w-full").props("data-testid=cost-breakdown"):
        ui.label("Cost breakdown").classes("text-subtitle1")
        if figure.get("value") is None:
            for note in figure.get("notes", []) or ["no tariff"]:
                ui.label(note)
            return
        unit = figure.get("unit") or ""
        with ui.row().classes("gap-6"):
            for part in ("energy_cost", "demand_cost", "fixed_cost"):
                name = part.replace("_", " ").capitalize()
                ui.label(f"{name}: {money(figure.get(part, 0), unit)}")
        periods = figure.get("by_period", {})
        ui.echart(
            {
                "animation": False,
                "tooltip": {"trigger": "axis"},
                "textStyle": {"color": GREY},
                "legend": {"top": 0, "textStyle": {"color": GREY}},
                "xAxis": {"type": "category", "data": list(periods)},
                "yAxis": [
                    {
                        "type": "value",
                        "name": unit,
                        "splitLine": {"lineStyle": {"color": GRID_LINE}},
                    },
                    {"type": "value", "name": "kWh", "splitLine": {"show": False}},
                ],
                "series": [
                    {
                        "name": f"Cost [{unit}]",
                        "type": "bar",
                        "color": CONTRACT,
                        "data": [round(p["cost"], 2) for p in periods.values()],
                    },
                    {
                        "name": "Energy [kWh]",
                        "type": "bar",
                        "color": colour("consumption"),
                        "yAxisIndex": 1,
                        "data": [round(p["energy_kwh"], 1) for p in periods.values()],
                    },
                ],
            }
        ).classes("w-full h-64")


def savings_days(start_ms: int, end_ms: int, timezone: str) -> tuple[date, int]:
    """The first local day and the number of local days (at most 31) of ``[start, end)``."""
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(start_ms / 1000, zone).date()
    last = datetime.fromtimestamp((max(start_ms, end_ms - 1)) / 1000, zone).date()
    return first, min(31, (last - first).days + 1)


async def _flex_savings(user: Any, site_id: int, timezone: str, start: int, end: int) -> None:
    """The flexibility savings of the period, per local day, for a site with flex resources
    (``GET /api/v1/sites/{id}/flex-savings``: the measured operation re-priced)."""
    at = now_ms()
    first, days = savings_days(start, end, timezone)
    try:
        async with current().session() as session:
            if not await flex.list_resources(session=session, site_id=site_id, principal=user):
                return
            found = await flex.flex_savings(
                session=session, site_id=site_id, principal=user, period="day", start=first,
                count=days, now_ms=at,
            )  # fmt: skip
    except GridpilotError as error:
        with ui.card().classes("w-full").props("data-testid=flex-savings"):
            ui.label("Flexibility savings").classes("text-subtitle1")
            ui.label(str(error)).classes("text-caption")
        return
    total = found.total
    with ui.card().classes("w-full").props("data-testid=flex-savings"):
        ui.label("Flexibility savings").classes("text-subtitle1")
        if total.measured_intervals == 0:
            ui.label(NOTHING_MEASURED).classes("text-caption")
            return
        with ui.row().classes("gap-x-6 gap-y-1"):
            ui.label(f"Cost as operated: {total.optimised_eur} EUR")
            ui.label(f"Saved vs no battery: {total.saving_vs_no_battery_eur} EUR").props(
                "data-testid=flex-saving-no-battery"
            )
            ui.label(f"Saved vs rule-based: {total.saving_vs_rule_based_eur} EUR").props(
                "data-testid=flex-saving-rule-based"
            )
        batteries = ", ".join(found.batteries) or "no battery"
        ui.label(
            f"The measured operation re-priced by the tariff (batteries: {batteries}); "
            f"{total.measured_intervals} of {total.intervals} quarter hours measured"
        ).classes("text-caption text-grey-7")
        if days > 1:
            ui.echart(savings_bars(found)).classes("w-full h-56").props(
                "data-testid=flex-savings-chart"
            )


def register() -> None:
    @ui.page("/kpis")
    async def kpis_page(site: int | None = None, period: str | None = None) -> None:
        user = await require_login("/kpis")
        if user is None:
            return
        with frame(user, "KPIs"):
            await painted()  # the frame answers at once; the figures follow
            async with current().session() as session:
                sites = await list_sites(session=session, principal=user)
            if not sites:
                ui.label("No sites yet.")
                return
            chosen = next((s for s in sites if s.id == site), sites[0])
            # the global time range (a ``period`` in the address, as older links have, wins)
            choice = Choice(period) if period in CHOICES else chosen_range()
            with ui.row().classes("items-end gap-4"):
                ui.select(
                    {s.id: s.name for s in sites},
                    value=chosen.id,
                    label="Site",
                    on_change=lambda e: ui.navigate.to(f"/kpis?site={e.value}"),
                ).classes("w-56")
                range_picker(lambda: ui.navigate.to(f"/kpis?site={chosen.id}"), choice)
            span = period_of(choice, chosen.timezone, now_ms())
            body = ui.column().classes("w-full gap-4").props("data-testid=kpi-body")
            with body:
                ui.spinner(size="lg")

        async def fill() -> None:
            """The figures, after the page has answered (``compute_kpis`` takes a while)."""
            start, end = span.start_ms, span.end_ms
            body.clear()
            try:
                async with current().session() as session:
                    result = await compute_kpis(
                        session=session,
                        principal=user,
                        start_ms=start,
                        end_ms=end,
                        site_id=chosen.id,
                    )
            except GridpilotError as error:
                with body:
                    ui.label(str(error)).classes("text-negative")
                return
            with body:
                ui.label(span.text).classes("text-caption").props("data-testid=kpi-span")
                if not result["kpis"]:
                    ui.label("No load or generation assets at this site.")
                    return
                _cards(result)
                if "cost" in result["kpis"]:
                    _cost(result["kpis"]["cost"])
                await _flex_savings(user, chosen.id, chosen.timezone, start, end)

        ui.timer(0.01, fill, once=True)
