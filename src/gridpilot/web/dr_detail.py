"""The body of ``/dr/{id}``: an event's summary, figures, baseline vs actual vs target chart and
its dispatch (plan and each command's state), built from what the services answered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from nicegui import ui

from gridpilot.assets.models import Site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.dr import service
from gridpilot.dr.dispatch_schemas import DispatchOut
from gridpilot.dr.models import DrEvent
from gridpilot.web import dr_view as view
from gridpilot.web.forms import section
from gridpilot.web.layout import kpi_card
from gridpilot.web.numbers import UNKNOWN, local_clock, power


def status_badge(status: str) -> None:
    """The status with its colour and icon."""
    colour, icon, label = view.STATUS.get(status, ("grey-7", "help", status))
    with ui.badge(color=colour).classes("q-py-xs q-px-sm").props(f"data-testid=status-{status}"):
        ui.icon(icon).classes("q-mr-xs")
        ui.label(label)


def _summary(event: DrEvent, site: Site | None, zone: str) -> None:
    with ui.row().classes("w-full items-center gap-3"):
        status_badge(event.status)
        ui.label(site.name if site else f"site {event.site_id}").classes("text-h6")
    ui.label(view.window(event, zone)).classes("text-body1").props("data-testid=dr-window")
    facts = [f"source {event.source.replace('_', ' ')}", f"baseline {event.baseline_method}"]
    if event.external_id:
        facts.append(f"id {event.external_id}")
    if event.opted_out:
        facts.append("opted out")
    ui.label(" \u00b7 ".join(facts)).classes("text-caption text-grey-7")
    if event.status_reason:
        ui.label(event.status_reason).classes("text-body2").props("data-testid=dr-reason")


def _figures(event: DrEvent, rows: Sequence[view.Interval]) -> None:
    stats = view.interval_stats(rows)
    pct = event.performance_pct
    known = [r.reduction_kw for r in rows if r.reduction_kw is not None]
    so_far = pct is None and bool(known) and event.target_reduction_kw > 0
    if so_far:  # while it runs: the measured intervals' mean against the target
        pct = 100 * sum(known) / len(known) / event.target_reduction_kw
    with ui.row().classes("w-full gap-3"):
        kpi_card("Target reduction", power(event.target_reduction_kw), "dr-target",
                 f"below the baseline, {view.interval_stats(rows)['measured'].split()[-1]} "
                 "intervals of 15 min")  # fmt: skip
        kpi_card("Reduction so far", stats["mean"], "dr-mean", f"mean of {stats['measured']} "
                 "intervals measured")  # fmt: skip
        kpi_card("Energy reduced", stats["reduced"], "dr-energy", "baseline - actual, so far")
        kpi_card(
            "Performance",
            UNKNOWN if pct is None else f"{pct:,.0f} %",
            "dr-performance",
            f"of the target{' so far' if so_far else ''}; pass at {event.pass_pct:g} %",
        )


def _dispatch(plan: DispatchOut | None, zone: str, status: str) -> None:
    section("Dispatch", "How the site's flexible resources carry the reduction")
    if plan is None:
        text = (
            "Not dispatched yet: the plan is made when the event starts."
            if status in service.OPEN
            else "Not dispatched: no plan was made for this event."
        )
        ui.label(text).props("data-testid=dr-no-dispatch")
        return
    with ui.column().classes("w-full gap-1").props("data-testid=dr-dispatch"):
        ui.label(
            f"{plan.status.replace('_', ' ')} \u00b7 planned {power(plan.planned_kw)} \u00b7 "
            f"shortfall {power(plan.shortfall_kw)} \u00b7 cost {plan.cost_eur:,.2f} EUR"
            + (f" \u00b7 pre-event {power(plan.pre_event_kw)}" if plan.pre_event_kw else "")
        ).classes("text-body2")
        for note in plan.notes:
            ui.label(note).classes("text-caption text-grey-7")
        for step in plan.steps:
            start_ms = int(step.start.timestamp() * 1000)
            end_ms = int(step.end.timestamp() * 1000)
            with (
                ui.row()
                .classes("w-full items-center gap-x-3 gap-y-0")
                .props(f"data-testid=dr-step-{step.id}")
            ):
                ui.badge(step.state, color=view.COMMAND_COLOURS.get(step.state, "grey-7"))
                ui.label(f"{local_clock(start_ms, zone)[:5]}\u2013{local_clock(end_ms, zone)}")
                ui.label(f"{step.resource} ({step.phase})").classes("text-weight-medium")
                command = step.command_kind or "no command"
                params = ", ".join(f"{k} {v}" for k, v in step.command_params.items())
                ui.label(f"{command} {params}".strip() + f" \u00b7 {power(step.reduction_kw)}")
                if step.detail:
                    ui.label(step.detail).classes("text-caption text-grey-7")


def event_head(
    user: Principal,
    event: DrEvent,
    rows: Sequence[view.Interval],
    site: Site | None,
    cancel: Callable[[], Awaitable[None]],
) -> None:
    """Summary and figures; the cancel button only for operators while the event is open."""
    zone = site.timezone if site else "UTC"
    _summary(event, site, zone)
    if event.status in service.OPEN and user.has(Permission.CONFIGURE):
        ui.button("Cancel event", icon="block", on_click=cancel).props(
            "outline color=negative data-testid=dr-cancel"
        )
    _figures(event, rows)


def event_dispatch(plan: DispatchOut | None, site: Site | None, status: str) -> None:
    _dispatch(plan, site.timezone if site else "UTC", status)
