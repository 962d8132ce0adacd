"""``/dr``: demand-response events (active, upcoming, past) and each site's flexible resources;
operators create a test event. ``/dr/{id}``: one event's baseline vs actual vs target per
interval, its performance and its dispatch, live while it runs: both pages follow the bus, not
a reload timer: ``dr_event.updated`` (created, status changed: read again),
``dr_event.performance`` (intervals measured: the chart and figures are updated from the message
itself) and, on the event's page, ``command.updated`` of its site (the dispatch's command
states: read again).

As on the firmware page, a bus handler only notes what arrived (``_Pending``); the page's own
``ui.timer`` applies it within ``APPLY_AFTER_S``, so nothing is drawn from the publisher's task
(elements made there, outside the page's request, do not answer clicks). The event's page
updates its elements in place (``web/dr_detail.py``): its cancel button is made once.

Everything goes through the services the API calls (``dr.service``, ``dr.dispatch``,
``flex.service``); creating and cancelling run with the user's rights read again
(``web/forms.py::act``) and publish the same ``dr_event.updated`` as the API.
"""

from __future__ import annotations

import math
from typing import Any

from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Site
from gridpilot.assets.service import list_sites
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core import events as catalogue
from gridpilot.core.errors import NotFound
from gridpilot.core.timestamps import from_ms, now_ms
from gridpilot.dr import dispatch, events, service
from gridpilot.dr.baseline import METHODS
from gridpilot.dr.models import DrEvent
from gridpilot.dr.schemas import DrEventCreate
from gridpilot.flex import service as flex
from gridpilot.web import dr_view as view
from gridpilot.web.context import current
from gridpilot.web.dr_detail import EventDispatch, EventHead, status_badge
from gridpilot.web.forms import Form, act, confirm, section
from gridpilot.web.layout import frame, painted, require_login

#: Sites whose flexible resources are listed (the first ones the user may see).
RESOURCE_SITES = 50
QUARTER_MS = 900_000
DURATIONS_MIN = (15, 30, 45, 60, 90, 120, 180, 240)


def _event_card(event: DrEvent, site: Site | None) -> None:
    zone = site.timezone if site else "UTC"
    with ui.card().classes("w-full q-pa-sm").props(f"data-testid=dr-event-{event.id}"):
        with ui.row().classes("w-full items-center gap-3"):
            status_badge(event.status)
            ui.link(site.name if site else f"site {event.site_id}", f"/dr/{event.id}").classes(
                "text-subtitle1"
            ).props("data-testid=dr-event-link")
        ui.label(view.window(event, zone)).classes("text-body2")
        ui.label(view.performance(event)).classes("text-body2 text-grey-7")


async def _load(user: Principal, site_id: int | None) -> tuple[list[DrEvent], dict[int, Site]]:
    async with current().session() as session:
        sites = {s.id: s for s in await list_sites(session=session, principal=user)}
        found = await service.list_events(
            session=session, principal=user, site_id=site_id, limit=200
        )
    return found, sites


def _groups(container: ui.column, found: list[DrEvent], sites: dict[int, Site]) -> None:
    grouped = view.group(found)
    container.clear()
    with container:
        for title, items, mark in (
            ("Active", grouped.active, "active"),
            ("Upcoming", grouped.upcoming, "upcoming"),
            ("Past", grouped.past[:30], "past"),
        ):
            with ui.column().classes("w-full gap-2").props(f"data-testid=dr-{mark}"):
                section(f"{title} ({len(items)})")
                if not items:
                    ui.label("None.").classes("text-grey-7")
                for event in items:
                    _event_card(event, sites.get(event.site_id))


