"""``/schedules``: the calendar of scheduled commands (docs/fleet-operations.md).

The next occurrences of the schedules the user may see, per local day, each in its schedule's
time zone (the site's), then the schedules themselves, read through the same services as
``/api/v1/command-schedules``, each schedule's latest runs with its devices' outcomes and, for
operators, its switch (``web/schedule_runs.py``). The device groups they target are on
``/groups`` (``web/pages/groups.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from gridpilot.assets import service as assets_service
from gridpilot.auth.permissions import Principal
from gridpilot.core.timestamps import now_ms
from gridpilot.groups import service as groups_service
from gridpilot.scheduling import service
from gridpilot.scheduling.models import CommandSchedule
from gridpilot.web.context import current
from gridpilot.web.layout import frame, painted, require_login
from gridpilot.web.schedule_runs import schedule_runs

#: Days the calendar shows from now.
DAYS = 7
Refresh = Callable[[], Awaitable[None]]


def _local(at_ms: int, zone: str) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, tz=ZoneInfo(zone))


async def _targets(user: Principal, schedules: list[CommandSchedule]) -> dict[int, str]:
    """A label per schedule: the group's or the asset's name."""
    labels: dict[int, str] = {}
    async with current().session() as session:
        for schedule in schedules:
            if service.detached(schedule):
                labels[schedule.id] = "group deleted"
            elif schedule.group_id is not None:
                group = await groups_service.get_group(
                    session=session, principal=user, group_id=schedule.group_id
                )
                labels[schedule.id] = f"group {group.name}"
            else:
                assert schedule.asset_id is not None
                asset = await assets_service.get_asset(
                    session=session, asset_id=schedule.asset_id, principal=user
                )
                labels[schedule.id] = asset.name
    return labels


def _calendar(items: list[service.Upcoming], labels: dict[int, str]) -> None:
    days: dict[str, list[service.Upcoming]] = defaultdict(list)
    for item in items:
        days[_local(item.at_ms, item.schedule.timezone).date().isoformat()].append(item)
    if not days:
        ui.label(f"Nothing scheduled in the next {DAYS} days.").props("data-testid=calendar-empty")
        return
    with ui.row().classes("w-full gap-3 items-stretch"):
        for day in sorted(days):
            title = datetime.fromisoformat(day).strftime("%a %d %b %Y")
            card = (
                ui.card().classes("min-w-[14rem] flex-1 gap-2").props(f"data-testid=calendar-{day}")
            )
            with card:
                ui.label(title).classes("text-subtitle1")
                for item in days[day]:
                    local = _local(item.at_ms, item.schedule.timezone)
                    entry = ui.column().classes("gap-0")
                    entry.props(f"data-testid=occurrence-{item.schedule.id}-{item.at_ms}")
                    with entry, ui.row().classes("items-baseline gap-2 no-wrap"):
                        ui.label(local.strftime("%H:%M %Z")).classes("font-mono whitespace-nowrap")
                        ui.label(item.schedule.name).classes("font-medium")
                    with entry:
                        caption = f"{item.schedule.kind} · {labels[item.schedule.id]}"
                        ui.label(caption).classes("text-caption opacity-70")


def _table(schedules: list[CommandSchedule], labels: dict[int, str]) -> None:
    columns = [
        {"name": "name", "label": "Name", "field": "name", "align": "left"},
        {"name": "target", "label": "Target", "field": "target", "align": "left"},
        {"name": "command", "label": "Command", "field": "command", "align": "left"},
        {"name": "timing", "label": "When", "field": "timing", "align": "left"},
        {"name": "zone", "label": "Time zone", "field": "zone", "align": "left"},
        {"name": "next", "label": "Next run (local)", "field": "next", "align": "left"},
        {"name": "state", "label": "State", "field": "state", "align": "left"},
    ]
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "target": labels[s.id],
            "command": s.kind,
            "timing": f"cron {s.cron}" if s.cron else "once",
            "zone": s.timezone,
            "next": _local(s.next_run_ms, s.timezone).strftime("%Y-%m-%d %H:%M %Z")
            if s.next_run_ms is not None
            else "—",
            "state": _state(s),
        }
        for s in schedules
    ]
    table = ui.table(columns=columns, rows=rows, row_key="id").classes("w-full")
    # cards on a phone: seven columns do not fit 390 px
    table.props("flat bordered wrap-cells data-testid=schedule-table")
    table.props(':grid="window.innerWidth < 600"')


def _state(schedule: CommandSchedule) -> str:
    """Enabled or disabled with the missed-run policy; a one-off that has run is done."""
    if schedule.enabled and schedule.cron is None and schedule.next_run_ms is None:
        return "done (ran once)"
    state = "enabled" if schedule.enabled else "disabled"
    return f"{state} · missed: {schedule.missed_policy}"


def register() -> None:
    @ui.page("/schedules")
    async def schedules_page() -> None:
        user = await require_login("/schedules")
        if user is None:
            return
        with frame(user, "Schedules"):
            await painted()  # the frame answers at once; the schedules follow
            async with current().session() as session:
                schedules = await service.list_schedules(
                    session=session, principal=user, limit=1000
                )
            labels = await _targets(user, schedules)
            start = now_ms()
            items = service.upcoming(schedules, start, start + DAYS * 86_400_000)
            intro = f"Scheduled commands of the next {DAYS} days, at each site's local time."
            ui.label(intro).classes("text-body2 opacity-80")
            _calendar(items, labels)

            async def after() -> None:  # the schedules may have changed too: reload the page
                ui.navigate.reload()

            if schedules:
                _table(schedules, labels)
                await schedule_runs(user, schedules, labels, after)
            else:
                ui.label("No scheduled commands.").props("data-testid=schedules-empty")
            with ui.row().classes("items-baseline gap-1"):
                ui.label("The device groups they can target are on the").classes("text-body2")
                ui.link("Groups page", "/groups").props("data-testid=groups-link")
