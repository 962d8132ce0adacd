"""``/schedules``: each command schedule's latest runs with every device's outcome, and its
switch (operators: enable, disable), as ``GET /api/v1/command-schedules/{id}/runs`` and
``PATCH /api/v1/command-schedules/{id}`` (docs/fleet-operations.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import GridpilotError
from gridpilot.core.timestamps import now_ms
from gridpilot.scheduling import runs, service
from gridpilot.scheduling.models import CommandSchedule, CommandScheduleRun
from gridpilot.scheduling.schemas import ScheduleUpdate
from gridpilot.web.context import current
from gridpilot.web.forms import fresh_rights, section

#: Runs listed per schedule, newest first.
RUNS_SHOWN = 10
TRIGGERS = {runs.ON_TIME: "on time", runs.CATCH_UP: "caught up after downtime",
            runs.SKIPPED: "skipped after downtime"}  # fmt: skip
Refresh = Callable[[], Awaitable[None]]


def _local(at_ms: int, zone: str) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _devices(run: CommandScheduleRun, found: list[runs.Outcome]) -> str:
    """The devices' outcome in words: '3 devices: 2 acknowledged, 1 refused (rate limited)'."""
    counts = runs.state_counts(found)
    parts = [f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items())]
    reasons = sorted({o.error.replace("_", " ") for o in found if o.error})
    said = f"{run.targets} device{'s' if run.targets != 1 else ''}"
    if parts:
        said += ": " + ", ".join(parts)
    return said + (f" ({', '.join(reasons)})" if reasons else "")


def _run_rows(schedule: CommandSchedule, found: list[CommandScheduleRun],
              outcomes: dict[int, list[runs.Outcome]]) -> list[dict[str, object]]:  # fmt: skip
    return [
        {
            "id": run.id,
            "when": _local(run.occurrence_ms, schedule.timezone),
            "trigger": TRIGGERS.get(run.trigger, run.trigger.replace("_", " ")),
            "status": run.status + (f": {run.error}" if run.error else ""),
            "devices": _devices(run, outcomes.get(run.id, [])),
        }
        for run in found
    ]


async def _set_enabled(schedule: CommandSchedule, enabled: bool, after: Refresh) -> None:
    """Enable or disable with the user's rights read again (the API's PATCH)."""
    user = await fresh_rights(Permission.COMMANDS_SEND)
    if user is None:
        return
    try:
        async with current().session() as session:
            await service.update_schedule(
                session=session, principal=user, schedule_id=schedule.id,
                data=ScheduleUpdate(enabled=enabled), settings=current().settings,
                now_ms=now_ms(),
            )  # fmt: skip
    except GridpilotError as error:
        ui.notify(error.message, type="negative", multi_line=True)
        return
    state = "enabled: it runs from its next time on" if enabled else "disabled"
    ui.notify(f"Schedule {schedule.name} {state}", type="positive")
    await after()


def _switch(schedule: CommandSchedule, after: Refresh) -> None:
    async def changed(event: object) -> None:
        await _set_enabled(schedule, bool(getattr(event, "value", False)), after)

    toggle = ui.switch("Enabled", value=schedule.enabled, on_change=changed)
    toggle.props(f"dense data-testid=schedule-enabled-{schedule.id}")
    if service.detached(schedule):
        toggle.disable()  # its group was deleted: it cannot run again


async def schedule_runs(
    user: Principal, schedules: list[CommandSchedule], labels: dict[int, str], after: Refresh
) -> None:
    """Per schedule: its switch (operators) and its latest runs, each device's outcome summed."""
    section("Runs", f"The latest {RUNS_SHOWN} runs of each schedule, at its local time")
    columns = [
        {"name": "when", "label": "Time (local)", "field": "when", "align": "left"},
        {"name": "trigger", "label": "Run", "field": "trigger", "align": "left"},
        {"name": "status", "label": "Status", "field": "status", "align": "left"},
        {"name": "devices", "label": "Devices", "field": "devices", "align": "left"},
    ]
    async with current().session() as session:
        for schedule in schedules:
            found = await runs.list_runs(session=session, schedule_id=schedule.id, limit=RUNS_SHOWN)
            outcomes = await runs.outcomes(
                session=session, principal=user, run_ids=[r.id for r in found]
            )
            box = ui.column().classes("w-full gap-1")
            with box.props(f"data-testid=schedule-runs-{schedule.id}"):
                with ui.row().classes("items-center gap-3"):
                    ui.label(schedule.name).classes("text-weight-medium")
                    ui.label(labels[schedule.id]).classes("text-caption text-grey-7")
                    if user.has(Permission.COMMANDS_SEND):
                        _switch(schedule, after)
                    else:
                        ui.label("enabled" if schedule.enabled else "disabled")
                if not found:
                    ui.label("No run yet.").classes("text-caption")
                    continue
                rows = _run_rows(schedule, found, outcomes)
                table = ui.table(columns=columns, rows=rows, row_key="id").classes("w-full")
                table.props("flat dense bordered wrap-cells")
