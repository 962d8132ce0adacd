"""``/settings``: the settings pages, one row each (as Home Assistant's settings list), only
those the user may open."""

from __future__ import annotations

from nicegui import ui

from gridpilot.auth.permissions import Permission
from gridpilot.web.layout import frame, require_login
from gridpilot.web.settings_view import item_row

#: (title, what it holds, path, icon, permission needed or None)
SECTIONS: list[tuple[str, str, str, str, Permission | None]] = [
    (
        "Sites and assets",
        "Sites, their assets, metrics and device keys",
        "/settings/sites",
        "domain",
        None,
    ),
    (
        "Alert rules",
        "What raises an alert, with a preview over the last day",
        "/settings/alert-rules",
        "notifications",
        Permission.CONFIGURE,
    ),
    (
        "Notification channels",
        "E-mail and webhooks for alerts, with a test send and the delivery log",
        "/settings/channels",
        "campaign",
        Permission.CONFIGURE,
    ),
    (
        "My notifications",
        "Which alerts reach you by e-mail, webhook and in-app, and your quiet hours",
        "/settings/notifications",
        "notifications_active",
        None,
    ),
    (
        "Tariffs",
        "Each site's versioned tariff: time-of-use prices, charges, export price",
        "/settings/tariffs",
        "euro",
        None,
    ),
    (
        "Flexible resources",
        "Each site's batteries, EV chargers and flexible loads for the day-ahead schedule",
        "/settings/flex",
        "battery_charging_full",
        None,
    ),
]


def register() -> None:
    @ui.page("/settings")
    async def settings_page() -> None:
        user = await require_login("/settings")
        if user is None:
            return
        shown = [s for s in SECTIONS if s[4] is None or user.has(s[4])]
        with (
            frame(user, "Settings"),
            ui.list().props("bordered separator").classes("w-full rounded-borders"),
        ):
            for title, caption, path, icon, _need in shown:
                item_row(title, caption, path, f"settings-{path.rsplit('/', 1)[-1]}", icon=icon)
