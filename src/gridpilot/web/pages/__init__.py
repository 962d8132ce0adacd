"""The dashboard's pages; ``register()`` defines their routes (once per process)."""

from __future__ import annotations

from importlib import import_module

#: Page modules, each with a ``register()`` that defines its ``@ui.page`` routes.
PAGES = (
    "login",
    "overview",
    "sites",
    "site",
    "asset",
    "kpis",
    "forecast",
    "baselines",
    "dr",
    "alerts",
    "reports",
    "schedules",
    "groups",
    "firmware",
    "community",
    "admin",
    "settings",
    "site_settings",
    "asset_settings",
    "rules",
    "tariffs",
    "flex_settings",
    "channels",
    "notifications",
)

_registered: list[bool] = []


def register() -> None:
    """Define every page with NiceGUI (idempotent)."""
    if _registered:
        return
    for name in PAGES:
        import_module(f"gridpilot.web.pages.{name}").register()
    import_module("gridpilot.web.pwa").register()  # manifest, service worker, offline banner
    _registered.append(True)
