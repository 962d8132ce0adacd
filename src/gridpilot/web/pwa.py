"""The dashboard as an installable progressive web app (docs/dashboard.md, "Install and offline").

Served from gridpilot's own origin, so the dashboard's Content-Security-Policy stays as it is
(``default-src 'self'`` covers the manifest and the worker):

- ``/manifest.webmanifest``: name, start URL, standalone display, theme colour, icons;
- ``/sw.js``: the service worker (``static/pwa/sw.js``) at the root, so its scope is every page;
- ``/pwa/...``: icons (``pwa_icons.py`` draws them), ``pwa.js`` (registers the worker and shows
  the offline banner while NiceGUI's socket is down), ``pwa.css``, the offline fallback page.

Every page's head links them (NiceGUI's shared head), the log-in page included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import FileResponse, JSONResponse

STATIC = Path(__file__).parent / "static" / "pwa"
THEME = "#5898d4"  # NiceGUI's primary: the header's colour in the light theme
MANIFEST_TYPE = "application/manifest+json"

HEAD = f"""<link rel="manifest" href="/manifest.webmanifest">
<meta name="theme-color" content="{THEME}">
<link rel="apple-touch-icon" href="/pwa/apple-touch-icon.png">
<link rel="stylesheet" href="/pwa/pwa.css">
<script defer src="/pwa/pwa.js"></script>"""


def manifest() -> dict[str, Any]:
    """The web app manifest (W3C Web Application Manifest)."""
    return {
        "id": "/",
        "name": "gridpilot",
        "short_name": "gridpilot",
        "description": "Energy management: sites, live power, alerts, forecasts and KPIs",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": [
            {"src": "/pwa/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/pwa/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/pwa/maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


def register() -> None:
    """Add the routes, the static files and the shared head (once per process)."""
    from nicegui import app as gui
    from nicegui import ui

    @gui.get("/manifest.webmanifest", include_in_schema=False)
    def web_manifest() -> JSONResponse:
        return JSONResponse(
            manifest(), media_type=MANIFEST_TYPE, headers={"Cache-Control": "no-cache"}
        )

    @gui.get("/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        return FileResponse(
            STATIC / "sw.js",
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    gui.add_static_files("/pwa", STATIC)
    ui.add_head_html(HEAD, shared=True)
