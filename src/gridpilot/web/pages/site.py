"""``/sites/{id}``: one site on its energy balance: the current balance (refreshed from the
cache), today's energy in the site's local day, the balance over 24 h / 7 / 30 days with the
energy per interval and a CSV of it, today's cost, and the assets with their power now."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from gridpilot.assets.models import Asset, Site
from gridpilot.assets.service import get_site, list_assets
from gridpilot.auth.permissions import Principal
from gridpilot.balance.current import CurrentBalance
from gridpilot.balance.service import SiteBalance
from gridpilot.core import events as catalogue
from gridpilot.core.errors import GridpilotError, NotFound
from gridpilot.core.timestamps import iso, local_midnight_ms, now_ms, to_ms
from gridpilot.flex import service as flex
from gridpilot.insights.kpis.service import compute_kpis
from gridpilot.telemetry.service import last_seen
from gridpilot.web.chart_legend import ChartLegend, without_legend
from gridpilot.web.charts import balance_chart, energy_bars, on_site_clock
from gridpilot.web.context import current
from gridpilot.web.figures import since_label, statuses_in
from gridpilot.web.fleet_view import (
    PowerHistory,
    balances_now,
    complete_part,
    consumption_today,
    energy_per,
    now_totals,
    sum_balances,
)
from gridpilot.web.fleet_view import site_today as load_today
from gridpilot.web.flex_view import (
    no_plan_text,
    power_chart,
    savings_today,
    soc_price_chart,
    status_line,
)
from gridpilot.web.layout import frame, kpi_card, painted, require_login, retitle
from gridpilot.web.now_panel import NOW_REFRESH_S, now_panel, now_terms, show_now
from gridpilot.web.numbers import energy, local_clock, money, power, share
from gridpilot.web.site_cards import month_cards, period_section
from gridpilot.web.time_range import Period

#: The CSV's columns, in the order of the charts' legend.
CSV_TERMS = ("consumption", "generation", "import", "export", "discharge", "charge")
ASSET_COLUMNS: list[dict[str, Any]] = [
    {"align": "left", "name": "status", "label": "Status", "field": "status"},
    {"align": "left", "name": "name", "label": "Asset", "field": "name", "sortable": True},
    {"align": "left", "name": "kind", "label": "Kind", "field": "kind", "sortable": True},
    {"align": "left", "name": "role", "label": "Role", "field": "role"},
    {"name": "rated_kw", "label": "Rated", "field": "rated_kw"},
    {"name": "power_kw", "label": "Power now", "field": "power_kw"},
    {"align": "left", "name": "last_seen", "label": "Last seen", "field": "last_seen"},
]

#: The status in colour (online green, offline red, else grey), as on the asset page.
STATUS_CELL = """<q-td :props="props">
  <q-badge :color="{online: 'positive', offline: 'negative'}[props.value] || 'grey'"
           :label="props.value" />
</q-td>"""
#: On a phone (below 600 px) each asset is a card of its figures, its name a link, instead
#: of a table whose columns run off the screen.
ASSET_CARD = """<div class="q-pa-xs col-12" :data-testid="'asset-card-' + props.row.id">
  <q-card flat bordered>
    <q-card-section class="q-pb-none row items-center justify-between">
      <a :href="'/assets/' + props.row.id" class="text-primary text-subtitle2">
        {{ props.row.name }}</a>
      <q-badge :color="{online: 'positive', offline: 'negative'}[props.row.status] || 'grey'"
               :label="props.row.status" />
    </q-card-section>
    <q-list dense>
      <q-item v-for="col in props.cols.filter(c => !['name', 'status'].includes(c.name))"
              :key="col.name">
        <q-item-section><q-item-label caption>{{ col.label }}</q-item-label></q-item-section>
        <q-item-section side><q-item-label>{{ col.value }}</q-item-label></q-item-section>
      </q-item>
    </q-list>
  </q-card>
</div>"""


def asset_rows(
    assets: list[Asset], now: CurrentBalance, seen: dict[int, int | None], status: dict[int, str]
) -> list[dict[str, Any]]:
    """The asset table: power now from the current balance's listing (no query per asset);
    powers with their unit, the dash where unknown (no rating, no fresh reading)."""
    listed = {entry["asset_id"]: entry for entry in now.assets}
    rows = []
    for a in assets:
        entry = listed.get(a.id, {})
        value = None if entry.get("stale", True) else entry.get("power_kw")  # not "now" if old
        rows.append(
            {
                "id": a.id,
                "status": status.get(a.id, "unknown"),
                "name": a.name,
                "kind": a.kind.replace("_", " "),
                "role": a.role.replace("_", " "),
                "rated_kw": power(a.rated_capacity_kw),
                "power_kw": power(None if value is None else float(value)),
                "last_seen": since_label(seen.get(a.id)),
            }
        )
    return rows


def history_csv(history: PowerHistory) -> bytes:
    """``ts`` (interval start, UTC) and each shown term's average power [kW]."""
    terms = [t for t in CSV_TERMS if t in history.present or t in ("import", "export")]
    out = io.StringIO()
    out.write(",".join(["ts", *(f"{t}_kw" for t in terms)]) + "\n")
    for i, ts in enumerate(history.stamps_ms):
        values = [history.kw[t][i] for t in terms]
        out.write(",".join([iso(ts), *("" if v != v else f"{v:.3f}" for v in values)]) + "\n")
    return out.getvalue().encode()


