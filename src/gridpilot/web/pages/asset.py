"""``/assets/{id}``: status, latest values, live power, and device commands (operator+).

Commands go through ``control.service.queue_command`` like ``POST /assets/{id}/commands``; the
history follows ``command.updated`` events, so a state change shows without reloading.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import app as gui
from nicegui import ui
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.assets.service import get_asset, list_metrics, sites_by_id
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.auth.service import subject_names
from gridpilot.control import service as control
from gridpilot.control.events import publish_command_changes
from gridpilot.control.kinds import KINDS
from gridpilot.control.models import Command
from gridpilot.control.status import StatusView
from gridpilot.core import events as catalogue
from gridpilot.core.errors import GridpilotError, NotFound
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.data import load_series
from gridpilot.telemetry.service import latest_values
from gridpilot.web.charts import (
    break_gaps,
    lone_visible,
    mark_lone,
    on_site_clock,
    plain,
    points,
    time_chart,
    usual_gap_ms,
    wall_ms,
)
from gridpilot.web.context import current
from gridpilot.web.figures import since_label, statuses_in
from gridpilot.web.layout import frame, painted, require_login, retitle
from gridpilot.web.numbers import local_datetime, measured
from gridpilot.web.palette import asset_colour

#: The parameter each command kind asks for in the form: (name, label) or None.
PARAM_FIELD: dict[str, tuple[str, str] | None] = {
    "set_power_limit": ("limit_kw", "Limit [kW]"),
    "setpoint": ("power_kw", "Power setpoint [kW]"),
    "charge": ("power_kw", "Charging power [kW]"),
    "discharge": ("power_kw", "Discharging power [kW]"),
    "start": None,
    "stop": None,
}
HISTORY = 20
#: The command table's columns: (field, heading).
COMMAND_COLUMNS = (
    ("id", "#"),
    ("kind", "Command"),
    ("params", "Parameters"),
    ("state", "State"),
    ("created", "Sent"),
    ("by", "By"),
)
MINUTE_MS = 60_000
#: A status's badge colour.
STATUS_COLOURS = {"online": "positive", "offline": "negative"}
#: Why an asset is offline, in words.
REASONS = {
    "lwt": "device said so",
    "stale": "no data",
    "stopped": "stopped",
    "error": "device reported an error",
}


def param_text(kind: str, key: str, value: Any) -> str:
    """A command's parameter as the form names it: ``Limit 150 kW`` (not ``limit_kw=150``)."""
    field = PARAM_FIELD.get(kind)
    label = field[1] if field and field[0] == key else key.replace("_", " ").capitalize()
    name, _, unit = label.partition(" [")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = f"{value:,.10g}"  # 150.0: 150
    return f"{name} {value} {unit.rstrip(']')}" if unit else f"{name} {value}"


def _command_rows(
    commands: list[Command], timezone: str, names: dict[str, str]
) -> list[dict[str, Any]]:
    """The command table's rows: times in the site's zone, people by their user name."""
    return [
        {
            "id": c.id,
            "kind": c.kind.replace("_", " "),
            "params": ", ".join(param_text(c.kind, k, v) for k, v in (c.params or {}).items()),
            "state": c.state,
            "created": local_datetime(c.created_ms, timezone),
            "by": names.get(c.created_by, c.created_by),
        }
        for c in commands
    ]


async def _history_in(session: AsyncSession, asset: Asset, zone: str) -> list[dict[str, Any]]:
    commands = await control.list_commands(session=session, asset_id=asset.id, limit=HISTORY)
    names = await subject_names(session=session, subjects={c.created_by for c in commands})
    return _command_rows(commands, zone, names)


async def _history(asset: Asset, zone: str) -> list[dict[str, Any]]:
    async with current().session() as session:
        return await _history_in(session, asset, zone)


def _gap_ms(asset: Asset) -> int:
    """Longer than this between two readings is a gap the live chart shows [ms]."""
    return max(2 * int((asset.expected_interval_s or 0) * 1000), 2 * MINUTE_MS)


async def _recent_power(
    session: AsyncSession, user: Principal, asset: Asset
) -> list[list[float | None]]:
    """The last hour of power at 1-minute averages, the start of the live chart (gaps broken)."""
    end = now_ms() + MINUTE_MS
    power = await load_series(
        session=session,
        asset_id=asset.id,
        metric="power_kw",
        start_ms=end - 3_600_000,
        end_ms=end,
        step_ms=MINUTE_MS,
        principal=user,
    )
    known = [p for p in points(power) if p[1] is not None]
    return break_gaps(known, usual_gap_ms(known, _gap_ms(asset)))


