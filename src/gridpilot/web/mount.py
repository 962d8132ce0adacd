"""Mount the dashboard on the gridpilot FastAPI app (``GRIDPILOT_WEB_ENABLED``)."""

from __future__ import annotations

import hashlib

from fastapi import FastAPI

from gridpilot.core.settings import Settings


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    """Serve the NiceGUI pages at ``/`` of ``app``; API routes keep precedence.

    NiceGUI is process-global: one dashboard per process. Its per-user storage lives in
    ``data_dir/web``; the session cookie is signed with a key derived from the JWT secret.
    """
    from nicegui import storage, ui

    from gridpilot.web import context, pages

    context.bind(app)
    storage.Storage.path = (settings.data_dir / "web").resolve()
    pages.register()
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
    ui.run_with(
        app,
        mount_path="/",
        title="gridpilot",
        favicon="⚡",
        dark=False,
        storage_secret=hashlib.sha256(b"gridpilot-web:" + secret.encode()).hexdigest(),
        show_welcome_message=False,
        reconnect_timeout=10.0,
    )