async def _today_cards(site: Site, generates: bool) -> ui.label:
    """Today's energy in the site's local day (generation, export and self-sufficiency only
    where the site generates or stores: a consumer's would only ever read 0); returns the cost
    figure's label (filled later)."""
    today = await load_today(site)
    kwh = today.known_kwh  # None (a dash) for a term known in no interval today
    known = f"{share(today.coverage)} of the day known"
    used, unknown = consumption_today([today])  # a dash with its reason, never a bare 0.0
    with ui.row().classes("w-full gap-3"):
        coverage = "" if generates else known  # else under self-sufficiency
        kpi_card("Consumption today", used, "energy", unknown or coverage, flow="consumption")
        if generates:
            kpi_card("Generation today", energy(kwh("generation")), "generation", flow="generation")
        kpi_card("Grid import today", energy(kwh("import")), "import", flow="import")
        if generates:
            kpi_card("Grid export today", energy(kwh("export")), "export", flow="export")
            kpi_card(
                "Self-sufficiency today", share(today.self_sufficiency), "selfsufficiency", known
            )
        return kpi_card("Cost today", "computing…", "cost", "the site's tariff")


async def _cost_today(user: Principal, site: Site) -> str:
    """Today's cost from the site's tariff (one site: ``compute_kpis`` is fine here)."""
    at = now_ms()
    try:
        async with current().session() as session:
            kpis = await compute_kpis(
                session=session,
                principal=user,
                start_ms=local_midnight_ms(site.timezone, at),
                end_ms=at,
                site_id=site.id,
            )
    except GridpilotError:
        return "no tariff"
    figure = kpis["kpis"].get("cost", {})
    if figure.get("value") is None:
        return "no tariff"
    return money(float(figure["value"]), str(figure["unit"]))


def _header(site: Site) -> None:
    parts = [f"Local time {local_clock(now_ms(), site.timezone)}"]
    if site.contract_demand_kw:
        parts.append(f"contract demand {power(site.contract_demand_kw)}")
    ui.label(" · ".join(parts)).classes("text-caption text-grey-7").props("data-testid=site-info")


def _history_card(site: Site) -> Callable[[Period, list[SiteBalance]], None]:
    """The balance chart, the energy bars and the CSV export; returns the redraw of a period
    (the global time range)."""
    shown: dict[str, PowerHistory] = {}
    with ui.card().classes("grow basis-[32rem] min-w-0"):
        with ui.row().classes("w-full items-center gap-4"):
            ui.label("Energy balance").classes("text-subtitle1")
            export = ui.button("CSV", icon="download").props("flat data-testid=csv-export")
        chart = ui.echart(without_legend(balance_chart(sum_balances([])))).classes("w-full h-72")
        chart.props("data-testid=history-chart")
        legend = ChartLegend(chart, "history-legend")
        per = ui.label("Energy per hour").classes("text-subtitle2 q-mt-sm")
        bars = ui.echart(without_legend(energy_bars(sum_balances([])))).classes("w-full h-52")
        bars.props("data-testid=energy-bars")
        bars_legend = ChartLegend(bars, "bars-legend")

    def redraw(period: Period, balances: list[SiteBalance]) -> None:
        # complete intervals only: the running one's average so far would read as a drop
        history = complete_part(sum_balances(balances), min(now_ms(), period.end_ms))
        shown["data"] = history
        chart.options.clear()
        chart.options.update(
            on_site_clock(balance_chart(history, site.contract_demand_kw), site.timezone)
        )
        legend.show(chart.options)
        chart.update()
        bars.options.clear()
        bucket = "1h" if period.hours <= 48 else "1D"
        per.set_text("Energy per hour" if bucket == "1h" else "Energy per local day")
        bars.options.update(
            on_site_clock(energy_bars(energy_per(history, site.timezone, bucket)), site.timezone)
        )
        bars_legend.show(bars.options)
        bars.update()

    export.on_click(
        lambda: ui.download.content(
            history_csv(shown["data"]), f"site-{site.id}-balance.csv", "text/csv"
        )
    )
    return redraw


