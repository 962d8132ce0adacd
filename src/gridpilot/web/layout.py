"""The frame every dashboard page shares: header, navigation, dark mode, log-out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from nicegui import app as gui
from nicegui import ui

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core import events as catalogue
from gridpilot.core.timestamps import now_ms
from gridpilot.web import palette
from gridpilot.web.context import current
from gridpilot.web.dashboard_auth import log_out, principal
from gridpilot.web.toasts import ToastGate, wanted

#: (label, path, permission needed or None)
NAV: list[tuple[str, str, Permission | None]] = [
    ("Overview", "/", None),
    ("Sites", "/sites", None),
    ("KPIs", "/kpis", None),
    ("Forecast", "/forecast", None),
    ("Baselines", "/baselines", None),
    ("DR", "/dr", None),
    ("Alerts", "/alerts", None),
    ("Reports", "/reports", None),
    ("Schedules", "/schedules", None),
    ("Groups", "/groups", None),
    ("Firmware", "/firmware", None),
    ("Community", "/community", None),
    ("Settings", "/settings", None),
    ("Admin", "/admin", Permission.USERS_MANAGE),
]


async def require_login(path: str) -> Principal | None:
    """The user's principal; otherwise a redirect to the log-in page (returns None)."""
    user = await principal()
    if user is None:
        ui.navigate.to(f"/login?redirect_to={quote(path)}")
    return user


def _dark_mode() -> None:
    storage = gui.storage.user
    dark = ui.dark_mode(value=bool(storage.get("dark", False)))

    def toggle() -> None:
        storage["dark"] = not bool(storage.get("dark", False))
        dark.set_value(storage["dark"])

    ui.button(icon="dark_mode", on_click=toggle).props("flat round color=white").tooltip(
        "Dark mode"
    ).props("data-testid=dark-toggle")


async def _logout() -> None:
    await log_out()
    ui.navigate.to("/login")


def toast_new_alerts(user: Principal) -> None:
    """A notification on the current page when an alert the user may see is raised (not for a
    flapping one, and a few per burst: ``web/toasts.py``)."""
    client = ui.context.client
    gate = ToastGate()

    async def on_raised(_topic: str, payload: dict[str, Any]) -> None:
        if not await wanted(user, payload, now_ms()):
            return
        text = gate.admit(payload, now_ms())
        if text is None:
            return
        critical = payload.get("severity") == "critical"
        with client:  # the bus calls from another task: say which page to notify
            ui.notify(text, type="negative" if critical else "warning", position="top-right")

    unsubscribe = current().bus.subscribe(catalogue.ALERT_RAISED.name, on_raised)
    client.on_delete(unsubscribe)


async def painted() -> None:
    """Answer the page's request now with what is built so far (the frame); what the page
    builds after this follows over the websocket once the browser connected. Called before a
    page reads the database, so no slow query reaches NiceGUI's response_timeout (3 s: a 500
    page) and the user sees the frame at once (NiceGUI: ``await client.connected()``)."""
    await ui.context.client.connected()


def retitle(heading: ui.label, title: str) -> None:
    """The page's heading and browser title once the page knows them (after ``painted``)."""
    heading.set_text(title)
    ui.page_title(f"{title} · gridpilot")


@contextmanager
def frame(user: Principal, title: str) -> Iterator[ui.label]:
    """Header with navigation and the page body (a responsive column) inside; yields the
    page's heading (``retitle`` changes it)."""
    ui.page_title(f"{title} · gridpilot")
    ui.add_css(palette.css())  # the flows' colours as CSS variables; the dark header
    toast_new_alerts(user)
    links = [(label, target) for label, target, need in NAV if need is None or user.has(need)]
    # below 1024 px the links move into a drawer behind a menu button (one header row on a phone)
    drawer = ui.left_drawer(value=False).props("overlay behavior=mobile bordered")
    drawer.props("data-testid=nav-drawer")
    with drawer, ui.list().classes("w-full"):
        for label, target in links:
            with ui.item(on_click=lambda t=target: ui.navigate.to(t)).props("clickable"):
                ui.item_label(label)
    with ui.header().classes("items-center justify-between q-px-md no-wrap"):
        with ui.row().classes("items-center gap-4 no-wrap"):
            ui.button(icon="menu", on_click=drawer.toggle).props(
                "flat round color=white data-testid=nav-menu"
            ).classes("lt-md").tooltip("Menu")
            ui.label("gridpilot").classes("text-h6 text-weight-bold")
            for label, target in links:
                ui.link(label, target).classes("text-white no-underline gt-sm")
        with ui.row().classes("items-center gap-2 no-wrap"):
            _dark_mode()
            ui.label(f"{user.name} ({user.role.value})").classes("gt-xs")
            ui.button(icon="logout", on_click=_logout).props("flat round color=white").tooltip(
                "Log out"
            ).props("data-testid=logout")
    with ui.column().classes("w-full q-pa-md gap-4"):
        heading = ui.label(title).classes("text-h5").props("data-testid=page-title")
        yield heading


def kpi_card(label: str, value: str, mark: str, hint: str = "", flow: str = "") -> ui.label:
    """One figure of a KPI strip; returns the value's label. ``flow``: the energy flow it
    shows (``web.palette``), marked by its colour beside the label."""
    with ui.card().classes("min-w-[9rem] grow basis-36").props(f"data-testid=kpi-{mark}"):
        title = ui.label(label).classes("text-caption text-grey-7")
        if flow:
            title.classes("gp-accent").style(f"border-color: var(--gp-{flow})")
        shown = ui.label(value).classes("text-h6").props(f"data-testid=kpi-{mark}-value")
        if hint:
            ui.label(hint).classes("text-caption text-grey-6")
    return shown
