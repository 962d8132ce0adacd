"""``/community`` and ``/community/{id}``: the energy communities (CER) the user may see.

The list shows each community; with one, it opens at once. A community's page: its figures,
members with their role and PODs, hourly shared energy per primary substation (today or this
month), the month's settlement (incentive, valorisation, GSE estimate, fees, reserve) and its
distribution per member, with each member's statement as CSV or PDF; for the community's
admins (with configure) running a month and closing a draft; the ledger (admins move a line's
status); the year summed from its closed months (``web.community_ledger``). Everything is read with
the user's own principal through the community services, so a member sees their own PODs,
lines and statements and the community's aggregates, never another member's figures.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nicegui import ui

from gridpilot.auth.permissions import Principal
from gridpilot.community.settlement_schemas import SettlementOut
from gridpilot.core.errors import GridpilotError, NotFound
from gridpilot.web.community_ledger import ledger_card, settlement_actions, year_card
from gridpilot.web.community_view import (
    CommunityPage,
    communities,
    euros,
    load,
    shared_chart,
    shared_energy,
    statement_file,
)
from gridpilot.web.context import current
from gridpilot.web.layout import frame, kpi_card, painted, require_login, retitle
from gridpilot.web.numbers import energy, local_datetime, number, share

#: Columns left out below 600 px (a phone shows member, figures that matter and downloads).
WIDE = {"classes": "gt-xs", "headerClasses": "gt-xs"}
MEMBER_COLUMNS = [
    {"name": "name", "label": "Member", "field": "name", "align": "left"},
    {"name": "type", "label": "Type", "field": "type", "align": "left", **WIDE},
    {"name": "role", "label": "Role", "field": "role", "align": "left"},
    {"name": "pods", "label": "PODs", "field": "pods", "align": "right"},
]
PART_COLUMNS = [
    {"name": "name", "label": "Member", "field": "name", "align": "left"},
    {"name": "consumption", "label": "Consumed in sharing hours", "field": "consumption", **WIDE},
    {"name": "shared", "label": "Shared from own plants", "field": "shared", **WIDE},
    {"name": "producer", "label": "Producer part", "field": "producer", **WIDE},
    {"name": "consumer", "label": "Consumer part", "field": "consumer", **WIDE},
    {"name": "excess", "label": "Excess-share part", "field": "excess", **WIDE},
    {"name": "total", "label": "Benefit", "field": "total"},
    {"name": "statement", "label": "Statement", "field": "statement", "align": "center"},
]
STATEMENT_CELL = """<q-td :props="props">
  <q-btn v-for="fmt in ['csv', 'pdf']" :key="fmt" flat dense no-caps size="sm" icon="download"
    :label="fmt.toUpperCase()" :data-testid="'statement-' + fmt + '-' + props.row.id"
    :aria-label="'Statement of ' + props.row.name + ' as ' + fmt.toUpperCase()"
    @click="() => $parent.$emit('statement', {id: props.row.id, fmt: fmt})" />
