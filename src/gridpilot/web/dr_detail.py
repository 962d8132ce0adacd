"""The body of ``/dr/{id}``: an event's summary, figures and its dispatch (plan and each
command's state). ``EventHead`` and ``EventDispatch`` are built once in the page's own context
and updated in place from what the services answered (``show``): a live update changes texts,
visibility and table rows, never makes elements again (buttons made outside the page's
request, from a bus handler's task, do not answer clicks)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from nicegui import ui

from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.dr import service
from gridpilot.dr.dispatch_schemas import DispatchOut, DispatchStepOut
from gridpilot.dr.models import DrEvent
from gridpilot.web import dr_view as view
from gridpilot.web.forms import section
from gridpilot.web.numbers import UNKNOWN, local_clock, power


def status_badge(status: str) -> None:
    """The status with its colour and icon."""
    colour, icon, label = view.STATUS.get(status, ("grey-7", "help", status))
    with ui.badge(color=colour).classes("q-py-xs q-px-sm").props(f"data-testid=status-{status}"):
        ui.icon(icon).classes("q-mr-xs")
        ui.label(label)


class _Badge:
    """A status badge updated in place (colour, icon, words, test id)."""

    def __init__(self) -> None:
        self.badge = ui.badge().classes("q-py-xs q-px-sm")
        with self.badge:
            self.icon = ui.icon("help").classes("q-mr-xs")
            self.label = ui.label()

    def show(self, status: str) -> None:
        colour, icon, label = view.STATUS.get(status, ("grey-7", "help", status))
        self.badge.set_background_color(colour)
        self.badge.props(f"data-testid=status-{status}")
        self.icon.set_name(icon)
        self.label.set_text(label)


def _figure(label: str, mark: str) -> tuple[ui.label, ui.label]:
    """One figure card (as ``layout.kpi_card`` draws it): its value and hint labels."""
    with ui.card().classes("min-w-[9rem] grow basis-36").props(f"data-testid=kpi-{mark}"):
        ui.label(label).classes("text-caption text-grey-7")
        value = ui.label(UNKNOWN).classes("text-h6").props(f"data-testid=kpi-{mark}-value")
        hint = ui.label().classes("text-caption text-grey-6")
    return value, hint


class EventHead:
    """The summary and figures of ``/dr/{id}``, built once in the page and updated in place by
    ``show`` (no element is made again: the cancel button the user clicks is the page's own,
    shown only to operators while the event is open)."""

    def __init__(self, user: Principal, cancel: Callable[[], Awaitable[None]]) -> None:
        with ui.row().classes("w-full items-center gap-3"):
            self.status = _Badge()
            self.site = ui.label().classes("text-h6")
        self.window = ui.label().classes("text-body1").props("data-testid=dr-window")
        self.facts = ui.label().classes("text-caption text-grey-7")
        self.reason = ui.label().classes("text-body2").props("data-testid=dr-reason")
        self.cancel: ui.button | None = None
        if user.has(Permission.CONFIGURE):
            self.cancel = ui.button("Cancel event", icon="block", on_click=cancel).props(
                "outline color=negative data-testid=dr-cancel"
            )
        with ui.row().classes("w-full gap-3"):
            self.figures = {
                mark: _figure(label, mark)
                for label, mark in (("Target reduction", "dr-target"),
                                    ("Reduction so far", "dr-mean"),
                                    ("Energy reduced", "dr-energy"),
                                    ("Performance", "dr-performance"))
            }  # fmt: skip

    def show(self, event: DrEvent, rows: Sequence[view.Interval], site: Site | None) -> None:
        zone = site.timezone if site else "UTC"
        self.status.show(event.status)
        self.site.set_text(site.name if site else f"site {event.site_id}")
        self.window.set_text(view.window(event, zone))
        facts = [f"source {event.source.replace('_', ' ')}", f"baseline {event.baseline_method}"]
        if event.external_id:
            facts.append(f"id {event.external_id}")
        if event.opted_out:
            facts.append("opted out")
        self.facts.set_text(" \u00b7 ".join(facts))
        self.reason.set_text(event.status_reason or "")
        self.reason.set_visibility(bool(event.status_reason))
        if self.cancel is not None:
            self.cancel.set_visibility(event.status in service.OPEN)
        self._figures(event, rows)

    def _figures(self, event: DrEvent, rows: Sequence[view.Interval]) -> None:
        stats = view.interval_stats(rows)
        pct = event.performance_pct
        known = [r.reduction_kw for r in rows if r.reduction_kw is not None]
        so_far = pct is None and bool(known) and event.target_reduction_kw > 0
        if so_far:  # while it runs: the measured intervals' mean against the target
            pct = 100 * sum(known) / len(known) / event.target_reduction_kw
        shown = {
            "dr-target": (power(event.target_reduction_kw), f"below the baseline, "
                          f"{stats['measured'].split()[-1]} intervals of 15 min"),
            "dr-mean": (stats["mean"], f"mean of {stats['measured']} intervals measured"),
            "dr-energy": (stats["reduced"], "baseline - actual, so far"),
            "dr-performance": (UNKNOWN if pct is None else f"{pct:,.0f} %",
                               f"of the target{' so far' if so_far else ''}; "
                               f"pass at {event.pass_pct:g} %"),
        }  # fmt: skip
        for mark, (value, hint) in shown.items():
            self.figures[mark][0].set_text(value)
            self.figures[mark][1].set_text(hint)


STEP_COLUMNS = [
    {"name": "state", "label": "State", "field": "state", "align": "left"},
    {"name": "when", "label": "When", "field": "when", "align": "left"},
    {"name": "resource", "label": "Resource", "field": "resource", "align": "left"},
    {"name": "command", "label": "Command", "field": "command", "align": "left"},
    {"name": "detail", "label": "Detail", "field": "detail", "align": "left"},
]
_STATE_CELL = (
    '<q-td :props="props"><q-badge :color="props.row.colour" :label="props.value" /></q-td>'
)


class EventDispatch:
    """The dispatch part of ``/dr/{id}`` (plan and each command's state), built once and
    updated in place by ``show``: its steps are the rows of one table."""

    def __init__(self) -> None:
        section("Dispatch", "How the site's flexible resources carry the reduction")
        self.none = ui.label().props("data-testid=dr-no-dispatch")
        with ui.column().classes("w-full gap-1").props("data-testid=dr-dispatch") as self.part:
            self.summary = ui.label().classes("text-body2")
            self.notes = ui.label().classes("text-caption text-grey-7 whitespace-pre-line")
            self.steps = ui.table(columns=STEP_COLUMNS, rows=[], row_key="id").classes("w-full")
            self.steps.props("flat dense data-testid=dr-steps")
            self.steps.add_slot("body-cell-state", _STATE_CELL)

    def show(self, plan: DispatchOut | None, site: Site | None, status: str) -> None:
        zone = site.timezone if site else "UTC"
        self.none.set_visibility(plan is None)
        self.part.set_visibility(plan is not None)
        if plan is None:
            self.none.set_text(
                "Not dispatched yet: the plan is made when the event starts."
                if status in service.OPEN
                else "Not dispatched: no plan was made for this event."
            )
            return
        self.summary.set_text(
            f"{plan.status.replace('_', ' ')} \u00b7 planned {power(plan.planned_kw)} \u00b7 "
            f"shortfall {power(plan.shortfall_kw)} \u00b7 cost {plan.cost_eur:,.2f} EUR"
            + (f" \u00b7 pre-event {power(plan.pre_event_kw)}" if plan.pre_event_kw else "")
        )
        self.notes.set_text("\n".join(plan.notes))
        self.steps.rows[:] = [_step_row(step, zone) for step in plan.steps]
        self.steps.update()


def _step_row(step: DispatchStepOut, zone: str) -> dict[str, Any]:
    start_ms = int(step.start.timestamp() * 1000)
    end_ms = int(step.end.timestamp() * 1000)
    params = ", ".join(f"{k} {v}" for k, v in step.command_params.items())
    command = f"{step.command_kind or 'no command'} {params}".strip()
    return {
        "id": step.id,
        "state": step.state,
        "colour": view.COMMAND_COLOURS.get(step.state, "grey-7"),
        "when": f"{local_clock(start_ms, zone)[:5]}\u2013{local_clock(end_ms, zone)}",
        "resource": f"{step.resource} ({step.phase})",
        "command": f"{command} \u00b7 {power(step.reduction_kw)}",
        "detail": step.detail or "",
    }
