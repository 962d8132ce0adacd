"""Mount the dashboard on the gridpilot FastAPI app (``GRIDPILOT_WEB_ENABLED``)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from fastapi import FastAPI

from gridpilot.core.datadir import DIR_MODE, FILE_MODE, secure_data_dir
from gridpilot.core.settings import Settings

log = logging.getLogger(__name__)

#: Keys older versions kept in a browser's storage file: raw access and refresh tokens.
STALE_TOKEN_KEYS = ("access_token", "refresh_token")


def forget_stored_tokens(storage_dir: Path) -> int:
    """Remove the tokens older versions wrote into NiceGUI's per-browser storage files
    (``storage-user-*.json``); returns how many files held some."""
    cleaned = 0
    for path in storage_dir.glob("storage-user-*.json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not any(k in data for k in STALE_TOKEN_KEYS):
            continue
        kept = {k: v for k, v in data.items() if k not in STALE_TOKEN_KEYS}
        fd = os.open(
            path.with_name(path.name + ".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE
        )
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(kept, handle)
        path.with_name(path.name + ".tmp").replace(path)
        cleaned += 1
    return cleaned


def mount_dashboard(app: FastAPI, settings: Settings) -> None:
    """Serve the NiceGUI pages at ``/`` of ``app``; API routes keep precedence.

    NiceGUI is process-global: one dashboard per process. Its per-user storage lives in
    ``data_dir/web`` (0700; display preferences only: tokens stay in memory, ``web.tokens``);
    the session cookie is signed with a key derived from the JWT secret.
    """
    from nicegui import storage, ui

    from gridpilot.web import context, pages

    context.bind(app)
    storage_dir = (settings.data_dir / "web").resolve()
    storage_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    secure_data_dir(storage_dir)
    if forget_stored_tokens(storage_dir):
        log.warning("removed dashboard tokens an older version had stored in %s", storage_dir)
    storage.Storage.path = storage_dir
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
        session_middleware_kwargs={"https_only": settings.secure_cookie, "same_site": "lax"},
    )
