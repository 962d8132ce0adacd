"""``/schedules``: the calendar of scheduled commands and the device groups they target
(docs/fleet-operations.md).

The next occurrences of the schedules the user may see, per local day, each in its schedule's
time zone (the site's), then the schedules themselves, read through the same services as
``/api/v1/command-schedules``, each schedule's latest runs with its devices' outcomes and, for
operators, its switch (``web/schedule_runs.py``). Then the device groups: operators delete one
there; a group that alert rules or schedules use is refused in words, naming them, with the
choice to disable them and delete it anyway (``groups.service.delete_group``, as
``DELETE /api/v1/groups/{id}``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from gridpilot.assets import service as assets_service
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import now_ms
from gridpilot.groups import service as groups_service
from gridpilot.groups.events import group_users, publish_group_changed
from gridpilot.groups.usage import GroupInUse
from gridpilot.scheduling import service
from gridpilot.scheduling.models import CommandSchedule
from gridpilot.web.context import current
from gridpilot.web.forms import confirm, dialog_card, fresh_rights, section
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


def _in_use_text(error: GroupInUse) -> tuple[str, list[str]]:
    """The refusal in words: what uses the group, one line each."""
    uses = error.details if isinstance(error.details, list) else []
    lines = [
        f"{u['kind'].replace('_', ' ')} \u201c{u['name']}\u201d (#{u['id']}, "
        f"{'enabled' if u['enabled'] else 'disabled'}"
        f"{'' if u.get('releasable', True) else ', keeps the group: delete it first'})"
        for u in uses
    ]
    counts = Counter(u["kind"] for u in uses)
    said = " and ".join(
        f"{n} {kind.replace('_', ' ')}{'s' if n > 1 else ''}" for kind, n in sorted(counts.items())
    )
    return f"It is used by {said}:", lines


async def _delete_group(group_id: int, force: bool) -> bool | GroupInUse:
    """Delete with the user's rights read again: True when done, the refusal when in use."""
    user = await fresh_rights(Permission.CONFIGURE)
    if user is None:
        return False
    app = current().app
    try:
        async with current().session() as session:
            released = await groups_service.delete_group(
                session=session, principal=user, group_id=group_id,
                users=group_users(app), force=force,
            )  # fmt: skip
    except GroupInUse as refused:
        return refused
    except GridpilotError as error:
        ui.notify(error.message, type="negative", multi_line=True)
        return False
    await publish_group_changed(app, group_id, "deleted", released)
    return True


def _in_use_dialog(name: str, group_id: int, refused: GroupInUse, after: Refresh) -> None:
    dialog, card = dialog_card(36)
    intro, lines = _in_use_text(refused)
    with card.props("data-testid=group-in-use"):
        ui.label(f"Group \u201c{name}\u201d is in use").classes("text-h6")
        ui.label(intro).classes("text-body2")
        with ui.column().classes("gap-0 q-pl-md").props("data-testid=group-users"):
            for line in lines:
                ui.label(f"\u2022 {line}").classes("text-body2")
        uses = refused.details if isinstance(refused.details, list) else []
        releasable = all(u.get("releasable", True) for u in uses)
        ui.label(
            "Retarget or delete them first, or delete the group anyway: the rules and schedules "
            "above are then disabled (their history is kept) and cannot run again on it."
            if releasable
            else "Retarget or delete them first: not all of them can be released from it."
        ).classes("text-body2")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep the group", on_click=dialog.close).props("flat data-testid=group-keep")

            if releasable:
                _force_button(name, group_id, dialog, after)
    dialog.open()


def _force_button(name: str, group_id: int, dialog: ui.dialog, after: Refresh) -> None:
    async def force() -> None:
        dialog.close()
        if await _delete_group(group_id, force=True) is True:
            ui.notify(f"Group {name} deleted; its rules and schedules are disabled")
            await after()

    ui.button("Disable them and delete", on_click=force).props(
        "color=negative unelevated data-testid=group-force"
    )


def _groups(user: Principal, found: list[groups_service.GroupView], after: Refresh) -> None:
    section("Device groups", "What schedules, alert rules and roll-outs can target")
    if not found:
        ui.label("No device group (API: POST /api/v1/groups).").props("data-testid=groups-empty")
        return

    async def ask(group_id: int, name: str) -> None:
        async def go() -> None:
            done = await _delete_group(group_id, force=False)
            if isinstance(done, GroupInUse):
                _in_use_dialog(name, group_id, done, after)
            elif done:
                ui.notify(f"Group {name} deleted", type="positive")
                await after()

        confirm(f"Delete the group \u201c{name}\u201d?",
                "Its devices are not changed. A group that rules or schedules use is not "
                "deleted without asking again.", go, "Delete")  # fmt: skip

    with ui.column().classes("w-full gap-1").props("data-testid=groups"):
        for view in found:
            group = view.group
            row = ui.row().classes("w-full items-center gap-x-3 gap-y-0")
            with row.props(f"data-testid=group-{group.id}"):
                ui.label(group.name).classes("text-weight-medium")
                members = (
                    f"{len(view.asset_ids)} devices" if view.asset_ids is not None
                    else "members by filter: " + ", ".join(
                        f"{k.replace('_', ' ')} {', '.join(map(str, v))}"
                        for k, v in sorted(group.filter.items())
                    )
                )  # fmt: skip
                ui.label(f"{group.kind} \u00b7 {members}").classes("text-caption text-grey-7")
                if user.has(Permission.CONFIGURE):
                    ui.button(icon="delete", on_click=lambda g=group: ask(g.id, g.name)).props(
                        f"flat dense round aria-label=Delete data-testid=group-delete-{group.id}"
                    ).tooltip("Delete the group")


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
            groups_slot = ui.column().classes("w-full gap-1")

            async with current().session() as session:
                found = await groups_service.list_groups(
                    session=session, principal=user, limit=1000
                )
            with groups_slot:
                _groups(user, found, after)