async def _schedule_card(user: Principal, site: Site) -> None:
    """The latest stored schedule of a site with flexible resources: a status line (when
    planned, how, what it saves, what was saved today) and its two charts."""
    async with current().session() as session:
        if not await flex.list_resources(session=session, site_id=site.id, principal=user):
            return
        try:
            plan = await flex.get_latest_schedule(session=session, site_id=site.id, principal=user)
        except NotFound:
            plan = None
        try:
            today = await flex.flex_savings(
                session=session, site_id=site.id, principal=user, period="day", now_ms=now_ms()
            )
            saved: str | None = savings_today(today)
        except GridpilotError:
            saved = None
    with ui.card().classes("w-full").props("data-testid=schedule-card"):
        ui.label("Flexibility schedule").classes("text-subtitle1")
        if plan is None:
            ui.label(no_plan_text(site.id)).classes("text-caption")
            return
        ui.label(status_line(plan, site.timezone, saved)).classes("text-caption").props(
            "data-testid=schedule-status"
        )
        for options, size, name in (
            (power_chart(plan, site.timezone), "h-64", "power"),
            (soc_price_chart(plan, site.timezone), "h-52", "soc"),
        ):
            chart = ui.echart(without_legend(options)).classes(f"w-full {size}")
            chart.props(f"data-testid=schedule-{name}")
            ChartLegend(chart, f"schedule-{name}-legend").show(options)


def register() -> None:
    @ui.page("/sites/{site_id}")
    async def site_page(site_id: int) -> None:
        user = await require_login(f"/sites/{site_id}")
        if user is None:
            return
        with frame(user, "Site") as heading:
            await painted()  # the frame answers at once; the site's figures follow
            loaded = await _load(user, site_id)
            if loaded is None:
                retitle(heading, "Site not found")
                ui.label(f"There is no site {site_id} you may see.")
                return
            retitle(heading, loaded.site.name)
            await _show_site(user, loaded)


@dataclass(frozen=True)
class SiteData:
    """What the site page starts from, read in one session."""

    site: Site
    assets: list[Asset]
    seen: dict[int, int | None]
    status: dict[int, str]


async def _load(user: Principal, site_id: int) -> SiteData | None:
    """The site, its assets, their last-seen times and statuses (None: no such site the user
    may see)."""
    async with current().session() as session:
        try:
            site = await get_site(session=session, site_id=site_id, principal=user)
        except NotFound:
            return None
        assets = await list_assets(session=session, principal=user, site_id=site_id)
        seen = await last_seen(session=session, asset_ids=[a.id for a in assets])
        status = {a: view.status for a, view in (await statuses_in(session, assets)).items()}
    return SiteData(site, assets, seen, status)


async def _show_site(user: Principal, data: SiteData) -> None:
    """The page of a site the user may see (live parts refreshed by a timer)."""
    site, assets, seen, status = data.site, data.assets, data.seen, data.status
    site_id = site.id
    visible = {a.id for a in assets}
    now = (await balances_now([site.id]))[site.id]
    _header(site)
    makes = _generates(assets) or bool(_storage(assets))
    labels = now_panel(now_totals([now]), now_terms(_storage(assets), makes), site.timezone)
    cost = await _today_cards(site, makes)
    fill_month = month_cards(user, site, bool(_storage(assets)) or _generates(assets))
    redraw = period_section(site, assets, _history_card)
    schedule = ui.column().classes("w-full")  # drawn after the page answered
    table = ui.table(
        columns=ASSET_COLUMNS, rows=asset_rows(assets, now, seen, status), row_key="id"
    )
    table.classes("w-full").props("data-testid=asset-table")
    table.add_slot("body-cell-status", STATUS_CELL)
    table.add_slot("item", ASSET_CARD)
    table.props(':grid="window.innerWidth < 600"')
    table.on("rowClick", lambda e: ui.navigate.to(f"/assets/{e.args[1]['id']}"))

    async def fill_cost() -> None:
        cost.set_text(await _cost_today(user, site))

    async def refresh() -> None:
        fresh = (await balances_now([site_id]))[site_id]
        show_now(labels, now_totals([fresh]), site.timezone)
        for entry in fresh.assets:
            if entry["ts"] is not None:
                seen[entry["asset_id"]] = to_ms(entry["ts"])
        table.rows = asset_rows(assets, fresh, seen, status)
        table.update()

    async def on_status(_topic: str, payload: dict[str, Any]) -> None:
        if payload.get("asset_id") in visible:
            status[int(payload["asset_id"])] = str(payload.get("status"))

    ui.timer(0.01, redraw, once=True)  # the page answers first; the balance follows
    ui.timer(0.1, fill_cost, once=True)
    ui.timer(0.2, fill_month, once=True)

    async def fill_schedule() -> None:
        with schedule:
            await _schedule_card(user, site)

    ui.timer(0.3, fill_schedule, once=True)
    ui.timer(NOW_REFRESH_S, refresh)
    unsubscribe = current().bus.subscribe(catalogue.ASSET_STATUS.name, on_status)
    ui.context.client.on_delete(unsubscribe)


def _generates(assets: list[Asset]) -> bool:
    return any(a.role in ("producer", "prosumer") for a in assets)


def _storage(assets: list[Asset]) -> set[str]:
    return {"charge", "discharge"} if any(a.role == "storage" for a in assets) else set()
