"""``/reports``: define, schedule, run now, preview and download reports (docs/reports.md).

Same services and checks as ``/api/v1/reports``: a report is of a site, a device group (every
site of its members) or an energy community; a site-limited user sees the reports of its sites
only (a group's only when it sees all the group's sites); operators and administrators create
and run them. The preview builds the report's document for its default period with the user's
rights and shows it here (figures, charts, tables), without storing or sending anything;
downloads serve the stored files of a run.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from gridpilot.assets.service import list_sites
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import GridpilotError
from gridpilot.reports import service
from gridpilot.reports.document import Chart, Document, Figure, Table, cell
from gridpilot.reports.kinds import load
from gridpilot.reports.models import ReportDefinition, ReportRun
from gridpilot.reports.targets import Target
from gridpilot.web.context import current
from gridpilot.web.layout import frame, kpi_card, painted, require_login
from gridpilot.web.numbers import UNKNOWN, local_datetime
from gridpilot.web.report_form import SCHEDULES, create_form

STATUS_COLOR = {"done": "positive", "failed": "negative", "running": "warning"}


def _figures(items: list[Figure]) -> None:
    with ui.row().classes("w-full gap-3 flex-wrap"):
        for item in items:
            shown = f"{item.text(grouped=True)} {item.unit}".strip() if item.text() else UNKNOWN
            kpi_card(item.label, shown, f"preview-{item.key}", item.note)


def _chart(chart: Chart) -> None:
    series = [
        {
            "name": name,
            "type": chart.kind,
            "data": [None if v is None else round(v, 3) for v in values],
        }
        for name, values in chart.series.items()
    ]
    ui.label(chart.title).classes("text-subtitle2")
    ui.echart(
        {
            "animation": False,
            "tooltip": {"trigger": "axis"},
            "legend": {"bottom": 0},
            "grid": {"left": 50, "right": 10, "top": 30, "bottom": 50},
            "xAxis": {"type": "category", "data": chart.labels},
            "yAxis": {"type": "value", "name": chart.unit},
            "series": series,
        }
    ).classes("w-full h-64").props(f"data-testid=preview-chart-{chart.key}")


def _table(table: Table, timezone: str) -> None:
    columns = [
        {
            "name": c.key,
            "field": c.key,
            "align": "right" if c.kind == "number" else "left",
            "label": f"{c.label} [{c.unit}]" if c.unit else c.label,
        }
        for c in table.columns
    ]
    rows = [
        {
            c.key: cell(c, v, timezone, for_people=True)
            for c, v in zip(table.columns, row, strict=True)
        }
        for row in table.rows[:100]
    ]
    ui.label(table.title).classes("text-subtitle2")
    ui.table(columns=columns, rows=rows).classes("w-full").props(
        f"dense flat bordered data-testid=preview-table-{table.key}"
    )


def show_document(document: Document) -> None:
    """A report's document as dashboard elements (the preview)."""
    zone = document.timezone
    what = (
        document.site_name
        if document.target == "site"
        else (f"{document.target} {document.site_name}")
    )
    ui.label(
        f"{document.title}: {what}, {local_datetime(document.start_ms, zone)} to "
        f"{local_datetime(document.end_ms, zone)}"
    ).classes("text-h6").props("data-testid=preview-title")
    for section in document.sections:
        ui.label(section.title).classes("text-subtitle1 text-weight-bold")
        _figures([i for i in section.items if isinstance(i, Figure)])
        for item in section.items:
            if isinstance(item, Chart):
                _chart(item)
            elif isinstance(item, Table):
                _table(item, zone)
    for note in document.notes:
        ui.label(note).classes("text-caption")


async def _preview(user: Principal, definition_id: int, into: ui.column) -> None:
    into.clear()
    try:
        async with current().session() as session:
            document = await service.preview(
                session=session,
                principal=user,
                definition_id=definition_id,
                settings=current().settings,
            )
    except GridpilotError as error:
        ui.notify(str(error), type="negative")
        return
    with into:
        show_document(document)


async def _run_now(user: Principal, definition_id: int) -> None:
    try:
        async with current().session() as session:
            run = await service.run_now(
                session=session,
                principal=user,
                definition_id=definition_id,
                settings=current().settings,
                start_ms=None,
                end_ms=None,
            )
            status, error = run.status, run.error
    except GridpilotError as problem:
        ui.notify(str(problem), type="negative")
        return
    if status == "done":
        ui.notify("report ready: see the runs below", type="positive")
    else:
        ui.notify(f"report failed: {error}", type="negative", multi_line=True)
    ui.navigate.to("/reports")


