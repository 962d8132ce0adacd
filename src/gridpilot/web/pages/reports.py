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
from pydantic import ValidationError

from gridpilot.assets.models import Site
from gridpilot.assets.service import list_sites
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.community import service as communities
from gridpilot.core.errors import GridpilotError
from gridpilot.groups import service as groups
from gridpilot.insights.baselines import service as baselines
from gridpilot.reports import service
from gridpilot.reports.document import Chart, Document, Figure, Table, cell, local_text
from gridpilot.reports.kinds import load
from gridpilot.reports.models import ReportDefinition, ReportRun
from gridpilot.reports.schemas import DefinitionCreate
from gridpilot.reports.targets import Target
from gridpilot.web.context import current
from gridpilot.web.layout import frame, kpi_card, painted, require_login
from gridpilot.web.numbers import UNKNOWN

SCHEDULES = {"none": "On demand", "daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
#: Kinds of a community's statements (a member may be named); the yearly one is on demand only.
COMMUNITY_KINDS = ("community_statement", "community_year")
TARGETS = {"site": "Site", "group": "Device group", "community": "Community"}
STATUS_COLOR = {"done": "positive", "failed": "negative", "running": "warning"}


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(e["msg"] for e in error.errors())
    return str(error)


async def _choices(user: Principal) -> tuple[dict[int, str], dict[int, str], list[Any]]:
    """(groups whose every site the user sees, communities it may see, baselines)."""
    async with current().session() as session:
        found = await groups.list_groups(session=session, principal=user, limit=1000)
        visible, _ = await communities.list_communities(
            session=session, principal=user, page=1, per_page=1000
        )
        fitted = await baselines.list_baselines(session=session, principal=user)
    whole = {v.group.id: v.group.name for v in found if v.complete}
    return whole, {c.id: c.name for c in visible}, list(fitted)


def _number(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


async def _create_form(user: Principal, sites: dict[int, Site]) -> None:
    whole_groups, community_names, fitted = await _choices(user)
    kinds = load()
    targets = {k: v for k, v in TARGETS.items() if k != "group" or whole_groups}
    if not community_names:
        targets.pop("community")

    def kind_options(target: str) -> dict[str, str]:
        return {k.name: k.title for k in kinds.values() if target in k.targets}

    with ui.card().classes("w-full").props("data-testid=report-form"):
        ui.label("New report").classes("text-subtitle1")
        with ui.row().classes("items-end gap-3 flex-wrap"):
            name = ui.input("Name", value="Monthly energy").props("data-testid=report-name")
            target = ui.select(targets, label="Of", value="site").classes("w-40")
            target.props("data-testid=report-target")
            site = ui.select(
                {i: s.name for i, s in sites.items()}, label="Site", value=next(iter(sites), None)
            ).classes("w-56")
            site.props("data-testid=report-site")
            site.bind_visibility_from(target, "value", value="site")
            group = ui.select(
                whole_groups, label="Group", value=next(iter(whole_groups), None)
            ).classes("w-56")
            group.props("data-testid=report-group")
            group.bind_visibility_from(target, "value", value="group")
            zone = ui.input("Time zone (optional)").classes("w-48")
            zone.props("data-testid=report-timezone")
            zone.bind_visibility_from(target, "value", value="group")
            community = ui.select(
                community_names, label="Community", value=next(iter(community_names), None)
            ).classes("w-56")
            community.props("data-testid=report-community")
            community.bind_visibility_from(target, "value", value="community")
            kind = ui.select(kind_options("site"), label="Kind", value="site_energy").classes(
                "w-72"
            )
            kind.props("data-testid=report-kind")
            schedule = ui.select(SCHEDULES, label="Schedule", value="monthly").classes("w-40")
            schedule.props("data-testid=report-schedule")
            baseline = ui.select({b.id: b.name for b in fitted}, label="Baseline").classes("w-56")
            baseline.bind_visibility_from(kind, "value", value="iso50001")
            event = ui.number("DR event id (blank: all of the period)", format="%d").classes("w-64")
            event.props("data-testid=report-event")
            event.bind_visibility_from(kind, "value", value="dr_event")
            member = ui.number("Member id (blank: every member)", format="%d").classes("w-56")
            member.props("data-testid=report-member")
            member.bind_visibility_from(kind, "value", backward=lambda k: k in COMMUNITY_KINDS)
            pdf = ui.checkbox("PDF", value=True)
            csv = ui.checkbox("CSV", value=True)

        def on_target() -> None:
            options = kind_options(target.value)
            kind.set_options(options, value=next(iter(options), None))

        target.on_value_change(on_target)
        kind.on_value_change(
            lambda: schedule.set_value("none") if kind.value == "community_year" else None
        )

        async def create() -> None:
            params: dict[str, Any] = {}
            if kind.value == "iso50001":
                params["baseline_id"] = baseline.value
            if kind.value == "dr_event" and _number(event.value) is not None:
                params["event_id"] = _number(event.value)
            if kind.value in COMMUNITY_KINDS and _number(member.value) is not None:
                params["member_id"] = _number(member.value)
            formats = [f for f, box in (("pdf", pdf), ("csv", csv)) if box.value]
            chosen = {
                "site": {"site_id": site.value},
                "group": {"group_id": group.value, "timezone": zone.value or None},
                "community": {"community_id": community.value},
            }[target.value]
            try:
                data = DefinitionCreate(
                    **chosen,
                    name=name.value,
                    kind=kind.value,
                    params=params,
                    formats=formats,
                    schedule=schedule.value,
                )
                async with current().session() as session:
                    made = await service.create_definition(
                        session=session, principal=user, data=data
                    )
            except (GridpilotError, ValidationError) as error:
                ui.notify(_problem(error), type="negative", multi_line=True)
                return
            ui.notify(f"report {made.name!r} saved", type="positive")
            ui.navigate.to(f"/reports?report={made.id}")

        ui.button("Save", icon="save", on_click=create).props("data-testid=report-create")


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
        f"{document.title}: {what}, {local_text(document.start_ms, zone)} to "
        f"{local_text(document.end_ms, zone)}"
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
        due = local_text(d.next_run_ms, target.timezone) if d.next_run_ms else "on demand"
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
            ui.label(f"{local_text(run.start_ms, zone)} to {local_text(run.end_ms, zone)}")
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
                await _create_form(user, sites)
            listing = ui.column().classes("w-full gap-3")
            preview = ui.column().classes("w-full gap-3").props("data-testid=preview")
            with listing:
                _definitions(user, definitions, targets, preview)
                _runs(user, runs, files, {d.id: d.name for d in definitions}, zones)
            if report is not None and any(d.id == report for d in definitions):
                await _preview(user, report, preview)
