"""``/firmware``: firmware images and staged roll-outs (docs/firmware.md). Each roll-out shows
its state, paused reason and its waves' devices per state with the failure rate against the
threshold; ``/firmware/{id}`` lists each device's state and last report at its site's local
time. Both follow the bus (``firmware_rollout.updated``, ``firmware_device.updated``): an event
of a roll-out shown reloads the page within ``RELOAD_AFTER_S`` (a burst of device reports is one
reload, by the page's timer, never in the publisher's task), and a slow ``SAFETY_REFRESH_S``
timer covers events lost while the Redis bus reconnects. Operators pause and resume through
``firmware.service`` with their rights read again (``web/forms.py::act``), and the change is
published like the API's; viewers only read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.assets.service import list_sites
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core import events as catalogue
from gridpilot.core.errors import NotFound
from gridpilot.firmware import events, service
from gridpilot.firmware.models import FirmwareImage, FirmwareRolloutDevice
from gridpilot.firmware.schemas import RolloutOut
from gridpilot.web import firmware_view as view
from gridpilot.web.context import current
from gridpilot.web.forms import act, section
from gridpilot.web.layout import frame, painted, require_login

#: How often [s] an open page looks for firmware events to show (the reports arriving
#: meanwhile are in one reload; nothing is read without an event).
RELOAD_AFTER_S = 0.3
#: How often an open page reloads anyway while a roll-out is running or paused [s].
SAFETY_REFRESH_S = 30.0
FIRMWARE_TOPICS = (catalogue.FIRMWARE_ROLLOUT_UPDATED.name, catalogue.FIRMWARE_DEVICE_UPDATED.name)
WAVE_COLUMNS = [
    {"name": "wave", "label": "Wave", "field": "wave", "align": "left"},
    {"name": "devices", "label": "Devices", "field": "devices"},
    {"name": "pending", "label": "Pending", "field": "pending"},
    *({"name": s, "label": s.capitalize(), "field": s} for s in view.COUNTED),
    {"name": "failure", "label": "Failed / threshold", "field": "failure"},
]
Steer = Callable[[int, str], Awaitable[None]]
Refresh = Callable[[], Awaitable[None]]


def _state_badge(state: str) -> None:
    colour, icon = view.ROLLOUT_STATE.get(state, ("grey-7", "help"))
    with ui.badge(color=colour).classes("q-py-xs q-px-sm").props(f"data-testid=state-{state}"):
        ui.icon(icon).classes("q-mr-xs")
        ui.label(state)


def _rollout_card(user: Principal, rollout: RolloutOut, steer: Steer, link: bool) -> None:
    """State, image, progress, paused reason, the waves' table and the operator's button."""
    with ui.card().classes("w-full q-pa-sm gap-2").props(f"data-testid=rollout-{rollout.id}"):
        with ui.row().classes("w-full items-center gap-3"):
            _state_badge(rollout.state)
            if link:
                ui.link(rollout.name, f"/firmware/{rollout.id}").classes("text-subtitle1").props(
                    "data-testid=rollout-link"
                )
            else:
                ui.label(rollout.name).classes("text-h6")
            ui.label(f"image {rollout.version}").classes("font-mono")
            if user.has(Permission.CONFIGURE) and rollout.state in ("running", "paused"):
                verb = "pause" if rollout.state == "running" else "resume"
                icon = "pause" if verb == "pause" else "play_arrow"
                ui.button(verb.capitalize(), icon=icon,
                          on_click=lambda v=verb: steer(rollout.id, v)).props(
                    f"outline dense data-testid=rollout-{verb}"
                )  # fmt: skip
        target = f"group {rollout.group_id}" if rollout.group_id else "chosen devices"
        facts = [target, f"canary {rollout.canary_pct:g} %", f"waves of {rollout.wave_size}",
                 f"pauses above {rollout.max_failure_pct:g} % failed"]  # fmt: skip
        ui.label(view.progress(rollout)).classes("text-body2").props("data-testid=rollout-progress")
        ui.label(" \u00b7 ".join(facts)).classes("text-caption text-grey-7")
        if rollout.paused_reason:
            ui.label(f"Paused: {rollout.paused_reason}").classes("text-body2 text-orange-9").props(
                "data-testid=rollout-reason"
            )
        rows = [view.wave_row(w, rollout.max_failure_pct) for w in rollout.waves]
        table = ui.table(columns=WAVE_COLUMNS, rows=rows, row_key="id").classes("w-full")
        table.props("flat bordered dense data-testid=rollout-waves")
        table.add_slot("body-cell-failed", FAILED_CELL)
        table.add_slot("item", WAVE_CARD)
        table.props(f':grid="window.innerWidth < {PHONE_PX}"')


#: Below this width [px] each wave is a card of its counts (those not 0, and failed) instead
#: of a wide table row.
PHONE_PX = 600
WAVE_CARD = """<div class="q-pa-xs col-12" :data-testid="'wave-card-' + props.row.id">
  <q-card flat bordered>
    <q-card-section class="q-py-xs text-subtitle2">
      {{ props.row.wave }} &middot; {{ props.row.devices }} devices</q-card-section>
    <q-list dense>
      <q-item v-for="col in props.cols.filter(c => !['wave', 'devices'].includes(c.name)
                                   && (c.value !== 0 || c.name === 'failed'))" :key="col.name">
        <q-item-section><q-item-label caption>{{ col.label }}</q-item-label></q-item-section>
        <q-item-section side><q-item-label
          :class="col.name === 'failed' && col.value > 0 ? 'text-negative text-weight-bold' : ''">
          {{ col.value }}</q-item-label></q-item-section>
      </q-item>
    </q-list>
  </q-card>