</q-td>"""


def _kind(user_type: str, category: str) -> str:
    names = {"public_body": "public body", "sme": "business (SME)", "third_sector": "third sector"}
    return names.get(category, category) if category != "none" else user_type.lower()


def _header(page: CommunityPage) -> None:
    c = page.community
    ui.label(
        f"{c.code} · market zone {c.market_zone} · {c.region} · primary substations "
        + ", ".join(c.primary_substations)
    ).classes("text-body2 text-grey-7").props("data-testid=community-header")
    with ui.row().classes("w-full gap-3"):
        kpi_card("Members", f"{c.members_count:,}", "members")
        kpi_card("PODs", f"{c.plants_count:,}", "pods")
        kpi_card("Installed power", number(float(c.total_power_kw), "kW", 1), "power")
        if not page.sees_all:
            mine = page.pods.get(page.own_member or 0, 0)
            kpi_card("Your PODs", f"{mine:,}", "own-pods", f"your role: {c.my_role}")


def _members(page: CommunityPage) -> None:
    rows = [
        {
            "id": m.member_id,
            "name": m.name,
            "type": _kind(m.user_type, m.category),
            "role": m.role.lower(),
            "pods": page.pods.get(m.member_id, 0),
        }
        for m in page.members
    ]
    title = "Members" if page.sees_all else "Your membership"
    with ui.card().classes("w-full"):
        ui.label(title).classes("text-subtitle1")
        table = ui.table(columns=MEMBER_COLUMNS, rows=rows, row_key="id", pagination=25)
        table.classes("w-full")
        table.props("flat dense data-testid=member-table")


async def _energy_card(user: Principal, community_id: int, substations: list[str]) -> None:
    with ui.card().classes("w-full"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("Shared energy per hour, per primary substation").classes("text-subtitle1")
            periods = {"24h": "Last 24 h", "today": "Today", "month": "This month"}
            choice = ui.toggle(periods, value="today")
            choice.props("dense data-testid=energy-period")
        note = ui.label("").classes("text-caption text-grey-7").props("data-testid=energy-note")
        charts = {}
        for name in substations:
            ui.label(f"Substation {name}").classes("text-body2 q-mt-sm")
            charts[name] = (
                ui.echart({}).classes("w-full h-64").props(f"data-testid=shared-chart-{name}")
            )

    async def redraw() -> None:
        now = datetime.now(UTC)
        async with current().session() as session:
            data = await shared_energy(session, user, community_id, choice.value, now)
        parts = []
        for group in data.substations:
            chart = charts.get(group.substation)
            if chart is None:
                continue
            chart.options.clear()
            chart.options.update(shared_chart(data, group.substation, choice.value == "month"))
            chart.update()
            parts.append(
                f"{group.substation}: shared {energy(group.shared_kwh)} of "
                f"{energy(group.injected_kwh)} injected, coverage {share(group.coverage)}"
            )
        # the period leads the note, so a reader (and a test) knows which data it describes
        note.set_text(f"{periods[choice.value]}: each bar is an hour [kWh]. " + " · ".join(parts))

    choice.on_value_change(redraw)
    await redraw()


def _totals(s: SettlementOut) -> None:
    status = (
        "closed"
        if s.status == "closed"
        else "draft: the month is running (hours still to come count as missing); it is "
        "recomputed until the month is closed"
    )
    ui.label(f"Settlement {s.year:04d}-{s.month:02d}: {status}").classes("text-subtitle1").props(
        "data-testid=settlement-title"
    )
    fees = sum((s.fees_eur[k] for k in s.fees_eur), start=type(s.incentive_eur)(0))
    with ui.row().classes("w-full gap-3"):
        kpi_card("GSE estimate", euros(s.gse_estimate_eur), "gse", "incentive + valorisation")
        kpi_card("Incentive (TIP)", euros(s.incentive_eur), "incentive")
        kpi_card("ARERA valorisation", euros(s.valorisation_eur), "valorisation")
        kpi_card("Fees", euros(fees), "fees", "statute")
        kpi_card("Reserve", euros(s.reserve_eur), "reserve", "kept by the community")
    coverage = " · ".join(
        f"{p.substation}: shared {energy(p.shared_kwh)}, coverage {share(p.coverage)}, "
        f"{p.missing_hours:,} missing hours"
        for p in s.substations
    )
    when = local_datetime(int(s.computed_at.timestamp() * 1000), "Europe/Rome")
    ui.label(f"{coverage}. Computed {when}.").classes("text-caption text-grey-7")


async def _download(user: Principal, community_id: int, sid: int, mid: int, fmt: str) -> None:
    try:
        async with current().session() as session:
            content, name, kind = await statement_file(session, user, community_id, sid, mid, fmt)
    except GridpilotError as error:
        ui.notify(str(error), type="negative")
        return
    ui.download.content(content, name, kind)


def _distribution(user: Principal, page: CommunityPage, s: SettlementOut) -> None:
    names = {m.member_id: m.name for m in page.members}
    rows = [
        {
            "id": p.member_id,
            "name": names.get(p.member_id, f"member {p.member_id}"),
            "consumption": energy(p.consumption_kwh),
            "shared": energy(p.produced_shared_kwh),
            "producer": euros(p.producer_eur),
            "consumer": euros(p.consumer_eur),
            "excess": euros(p.excess_eur),
            "total": euros(p.total_eur),
        }
        for p in s.members
    ]
    title = "Distribution per member" if page.sees_all else "Your part"
    ui.label(title).classes("text-subtitle1 q-mt-md")
    table = ui.table(columns=PART_COLUMNS, rows=rows, row_key="id", pagination=25)
    table.classes("w-full")
    table.props("flat dense data-testid=distribution-table")
    cid, sid = page.community.id, s.id
    if sid is None:  # a preview: no stored settlement, no statement
        return
    table.add_slot("body-cell-statement", STATEMENT_CELL)
    table.on(
        "statement",
        lambda e: _download(user, cid, sid, int(e.args["id"]), str(e.args["fmt"])),
    )


def _settlement(user: Principal, page: CommunityPage) -> None:
    with ui.card().classes("w-full").props("data-testid=settlement-card"):
        latest = page.settlements[0] if page.settlements else None
        settlement_actions(user, page, latest)
        if latest is None:
            ui.label("No settlement yet: a community admin runs one per month.")
            return
        _totals(latest)
        _distribution(user, page, latest)


async def _show(user: Principal, page: CommunityPage) -> None:
    """The community's page inside the frame, once its data is in."""
    _header(page)
    _members(page)
    await _energy_card(user, page.community.id, page.community.primary_substations)
    _settlement(user, page)
    await year_card(user, page)
    await ledger_card(user, page)


def register() -> None:
    @ui.page("/community")
    async def community_list() -> None:
        user = await require_login("/community")
        if user is None:
            return
        with frame(user, "Energy communities"):
            await painted()  # the frame answers at once; the communities follow
            async with current().session() as session:
                found = await communities(session, user)
            if len(found) == 1:
                ui.navigate.to(f"/community/{found[0].id}")
                return
            if not found:
                ui.label("You are not a member of any energy community.")
            for c in found:
                with (
                    ui.card()
                    .classes("w-full cursor-pointer")
                    .on("click", lambda _e, i=c.id: ui.navigate.to(f"/community/{i}"))
                ):
                    ui.link(c.name, f"/community/{c.id}").classes("text-subtitle1")
                    ui.label(
                        f"{c.members_count:,} members · {c.plants_count:,} PODs · "
                        f"{number(float(c.total_power_kw), 'kW', 1)} · zone {c.market_zone}"
                    ).classes("text-caption text-grey-7")

    @ui.page("/community/{community_id}")
    async def community_page(community_id: int) -> None:
        user = await require_login(f"/community/{community_id}")
        if user is None:
            return
        with frame(user, "Energy community") as heading:
            await painted()  # the frame answers at once; the community's figures follow
            try:
                async with current().session() as session:
                    page = await load(session, user, community_id)
            except NotFound:
                retitle(heading, "Community not found")
                ui.label(f"There is no community {community_id} you may see.")
                return
            retitle(heading, page.community.name)
            await _show(user, page)