def _start_ms(minutes: float) -> int:
    """The first 15-min boundary at least ``minutes`` from now."""
    at = now_ms() + int(minutes * 60_000)
    return -(-at // QUARTER_MS) * QUARTER_MS


def _number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not math.isnan(value) else None


def _create_form(user: Principal, sites: dict[int, Site], on_done: Any) -> None:
    """The operator's test event: site, start in N minutes, duration, target, method."""
    names = {s.id: s.name for s in sites.values()}
    with (
        ui.expansion("Create a test event", icon="add")
        .classes("w-full")
        .props("data-testid=dr-create")
    ):
        with ui.row().classes("w-full items-start gap-3"):
            site = ui.select(names, label="Site", value=next(iter(names), None)).classes(
                "w-64 max-w-full"
            )
            starts = ui.number("Starts in [min]", value=10, min=0, max=1440, step=5)
            duration = ui.select(list(DURATIONS_MIN), value=60, label="Duration [min]")
            target = ui.number("Target reduction [kW]", value=10, step=1)
            method = ui.select(list(METHODS), value="caiso_10in10", label="Baseline method")
        for element, mark in ((site, "site"), (starts, "starts"), (duration, "duration"),
                              (target, "target"), (method, "method")):  # fmt: skip
            element.props(f"data-testid=dr-new-{mark}").classes("min-w-[9rem]")
        fields = {"facility_id": site, "event_start": starts, "event_end": duration,
                  "target_reduction_kw": target, "baseline_method": method}  # fmt: skip
        form = Form(fields, "dr-new")

        async def create(session: AsyncSession, fresh: Principal) -> DrEvent:
            start = _start_ms(_number(starts.value) or 0)
            minutes = int(duration.value or 0)
            data = DrEventCreate.model_validate({
                "facility_id": site.value, "event_start": from_ms(start).isoformat(),
                "event_end": from_ms(start + minutes * 60_000).isoformat(),
                "target_reduction_kw": _number(target.value), "baseline_method": method.value,
            })  # fmt: skip
            start_ms, end_ms = data.window_ms()
            new = service.NewEvent(
                site_id=data.facility_id, start_ms=start_ms, end_ms=end_ms,
                method=data.baseline_method, target_reduction_kw=data.target_reduction_kw,
                created_by=fresh.subject,
            )  # fmt: skip
            event, _ = await service.create_event(session=session, principal=fresh, new=new)
            return event

        async def submit() -> None:
            made = await act(create, need=Permission.CONFIGURE, form=form, done="Event created")
            if made is not None:
                await events.publish(current().bus, [events.changed(made, None, now_ms())])
                await on_done()

        ui.button("Create", on_click=submit).props("unelevated data-testid=dr-new-save")


async def _resources(user: Principal, sites: dict[int, Site]) -> None:
    """Each site's flexible resources (sites without any are left out)."""
    shown = 0
    async with current().session() as session:
        for site in list(sites.values())[:RESOURCE_SITES]:
            found = await flex.list_resources(session=session, site_id=site.id, principal=user)
            if not found:
                continue
            shown += 1
            with ui.card().classes("w-full q-pa-sm").props(f"data-testid=flex-site-{site.id}"):
                ui.label(site.name).classes("text-subtitle2")
                for r in found:
                    with ui.row().classes("w-full items-baseline gap-x-2 gap-y-0"):
                        ui.label(r.name).classes("text-weight-medium")
                        ui.label(r.kind.replace("_", " ")).classes("text-caption text-grey-7")
                        ui.label(view.resource_line(r)).classes("text-body2")
    if not shown:
        ui.label("No site has flexible resources (API: /api/v1/sites/{id}/flex/resources).")


#: How often [s] an open page applies the bus events noted meanwhile (nothing runs without one).
APPLY_AFTER_S = 0.3


class _Pending:
    """What the bus said since the page last looked: handlers note, the page's timer applies."""

    def __init__(self) -> None:
        self.reload = False  # read the event (and list) again
        self.dispatch = False  # read the dispatch again
        self.measured: list[dict[str, Any]] = []  # dr_event.performance payloads

    def take(self) -> tuple[bool, bool, list[dict[str, Any]]]:
        taken = (self.reload, self.dispatch, self.measured)
        self.reload, self.dispatch, self.measured = False, False, []
        return taken


def _follow(topics: dict[str, Any], apply: Any) -> None:
    """Subscribe the handlers (which only note) for as long as the page is open, and apply what
    they noted from the page's own timer."""
    ui.timer(APPLY_AFTER_S, apply)
    bus = current().bus
    for unsubscribe in [bus.subscribe(topic, handler) for topic, handler in topics.items()]:
        ui.context.client.on_delete(unsubscribe)


async def _list_page(user: Principal) -> None:
    _, sites = await _load(user, None)
    choices: dict[int, str] = {0: "All sites", **{s.id: s.name for s in sites.values()}}
    chosen = ui.select(choices, value=0, label="Site").classes("w-72 max-w-full")
    chosen.props("data-testid=dr-site")
    form_slot = ui.column().classes("w-full")
    listing = ui.column().classes("w-full gap-4").props("data-testid=dr-events")
    pending = _Pending()

    async def refresh() -> None:
        found, known = await _load(user, int(chosen.value) or None)
        _groups(listing, found, known)

    chosen.on_value_change(refresh)
    if user.has(Permission.CONFIGURE):
        with form_slot:
            _create_form(user, sites, refresh)
    await refresh()
    section("Flexible resources", "What dispatch may use on each site (the flex service)")
    await _resources(user, sites)

    async def on_event(_topic: str, payload: dict[str, Any]) -> None:
        if user.can_see_site(int(payload.get("site_id") or 0)):
            pending.reload = True

    async def apply() -> None:
        if pending.take()[0]:
            await refresh()

    _follow({catalogue.DR_EVENT_UPDATED.name: on_event,
             catalogue.DR_EVENT_PERFORMANCE.name: on_event}, apply)  # fmt: skip


async def _detail_page(user: Principal, event_id: int) -> None:
    page = _EventDetail(user, event_id)
    await page.refresh()
    _follow({catalogue.DR_EVENT_UPDATED.name: page.on_event,
             catalogue.DR_EVENT_PERFORMANCE.name: page.on_measured,
             catalogue.COMMAND_UPDATED.name: page.on_command}, page.apply)  # fmt: skip


class _EventDetail:
    """One event's page: head, baseline/target/actual chart and dispatch, kept current from
    the bus (the handlers note in ``pending``, ``apply`` reads what they noted)."""

    def __init__(self, user: Principal, event_id: int) -> None:
        self.user, self.event_id = user, event_id
        self.shown: dict[str, Any] = {}  # event, rows, site: what the page shows now
        self.pending = _Pending()
        self.missing = ui.label(f"No DR event {event_id} you may see.").props(
            "data-testid=dr-missing"
        )
        self.missing.set_visibility(False)
        with ui.column().classes("w-full gap-4").props("data-testid=dr-detail") as self.body:
            self.head = EventHead(user, self.cancel)
            hint = "Average power per 15 min [kW] of the site's consumption, in the site's time"
            section("Baseline, target and actual", hint)
            self.chart = ui.echart(view.event_chart([], "UTC")).classes("w-full h-72")
            self.chart.props("data-testid=dr-chart")
            with ui.column().classes("w-full gap-2"):
                self.tail = EventDispatch()

    async def cancel(self) -> None:
        event_id = self.event_id

        async def do(session: AsyncSession, fresh: Principal) -> tuple[DrEvent, str]:
            event = await service.get_event(session=session, principal=fresh, event_id=event_id)
            previous = await service.cancel_event(
                session=session, event=event, reason="cancelled on the dashboard",
                actor=fresh.subject, at_ms=now_ms(),
            )  # fmt: skip
            return event, previous

        async def go() -> None:
            done = await act(do, need=Permission.CONFIGURE, done="Event cancelled")
            if done is not None:
                await events.publish(current().bus, [events.changed(done[0], done[1], now_ms())])
                await self.refresh()

        confirm("Cancel this event?", "Dispatch stops and the site's commands are restored.",
                go, "Cancel event")  # fmt: skip

    def render(self) -> None:
        """Head and chart from what the page holds (no database), in place."""
        event, rows, site = self.shown["event"], self.shown["rows"], self.shown["site"]
        self.head.show(event, rows, site)
        self.chart.options.clear()
        self.chart.options.update(view.event_chart(rows, site.timezone if site else "UTC"))
        self.chart.update()

    async def dispatch_part(self) -> None:
        async with current().session() as session:
            plan = await dispatch.dispatch_of(session=session, event_id=self.event_id)
        self.tail.show(plan, self.shown["site"], self.shown["event"].status)

    async def refresh(self) -> None:
        try:
            async with current().session() as session:
                event = await service.get_event(session=session, principal=self.user,
                                                event_id=self.event_id)  # fmt: skip
                rows = await service.intervals(session=session, event_id=event.id)
                sites = {s.id: s for s in await list_sites(session=session, principal=self.user)}
        except NotFound:
            self.body.set_visibility(False)
            self.missing.set_visibility(True)
            return
        self.shown.update(event=event, rows=view.intervals_of(rows), site=sites.get(event.site_id))
        self.render()
        await self.dispatch_part()

    async def on_event(self, _topic: str, payload: dict[str, Any]) -> None:
        if int(payload.get("event_id") or 0) == self.event_id:
            self.pending.reload = True

    async def on_measured(self, _topic: str, payload: dict[str, Any]) -> None:
        if int(payload.get("event_id") or 0) == self.event_id:
            self.pending.measured.append(payload)

    async def on_command(self, _topic: str, payload: dict[str, Any]) -> None:
        event = self.shown.get("event")
        if event is not None and payload.get("site_id") == event.site_id:
            self.pending.dispatch = True

    async def apply(self) -> None:
        reload, again, measured = self.pending.take()
        if reload:
            await self.refresh()  # reads the intervals and the dispatch too
            return
        rows = self.shown.get("rows")
        if rows is not None and any([view.apply_measured(rows, p) for p in measured]):
            self.render()
        if again and "event" in self.shown:
            await self.dispatch_part()


def register() -> None:
    @ui.page("/dr")
    async def dr_page() -> None:
        user = await require_login("/dr")
        if user is None:
            return
        with frame(user, "Demand response"):
            await painted()  # the frame answers at once; the events follow
            await _list_page(user)

    @ui.page("/dr/{event_id}")
    async def dr_event_page(event_id: str) -> None:
        user = await require_login(f"/dr/{event_id}")
        if user is None:
            return
        with frame(user, "Demand response event"):
            await painted()
            ui.link("\u2190 All events", "/dr").props("data-testid=dr-back")
            if not event_id.isdigit() or not 0 < int(event_id) < 2**31:
                ui.label(f"No DR event {event_id} you may see.").props("data-testid=dr-missing")
                return
            await _detail_page(user, int(event_id))