async def _download(user: Principal, run_id: int, fmt: str) -> None:
    try:
        async with current().session() as session:
            found = await service.get_file(session=session, principal=user, run_id=run_id, fmt=fmt)
            content, name, kind = found.content, found.filename, found.content_type
    except GridpilotError as error:
        ui.notify(str(error), type="negative")
        return
    ui.download.content(content, name, kind)


def _definitions(
    user: Principal,
    definitions: list[ReportDefinition],
    targets: dict[int, Target],
    preview: ui.column,
) -> None:
    ui.label("Reports").classes("text-subtitle1")
    if not definitions:
        ui.label("No reports yet.")
    kinds = load()
    for d in definitions:
        target = targets[d.id]
        due = local_datetime(d.next_run_ms, target.timezone) if d.next_run_ms else "on demand"
        label = target.name if target.kind == "site" else target.label
        card = ui.card().classes("w-full").props(f"data-testid=report-{d.id}")
        with card, ui.row().classes("items-center gap-4 w-full flex-wrap"):
            ui.label(d.name).classes("text-weight-bold")
            ui.label(f"{kinds[d.kind].title} · {label}")
            ui.badge(SCHEDULES[d.schedule]).props("outline")
            ui.label(f"next: {due}").classes("text-caption")
            ui.space()
            ui.button(
                "Preview", icon="visibility", on_click=lambda i=d.id: _preview(user, i, preview)
            ).props(f"flat data-testid=preview-{d.id}")
            if user.has(Permission.CONFIGURE):
                ui.button(
                    "Run now", icon="play_arrow", on_click=lambda i=d.id: _run_now(user, i)
                ).props(f"flat data-testid=run-{d.id}")


def _runs(
    user: Principal,
    runs: list[ReportRun],
    files: dict[int, list[Any]],
    names: dict[int, str],
    zones: dict[int, str],
) -> None:
    ui.label("Runs").classes("text-subtitle1")
    if not runs:
        ui.label("No runs yet.")
    for run in runs:
        zone = zones.get(run.definition_id, "UTC")
        with (
            ui.row()
            .classes("items-center gap-3 w-full flex-wrap")
            .props(f"data-testid=run-row-{run.id}")
        ):
            ui.badge(run.status, color=STATUS_COLOR.get(run.status, "grey"))
            ui.label(names.get(run.definition_id, run.kind)).classes("text-weight-medium")
            ui.label(f"{local_datetime(run.start_ms, zone)} to {local_datetime(run.end_ms, zone)}")
            ui.label(f"{run.trigger}, {(run.duration_ms or 0) / 1000:.1f} s").classes(
                "text-caption"
            )
            for fmt, *_ in files.get(run.id, []):
                ui.button(
                    fmt.upper(),
                    icon="download",
                    on_click=lambda r=run.id, f=fmt: _download(user, r, f),
                ).props(f"flat dense data-testid=download-{run.id}-{fmt}")
            if run.error:
                ui.label(run.error).classes("text-negative text-caption")


def register() -> None:
    @ui.page("/reports")
    async def reports_page(report: int | None = None) -> None:
        user = await require_login("/reports")
        if user is None:
            return
        with frame(user, "Reports"):
            await painted()  # the frame answers at once; definitions and runs follow
            async with current().session() as session:
                sites = {s.id: s for s in await list_sites(session=session, principal=user)}
                definitions = await service.list_definitions(session=session, principal=user)
                targets = await service.describe_targets(
                    session=session, principal=user, definitions=definitions
                )
                definitions = [d for d in definitions if d.id in targets]
                runs = await service.list_runs(session=session, principal=user, limit=30)
                files = await service.run_files(session=session, run_ids=[r.id for r in runs])
            zones = {i: t.timezone for i, t in targets.items()}
            if user.has(Permission.CONFIGURE) and sites:
                await create_form(user, sites)
            listing = ui.column().classes("w-full gap-3")
            preview = ui.column().classes("w-full gap-3").props("data-testid=preview")
            with listing:
                _definitions(user, definitions, targets, preview)
                _runs(user, runs, files, {d.id: d.name for d in definitions}, zones)
            if report is not None and any(d.id == report for d in definitions):
                await _preview(user, report, preview)
