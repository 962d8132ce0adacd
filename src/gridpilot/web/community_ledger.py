"""The community page's settlement actions, ledger and year, through the community services.

* **Run / close** (the community's admins with gridpilot's configure permission): run a month
  (a draft, recomputed on every run) and close the shown draft once its month has ended; the
  same services and refusals as ``POST .../settlements`` and ``.../close``.
* **Ledger**: the lines the user may see (admins: all; members: theirs and the community's) with
  their status; admins move a line through its lifecycle (``community.ledger_status``) with a
  payment reference or a note.
* **Year**: the sums of the year's closed months as stored (``community.yearly``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.community import ledger_status, settlements, yearly
from gridpilot.community.ledger_schemas import StatusChangeIn, YearOut
from gridpilot.community.settlement_schemas import SettlementOut
from gridpilot.web.community_view import CommunityPage, euros
from gridpilot.web.context import current
from gridpilot.web.forms import act, blank, confirm, dialog_card
from gridpilot.web.layout import kpi_card
from gridpilot.web.numbers import energy

ROME = ZoneInfo("Europe/Rome")
#: The buttons a line's status offers (the lifecycle of ``community.ledger_status.NEXT``).
MOVES = {"PROCESSED": "Paid", "FAILED": "Failed", "PENDING": "Retry"}
LEDGER_COLUMNS = [
    {"name": "id", "label": "#", "field": "id", "align": "right"},
    {"name": "type", "label": "Type", "field": "type", "align": "left"},
    {"name": "member", "label": "Member", "field": "member", "align": "left"},
    {"name": "period", "label": "Period", "field": "period", "align": "left"},
    {"name": "amount", "label": "Amount", "field": "amount", "align": "right"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "reference", "label": "Reference", "field": "reference", "align": "left"},
]
MOVE_CELL = """<q-td :props="props">
  <q-btn v-for="m in props.row.moves" :key="m.to" flat dense no-caps size="sm" :label="m.label"
    :data-testid="'ledger-' + m.to.toLowerCase() + '-' + props.row.id"
    @click="() => $parent.$emit('move', {id: props.row.id, to: m.to})" />
</q-td>"""
YEAR_COLUMNS = [
    {"name": "name", "label": "Member", "field": "name", "align": "left"},
    {"name": "months", "label": "Months", "field": "months", "align": "right"},
    {"name": "consumption", "label": "Consumed in sharing hours", "field": "consumption"},
    {"name": "shared", "label": "Shared from own plants", "field": "shared"},
    {"name": "total", "label": "Benefit", "field": "total"},
]


def manages(user: Principal, page: CommunityPage) -> bool:
    """The community's admins with gridpilot's configure permission (the API's rule)."""
    return page.sees_all and user.has(Permission.CONFIGURE)


def recent_months(now: datetime, count: int = 13) -> list[tuple[int, int]]:
    """(year, month) of this month and the ``count - 1`` before it, in Europe/Rome, newest
    first."""
    day = now.astimezone(ROME).date().replace(day=1)
    months = []
    for _ in range(count):
        months.append((day.year, day.month))
        day = (day - timedelta(days=1)).replace(day=1)
    return months


def month_ended(s: SettlementOut, now: datetime) -> bool:
    after = date(s.year + s.month // 12, s.month % 12 + 1, 1)
    return now.astimezone(ROME).date() >= after


def settlement_actions(user: Principal, page: CommunityPage, shown: SettlementOut | None) -> None:
    """Run a month; close the shown draft of an ended month. Admins only."""
    if not manages(user, page):
        return
    cid = page.community.id
    options = {f"{y:04d}-{m:02d}": f"{y:04d}-{m:02d}" for y, m in recent_months(datetime.now(ROME))}
    with ui.row().classes("w-full items-center gap-2").props("data-testid=settlement-actions"):
        month = ui.select(options, value=next(iter(options)), label="Month")
        month.props("dense outlined data-testid=settlement-month")

        async def run() -> None:
            year, number = (int(p) for p in str(month.value).split("-"))

            async def action(session: AsyncSession, principal: Principal) -> Any:
                return await settlements.run_settlement(
                    session=session, principal=principal, community_id=cid, year=year,
                    month=number,
                )  # fmt: skip

            if await act(action, need=Permission.CONFIGURE, done=f"{month.value} settled"):
                ui.navigate.reload()

        ui.button("Run settlement", icon="calculate", on_click=run).props(
            "unelevated data-testid=settlement-run"
        )
        if shown is None or shown.status != "draft" or shown.id is None:
            return
        if not month_ended(shown, datetime.now(ROME)):
            ui.label("The shown draft closes once its month has ended.").classes(
                "text-caption text-grey-7"
            )
            return
        label, sid = f"{shown.year:04d}-{shown.month:02d}", shown.id

        async def close() -> None:
            async def action(session: AsyncSession, principal: Principal) -> Any:
                return await settlements.close_settlement(
                    session=session, principal=principal, community_id=cid, settlement_id=sid
                )

            if await act(action, need=Permission.CONFIGURE, done=f"{label} closed"):
                ui.navigate.reload()

        ui.button(
            f"Close {label}",
            icon="lock",
            on_click=lambda: confirm(
                f"Close {label}?",
                "A closed month never changes again; its ledger lines are written (PENDING).",
                close,
                "Close",
            ),
        ).props("outline data-testid=settlement-close")


def _ledger_rows(lines: list[Any], names: dict[int, str], admin: bool) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "type": t.transaction_type,
            "member": names.get(t.member_id, "community") if t.member_id else "community",
            "period": f"{t.period_start:%Y-%m}" if t.period_start else "",
            "amount": euros(t.amount_eur),
            "status": t.status,
            "reference": t.payment_reference or "",
            "moves": [
                {"to": to, "label": MOVES[to]}
                for to in sorted(ledger_status.NEXT.get(t.status, frozenset()))
            ]
            if admin
            else [],
        }
        for t in lines
    ]