</div>"""
#: The failed count in red when there is one.
FAILED_CELL = (
    "<q-td :props=\"props\" :class=\"props.value > 0 ? 'text-negative text-weight-bold' : ''\">"
    "{{ props.value }}</q-td>"
)


def _images(images: list[FirmwareImage]) -> None:
    section("Images", "Registered builds; hover the SHA-256 for all of it")
    if not images:
        ui.label("No firmware image registered (API: POST /api/v1/firmware/images).")
        return
    with ui.column().classes("w-full gap-1").props("data-testid=firmware-images"):
        for image in images:
            row = ui.row().classes("w-full items-baseline gap-x-3 gap-y-0")
            with row.props(f"data-testid=image-{image.id}"):
                ui.label(image.version).classes("font-mono text-weight-medium")
                fits = ", ".join(k.replace("_", " ") for k in image.kinds)
                fits += f" ({', '.join(image.models)})" if image.models else " (every model)"
                ui.label(fits).classes("text-body2")
                sha = ui.label(view.short_sha(image.sha256)).classes("font-mono select-all")
                sha.props("data-testid=image-sha").tooltip(f"SHA-256 {image.sha256}")
                if image.notes:
                    ui.label(image.notes).classes("text-caption text-grey-7")


class _Live:
    """An open firmware page kept up to date.

    Redraws run one after the other (each reads the database, then draws, before the next
    starts: a redraw that read before a change never draws after one that read it). A bus
    event the page ``shows`` reloads it within ``RELOAD_AFTER_S``, one reload for any number
    of events meanwhile, and none when every event says what is drawn already (the page's own
    pause or resume is redrawn at once: a second redraw would replace the buttons under the
    user's pointer for nothing).
    """

    def __init__(self, redraw: Refresh, shows: Callable[[dict[str, Any]], bool]) -> None:
        self._redraw, self._shows = redraw, shows
        self._lock = asyncio.Lock()
        self._pending: list[dict[str, Any]] = []
        #: What is drawn: roll-out id -> (state, current wave, paused reason) ...
        self.rollouts: dict[int, tuple[str, int, str | None]] = {}
        #: ... and (roll-out id, asset id) -> state of the devices drawn one by one.
        self.devices: dict[tuple[int, int], str] = {}

    def drew(self, rollout: RolloutOut) -> None:
        self.rollouts[rollout.id] = (rollout.state, rollout.current_wave, rollout.paused_reason)

    async def refresh(self) -> None:
        async with self._lock:
            await self._redraw()

    def _drawn(self, payload: dict[str, Any]) -> bool:
        rollout_id, asset_id = payload.get("rollout_id"), payload.get("asset_id")
        if not isinstance(rollout_id, int):
            return False
        if isinstance(asset_id, int):  # a device's step
            return self.devices.get((rollout_id, asset_id)) == payload.get("state")
        said = (payload.get("state"), payload.get("current_wave"), payload.get("paused_reason"))
        return self.rollouts.get(rollout_id) == said

    def follow(self) -> None:
        """Listen to the firmware events for as long as the page is open. The bus handler only
        notes the event; the page's own timer reloads (a redraw from another task would make
        buttons without the page's request, whose clicks then fail)."""

        async def on_event(_topic: str, payload: dict[str, Any]) -> None:
            if self._shows(payload):
                self._pending.append(payload)

        async def reload() -> None:
            if not self._pending:
                return
            async with self._lock:
                taken, self._pending = self._pending, []
                if not all(self._drawn(p) for p in taken):
                    await self._redraw()

        ui.timer(RELOAD_AFTER_S, reload)
        bus = current().bus
        for unsubscribe in [bus.subscribe(topic, on_event) for topic in FIRMWARE_TOPICS]:
            ui.context.client.on_delete(unsubscribe)


async def _steer(rollout_id: int, verb: str) -> bool:
    """Pause or resume; the roll-out's events go on the bus once committed, as from the API."""

    async def do(session: AsyncSession, fresh: Principal) -> list[events.Event]:
        call = service.pause if verb == "pause" else service.resume
        await call(session=session, principal=fresh, rollout_id=rollout_id)
        return events.take(session)

    done = "Roll-out paused" if verb == "pause" else "Roll-out resumed"
    noted = await act(do, need=Permission.CONFIGURE, done=done)
    if noted is None:
        return False
    await events.publish(current().bus, noted)
    return True


async def _list_page(user: Principal) -> None:
    ui.label(
        "Firmware images and their staged roll-outs: a canary, then waves; a wave failing "
        "above its threshold pauses the roll-out."
    ).classes("text-body2 opacity-80")
    listing = ui.column().classes("w-full gap-3").props("data-testid=firmware-rollouts")
    images_slot = ui.column().classes("w-full gap-1")

    async def redraw() -> None:
        async with current().session() as session:
            found = await service.list_rollouts(session=session, principal=user, limit=50, offset=0)
            shown = [await service.view(session=session, rollout=r) for r in found]
            images = await service.list_images(session=session, limit=100, offset=0)
        listing.clear()
        with listing:
            section(f"Roll-outs ({len(shown)})")
            if not shown:
                ui.label("No roll-out yet (API: POST /api/v1/firmware/rollouts).")
            for rollout in shown:
                _rollout_card(user, rollout, steer, link=True)
        images_slot.clear()
        with images_slot:
            _images(images)
        live.rollouts.clear()
        for rollout in shown:
            live.drew(rollout)
        timer.active = any(r.state in ("running", "paused") for r in shown)

    async def steer(rollout_id: int, verb: str) -> None:
        if await _steer(rollout_id, verb):
            await live.refresh()

    def shows(payload: dict[str, Any]) -> bool:
        """A roll-out listed, or a new one the user may see (a principal of all its sites)."""
        if payload.get("rollout_id") in live.rollouts:
            return True
        sites = payload.get("site_ids")
        return isinstance(sites, list) and all(user.can_see_site(s) for s in sites)

    live = _Live(redraw, shows)
    timer = ui.timer(SAFETY_REFRESH_S, live.refresh, active=False)
    await live.refresh()
    live.follow()


def _devices(devices: list[FirmwareRolloutDevice], names: dict[int, str], zones: dict) -> None:
    section("Devices", "Each device's state and its last report, at its site's local time")
    with ui.column().classes("w-full gap-1").props("data-testid=rollout-devices"):
        for d in devices:
            row = ui.row().classes("w-full items-baseline gap-x-3 gap-y-0")
            with row.props(f"data-testid=device-{d.asset_id}"):
                with ui.row().classes("w-64 no-wrap items-baseline gap-2"):
                    with ui.element("div").classes("w-24"):
                        ui.badge(d.state, color=view.DEVICE_STATE.get(d.state, "grey-7")).props(
                            f"data-testid=device-state-{d.state}"
                        )
                    name = names.get(d.asset_id, f"asset {d.asset_id}")
                    ui.label(name).classes("text-weight-medium")
                with ui.row().classes("no-wrap items-baseline gap-2"):
                    ui.label(view.wave_name(d.wave)).classes("text-caption text-grey-7 w-14")
                    ms = int(d.updated_at.timestamp() * 1000)
                    when = view.reported(ms, zones.get(d.site_id, "UTC"))
                    ui.label("not offered yet" if d.state == "pending" else when).classes(
                        "font-mono text-body2 w-48"
                    ).props("data-testid=device-reported")
                if d.reported_version:
                    ui.label(f"runs {d.reported_version}").classes("text-body2")
                if d.error:
                    ui.label(d.error).classes("text-caption text-negative")


async def _detail_page(user: Principal, rollout_id: int) -> None:
    body = ui.column().classes("w-full gap-3").props("data-testid=rollout-detail")

    async def redraw() -> None:
        try:
            async with current().session() as session:
                rollout = await service.get_rollout(
                    session=session, principal=user, rollout_id=rollout_id
                )
                shown = await service.view(session=session, rollout=rollout)
                devices = await service.list_devices(
                    session=session, principal=user, rollout_id=rollout_id
                )
                ids = [d.asset_id for d in devices]
                query = select(Asset.id, Asset.name).where(Asset.id.in_(ids))
                names = {int(i): str(n) for i, n in await session.execute(query)}
                zones = {s.id: s.timezone for s in await list_sites(session=session,
                                                                    principal=user)}  # fmt: skip
        except NotFound:
            body.clear()
            with body:
                ui.label(f"No roll-out {rollout_id} you may see.").props("data-testid=fw-missing")
            timer.active = False
            return
        body.clear()
        with body:
            _rollout_card(user, shown, steer, link=False)
            _devices(devices, names, zones)
        live.drew(shown)
        live.devices = {(rollout_id, d.asset_id): d.state for d in devices}
        timer.active = shown.state in ("running", "paused")

    async def steer(_rollout_id: int, verb: str) -> None:
        if await _steer(rollout_id, verb):
            await live.refresh()

    live = _Live(redraw, lambda payload: payload.get("rollout_id") == rollout_id)
    timer = ui.timer(SAFETY_REFRESH_S, live.refresh, active=False)
    await live.refresh()
    live.follow()


def register() -> None:
    @ui.page("/firmware")
    async def firmware_page() -> None:
        user = await require_login("/firmware")
        if user is None:
            return
        with frame(user, "Firmware"):
            await painted()  # the frame answers at once; the roll-outs follow
            await _list_page(user)

    @ui.page("/firmware/{rollout_id}")
    async def rollout_page(rollout_id: str) -> None:
        user = await require_login(f"/firmware/{rollout_id}")
        if user is None:
            return
        with frame(user, "Firmware roll-out"):
            await painted()
            ui.link("\u2190 All roll-outs", "/firmware").props("data-testid=fw-back")
            if not rollout_id.isdigit() or not 0 < int(rollout_id) < 2**31:
                ui.label(f"No roll-out {rollout_id} you may see.").props("data-testid=fw-missing")
                return
            await _detail_page(user, int(rollout_id))