@dataclass(frozen=True)
class AssetData:
    """Everything the page shows of an asset, read in one session."""

    asset: Asset
    latest: dict[str, Any]
    zone: str
    state: StatusView
    #: Per metric key: a short name from the catalogue's description and the unit.
    metrics: dict[str, tuple[str, str]]
    recent: list[list[float | None]]
    history: list[dict[str, Any]]


async def _load(user: Principal, asset_id: int) -> AssetData:
    """The asset page's data in one session (``NotFound`` when the user may not see it)."""
    async with current().session() as session:
        asset = await get_asset(session=session, asset_id=asset_id, principal=user)
        latest = await latest_values(session=session, asset_id=asset_id)
        site = (await sites_by_id(session=session, site_ids=[asset.site_id])).get(asset.site_id)
        zone = site.timezone if site else "UTC"
        state = (await statuses_in(session, [asset]))[asset.id]
        metrics = {
            m.key: ((m.description or m.key).split(" (")[0], m.unit)
            for m in await list_metrics(session=session)
        }
        recent = await _recent_power(session, user, asset)
        history = await _history_in(session, asset, zone)
    return AssetData(asset, latest, zone, state, metrics, recent, history)


def status_text(status: str, reason: str | None) -> str:
    """``online``; ``offline · stopped`` (the reason of an offline status, in words)."""
    if status != "offline" or not reason:
        return status
    return f"offline · {REASONS.get(reason, reason)}"


def _command_form(user: Principal, asset: Asset, on_sent: Any) -> None:
    with ui.card().classes("w-full").props("data-testid=command-panel"):
        ui.label("Send a command").classes("text-subtitle1")
        with ui.row().classes("items-end gap-3"):
            choices = {k: k.replace("_", " ").capitalize() for k in KINDS}
            kind = ui.select(choices, value="set_power_limit", label="Command").classes("w-48")
            value = ui.number("Limit [kW]", min=0).props("data-testid=command-value")

            def relabel() -> None:
                field = PARAM_FIELD.get(kind.value)
                value.set_visibility(field is not None)
                if field is not None:
                    value.props(f'label="{field[1]}"')

            kind.on_value_change(relabel)

            async def send() -> None:
                field = PARAM_FIELD.get(kind.value)
                params = {} if field is None else {field[0]: value.value}
                context = current()
                try:
                    async with context.session() as session:
                        _command, change = await control.queue_command(
                            session=session,
                            asset=asset,
                            principal=user,
                            kind=kind.value,
                            params=params,
                            settings=context.settings,
                        )
                except GridpilotError as error:
                    ui.notify(str(error), type="negative", multi_line=True)
                    return
                if change is not None:
                    await publish_command_changes(context.bus, [change])
                ui.notify(f"{choices[kind.value]} command queued", type="positive")
                await on_sent()

            ui.button("Send", icon="send", on_click=send).props("data-testid=send-command")


def _status_row(data: AssetData) -> Callable[[dict[str, Any]], None]:
    """The status badge and last-seen label; returns what follows ``asset.status`` events."""
    with ui.row().classes("items-center gap-4"):
        badge = ui.badge().props("data-testid=asset-status")
        seen = ui.label()
        ui.link("back to the site", f"/sites/{data.asset.site_id}")

    def show(status: str, reason: str | None, last_seen_ms: int | None) -> None:
        badge.set_text(status_text(status, reason))
        badge.props(f"color={STATUS_COLOURS.get(status, 'grey')}")
        seen.set_text(f"last seen {since_label(last_seen_ms)}")

    state = data.state
    show(state.status, state.reason, state.last_seen_ms)

    def on_status(payload: dict[str, Any]) -> None:
        show(str(payload.get("status")), payload.get("reason"), payload.get("last_seen_ms"))

    return on_status


def _live_chart(data: AssetData) -> ui.echart:
    with ui.card().classes("w-full"):
        ui.label("Live power").classes("text-subtitle1")
        # on the site's wall clock, as the command times below (whatever the browser's)
        options = on_site_clock(lone_visible(time_chart({"Active power": data.recent})), data.zone)
        # the colour of the asset's flow, as in the site's charts
        dark = bool(gui.storage.user.get("dark", False))
        options["series"][0]["color"] = asset_colour(data.asset.role, dark)
        # at least the last hour on the axis (one point alone would span days)
        options["xAxis"][":min"] = "(v) => Math.min(v.min, v.max - 3600000)"
        return ui.echart(options).classes("w-full h-56").props("data-testid=live-chart")