async def ledger_card(user: Principal, page: CommunityPage) -> None:
    """The ledger lines the user may see; admins change a line's status."""
    cid, admin = page.community.id, manages(user, page)
    names = {m.member_id: m.name for m in page.members}
    with ui.card().classes("w-full").props("data-testid=ledger-card"):
        ui.label("Ledger" if page.sees_all else "Your ledger lines").classes("text-subtitle1")
        columns = LEDGER_COLUMNS + (
            [{"name": "moves", "label": "Set status", "field": "moves"}] if admin else []
        )
        table = ui.table(columns=columns, rows=[], row_key="id", pagination=25)
        table.classes("w-full").props("flat dense data-testid=ledger-table")
        if admin:
            table.add_slot("body-cell-moves", MOVE_CELL)

    async def refresh() -> None:
        async with current().session() as session:
            lines, _ = await settlements.list_transactions(
                session=session, principal=user, community_id=cid, page=1, per_page=10_000
            )
        table.rows[:] = _ledger_rows(lines, names, admin)
        table.update()

    def ask(args: dict[str, Any]) -> None:
        line, to = int(args["id"]), str(args["to"])
        dialog, card = dialog_card(28)
        with card:
            ui.label(f"Line {line}: {MOVES[to].lower()} ({to})").classes("text-h6")
            reference = ui.input("Payment reference").props("data-testid=ledger-reference")
            note = ui.input("Note").props("data-testid=ledger-note")

            async def save() -> None:
                async def action(session: AsyncSession, principal: Principal) -> Any:
                    data = StatusChangeIn(
                        status=to,
                        payment_reference=blank(reference.value),
                        note=blank(note.value),
                    )
                    return await ledger_status.change_status(
                        session=session, principal=principal, transaction_id=line, data=data
                    )

                dialog.close()
                if await act(action, need=Permission.CONFIGURE, done=f"Line {line}: {to}"):
                    await refresh()

            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Save", on_click=save).props("unelevated data-testid=ledger-save")
        dialog.open()

    table.on("move", lambda e: ask(e.args))
    await refresh()


def _year_body(data: YearOut) -> None:
    closed = ", ".join(f"{m:02d}" for m in data.closed_months) or "none"
    drafts = [m.month for m in data.months if m.status != "closed"]
    ui.label(
        f"{data.year}: closed months {closed}"
        + (f"; drafts not counted: {', '.join(f'{m:02d}' for m in drafts)}" if drafts else "")
    ).classes("text-caption text-grey-7").props("data-testid=year-note")
    with ui.row().classes("w-full gap-3"):
        kpi_card("GSE estimate (year)", euros(data.gse_estimate_eur), "year-gse")
        kpi_card("Incentive (year)", euros(data.incentive_eur), "year-incentive")
        kpi_card("Shared energy (year)", energy(data.shared_kwh), "year-shared")
        kpi_card("Reserve (year)", euros(data.reserve_eur), "year-reserve")
    rows = [
        {
            "id": m.member_id, "name": m.member_name, "months": m.months,
            "consumption": energy(m.consumption_kwh), "shared": energy(m.produced_shared_kwh),
            "total": euros(m.total_eur),
        }
        for m in data.members
    ]  # fmt: skip
    table = ui.table(columns=YEAR_COLUMNS, rows=rows, row_key="id", pagination=25)
    table.classes("w-full").props("flat dense data-testid=year-table")


async def year_card(user: Principal, page: CommunityPage) -> None:
    """The year's closed months summed (years with a settlement; the latest first)."""
    years = sorted({s.year for s in page.settlements}, reverse=True)
    if not years:
        return
    cid = page.community.id
    with ui.card().classes("w-full").props("data-testid=year-card"):
        with ui.row().classes("w-full items-center justify-between"):
            ui.label("The year, from its closed months").classes("text-subtitle1")
            choice = ui.select(years, value=years[0]).props("dense data-testid=year-select")
        body = ui.column().classes("w-full")

    async def redraw() -> None:
        async with current().session() as session:
            data = await yearly.year_summary(
                session=session, principal=user, community_id=cid, year=int(choice.value)
            )
        body.clear()
        with body:
            _year_body(data)

    choice.on_value_change(redraw)
    await redraw()
