"""Security headers on every HTTP answer (pure ASGI middleware), the API's and the dashboard's.

- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
  strict-origin-when-cross-origin`` and ``Permissions-Policy`` (no camera, microphone, geolocation)
  everywhere;
- ``Content-Security-Policy``: the API's JSON answers load nothing (``default-src 'none'``); the
  dashboard loads only from gridpilot itself (NiceGUI's Vue templates need ``'unsafe-eval'`` and
  inline styles and scripts; images also from ``data:``, ``blob:`` and the map's tile server when
  one is configured; the WebSocket to itself);
  an answer that sets its own policy (the API docs, ``api/docs_ui.py``) keeps it.
- ``Strict-Transport-Security`` only on answers to HTTPS requests (behind a TLS proxy or
  ``serve`` with TLS), so a plain-HTTP development server does not pin browsers to HTTPS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{tiles}; font-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: Paths whose answers are API answers (JSON, metrics), not dashboard pages.
API_PREFIXES = ("/api/", "/health", "/metrics", "/openapi.json", "/webhooks/")


def dashboard_policy(tiles_url: str | None = None) -> bytes:
    """The dashboard's policy; a configured map tile server's origin may serve images."""
    origin = ""
    if tiles_url:
        parts = urlsplit(tiles_url)
        origin = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return DASHBOARD_CSP.format(tiles=origin).encode()


class SecurityHeadersMiddleware:
    """Adds the headers above to every ``http`` answer (WebSockets untouched).

    ``tiles_url``: the dashboard map's tile URL template (``GRIDPILOT_WEB_MAP_TILES_URL``)."""

    def __init__(self, app: ASGIApp, tiles_url: str | None = None) -> None:
        self.app = app
        self.dashboard_csp = dashboard_policy(tiles_url)

    def policy_for(self, path: str) -> bytes:
        """The Content-Security-Policy of an answer to ``path``."""
        return API_CSP if path.startswith(API_PREFIXES) else self.dashboard_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self.policy_for(scope["path"])
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in COMMON if name not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                if https and HSTS[0] not in present:
                    headers.append(HSTS)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
