"""The dashboard's pages; ``register()`` defines their routes (once per process)."""

from __future__ import annotations

_registered: list[bool] = []


def register() -> None:
    """Define every page with NiceGUI (idempotent)."""
    if _registered:
        return
    from gridpilot.web.pages import admin, alerts, asset, forecast, kpis, login, overview, sites

    admin.register()
    alerts.register()
    asset.register()
    forecast.register()
    kpis.register()
    login.register()
    overview.register()
    sites.register()
    _registered.append(True)
