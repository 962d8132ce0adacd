"""``/sites``: the fleet summary as a paged, searchable list (``PAGE_SIZE`` sites a page, one
fleet summary call per page shown, fast with thousands of sites); a click opens the site."""

from __future__ import annotations

import math
from typing import Any

from nicegui import ui

from gridpilot.fleet.service import SiteSummary
from gridpilot.web.fleet_view import consumption_today, load_fleet
from gridpilot.web.layout import frame, require_login
from gridpilot.web.numbers import UNKNOWN, power, share

PAGE_SIZE = 50


def _column(name: str, label: str, left: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "field": name, "align": "left" if left else "right"}


COLUMNS = [
    _column("name", "Site", left=True),
    _column("consumption", "Consumption now"),
    _column("generation", "Generation now"),
    _column("grid", "Grid now"),
    _column("today", "Consumption today"),
    _column("selfsufficiency", "Self-sufficiency"),
    _column("assets", "Assets online / offline"),
    _column("alerts", "Open alerts"),
]


def grid_text(imported: float | None, exported: float | None) -> str:
    """The grid exchange now: ``120.0 kW in``, ``35.2 kW out`` (the larger of the two)."""
    if imported is None and exported is None:
        return UNKNOWN
    if (exported or 0.0) > (imported or 0.0):
        return f"{power(exported)} out"
    return f"{power(imported or 0.0)} in"


def site_row(entry: SiteSummary) -> dict[str, Any]:
    """One row of the list: texts with units, the site id for the link."""
    now, status = entry.now.power_kw, entry.status
    critical = entry.alerts.get("critical", 0)
    alerts = sum(entry.alerts.values())
    assumed = entry.now.sources["consumption"] == "absent"  # a plant's: no consumption meter
    return {
        "id": entry.site.id,
        "name": entry.site.name,
        "consumption": UNKNOWN if assumed else power(now["consumption"]),
        "generation": power(now["generation"]),
        "grid": grid_text(now["import"], now["export"]),
        "today": consumption_today([entry.today])[0],
        "selfsufficiency": share(entry.today.self_sufficiency),
        "assets": f"{status.get('online', 0):,} / {status.get('offline', 0):,}"
        f" of {entry.assets.count:,}",
        "alerts": f"{alerts:,}" + (f" ({critical:,} critical)" if critical else ""),
    }


LINK_CELL = """<q-td :props="props">
  <a :href="'/sites/' + props.row.id" class="text-primary">{{ props.value }}</a>
</q-td>"""
#: On a phone each site is a card of its figures (Quasar's grid mode) instead of a table row
#: wider than the screen.
CARD_ITEM = """<div class="q-pa-xs col-12" :data-testid="'site-card-' + props.row.id">
  <q-card flat bordered>
    <q-card-section class="q-pb-none">
      <a :href="'/sites/' + props.row.id" class="text-primary text-subtitle2">
        {{ props.row.name }}</a>
    </q-card-section>
    <q-list dense>
      <q-item v-for="col in props.cols.filter(c => c.name !== 'name')" :key="col.name">
        <q-item-section><q-item-label caption>{{ col.label }}</q-item-label></q-item-section>
        <q-item-section side><q-item-label>{{ col.value }}</q-item-label></q-item-section>
      </q-item>
    </q-list>
  </q-card>
</div>"""
#: Below this width [px] the list shows cards.
PHONE_PX = 600


def register() -> None:
    @ui.page("/sites")
    async def sites_page() -> None:
        user = await require_login("/sites")
        if user is None:
            return
        state: dict[str, Any] = {"search": "", "page": 1}
        with frame(user, "Sites"):
            with ui.row().classes("w-full items-center justify-between"):
                search = (
                    ui.input("Search by name")
                    .props("clearable debounce=300 dense outlined")
                    .props("data-testid=site-search")
                    .classes("min-w-[16rem]")
                )
                count = (
                    ui.label().classes("text-caption text-grey-7").props("data-testid=site-count")
                )
            table = (
                ui.table(columns=COLUMNS, rows=[], row_key="id", pagination=0)
                .props("flat bordered dense hide-pagination wrap-cells=false")
                .classes("w-full")
                .props("data-testid=site-table")
            )
            table.add_slot("body-cell-name", LINK_CELL)
            table.add_slot("item", CARD_ITEM)
            table.props(f':grid="window.innerWidth < {PHONE_PX}"')
            table.on("rowClick", lambda e: ui.navigate.to(f"/sites/{e.args[1]['id']}"))
            pages = ui.pagination(1, 1, direction_links=True).props("data-testid=site-pages")

        async def show() -> None:
            offset = (state["page"] - 1) * PAGE_SIZE
            fleet = await load_fleet(user, search=state["search"], limit=PAGE_SIZE, offset=offset)
            table.rows = [site_row(e) for e in fleet.page]
            table.update()
            last = max(1, math.ceil(fleet.total / PAGE_SIZE))
            pages.max = last
            pages.set_visibility(last > 1)
            shown = f"{offset + 1:,}-{offset + len(fleet.page):,} of " if fleet.page else ""
            count.set_text(f"{shown}{fleet.total:,} sites")

        async def on_search() -> None:
            state["search"], state["page"] = (search.value or "").strip(), 1
            pages.value = 1
            await show()

        async def on_page() -> None:
            if pages.value != state["page"]:
                state["page"] = pages.value
                await show()

        search.on_value_change(on_search)
        pages.on_value_change(on_page)
        count.set_text("loading…")
        await ui.context.client.connected()  # the page answers at once; the rows follow
        await show()