def _latest_cards(data: AssetData) -> dict[str, ui.label]:
    values: dict[str, ui.label] = {}
    with ui.row().classes("w-full gap-3"):
        for key, reading in sorted(data.latest.items()):
            label, unit = data.metrics.get(key, (key, ""))
            with ui.card().classes("min-w-[9rem]").props(f"data-testid=latest-{key}"):
                ui.label(label).classes("text-caption text-grey-7").tooltip(key)
                values[key] = ui.label(measured(reading.value, unit)).classes("text-h6")
    return values


def register() -> None:
    @ui.page("/assets/{asset_id}")
    async def asset_page(asset_id: int) -> None:
        user = await require_login(f"/assets/{asset_id}")
        if user is None:
            return
        with frame(user, "Asset") as heading:
            body = ui.column().classes("w-full gap-4")
            with body:
                ui.spinner(size="lg").props("data-testid=asset-loading")
        await painted()  # the frame answers at once; the asset's figures follow
        try:
            data = await _load(user, asset_id)
        except NotFound:
            retitle(heading, "Asset not found")
            body.clear()
            with body:
                ui.label(f"There is no asset {asset_id} you may see.")
            return
        retitle(heading, data.asset.name)
        body.clear()
        with body:
            _show(user, data)


def _reading_follower(
    data: AssetData, values: dict[str, ui.label], live: ui.echart
) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """The ``readings.stored`` handler of the page: the cards follow the stored readings, the
    live chart the power (its gaps broken, a lone point a dot)."""
    asset, zone, metrics = data.asset, data.zone, data.metrics
    gap_ms = usual_gap_ms([p for p in data.recent if p[1] is not None], _gap_ms(asset))

    async def on_stored(_topic: str, payload: dict[str, Any]) -> None:
        for entry in payload.get("assets", []):
            if entry.get("asset_id") != asset.id:
                continue
            for key, newest in entry.get("latest", {}).items():
                if key in values:  # the cards follow the readings as they are stored
                    values[key].set_text(measured(newest["value"], metrics.get(key, ("", ""))[1]))
            power = entry.get("latest", {}).get("power_kw")
            if power is not None:
                points_ = plain(live.options["series"][0]["data"])
                point = [wall_ms(int(power["ts"]), zone), float(power["value"])]
                points_ = points_[:-1] + break_gaps([*points_[-1:], point], gap_ms)
                live.options["series"][0]["data"] = mark_lone(points_[-600:])  # a lone one: a dot
                live.update()

    return on_stored


def _show(user: Principal, data: AssetData) -> None:
    """The asset's page once its data is in: status, latest values, live power, commands."""
    asset, zone = data.asset, data.zone
    on_status = _status_row(data)
    values = _latest_cards(data)
    live = _live_chart(data)
    history = ui.table(
        columns=[
            {"name": n, "label": label, "field": n, "align": "left"} for n, label in COMMAND_COLUMNS
        ],
        rows=data.history,
        row_key="id",
        title="Commands",
    ).classes("w-full")
    history.props('data-testid=command-history no-data-label="No commands sent to this asset yet"')

    async def reload_history() -> None:
        history.rows[:] = await _history(asset, zone)
        history.update()

    if user.has(Permission.COMMANDS_SEND):
        _command_form(user, asset, reload_history)

    async def on_command(_topic: str, payload: dict[str, Any]) -> None:
        if payload.get("asset_id") == asset.id:
            await reload_history()

    async def on_asset_status(_topic: str, payload: dict[str, Any]) -> None:
        if payload.get("asset_id") == asset.id:  # the badge as GET /assets/{id}/status says
            on_status(payload)

    on_stored = _reading_follower(data, values, live)

    bus = current().bus
    for unsubscribe in (
        bus.subscribe(catalogue.COMMAND_UPDATED.name, on_command),
        bus.subscribe(catalogue.READINGS_STORED.name, on_stored),
        bus.subscribe(catalogue.ASSET_STATUS.name, on_asset_status),
    ):
        ui.context.client.on_delete(unsubscribe)
