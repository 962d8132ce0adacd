"""Request context middleware (pure ASGI): request id, log context, access log, latency, rate limit.

Per HTTP request it

- takes a sane incoming ``X-Request-ID`` (1-128 of ``A-Z a-z 0-9 . _ : -``) or makes one, and
  echoes it in the response header ``X-Request-ID``;
- sets the logging context variables of :mod:`gridpilot.core.logging` (``requestId``; ``sourceId``
  for ``/api/v1/sources/{id}...``; ``userId`` is set by ``auth.dependencies`` once the caller is
  known);
- writes one access line at INFO on the ``gridpilot.access`` logger, context fields ``method``,
  ``route`` (the route *template*), ``status``, ``durationMs``, ``client``;
- observes ``gridpilot_http_request_duration_seconds{method, route, status}`` (route template, or
  ``<unmatched>`` when no route matched, so raw paths never become labels; the dashboard's
  transport ``/_nicegui_ws/*`` and ``/_nicegui/*``, whose access lines are at DEBUG);
- when ``settings.api_rate_limit_per_min > 0`` (100 by default), limits each client address to
  that many requests in any 60 s window, counted through Redis when ``GRIDPILOT_REDIS_URL`` is set
  (every process shares the count) else per process (``core.limits``). ``/health``, ``/metrics``,
  the docs and the dashboard's transport are exempt. Counted answers carry ``RateLimit-Limit``,
  ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds) and ``RateLimit-Policy: 100;w=60``
  (draft-ietf-httpapi-ratelimit-headers); a refused request gets 429 ``rate_limited`` with
  ``Retry-After`` and ``RateLimit-Remaining: 0``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridpilot.api.errors import error_body
from gridpilot.core.errors import RateLimited
from gridpilot.core.limits import Limiter
from gridpilot.core.logging import request_id_var, source_id_var, user_id_var
from gridpilot.core.metrics import Metrics
from gridpilot.core.ratelimit import WINDOW_S, Quota

access_log = logging.getLogger("gridpilot.access")

REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED_ROUTE = "<unmatched>"
#: The dashboard's transport (NiceGUI's socket.io polls and static files): labelled by prefix and
#: logged at DEBUG (a page view makes dozens; the log at INFO shows API calls and page loads).
DASHBOARD_TRANSPORT = ("/_nicegui_ws/", "/_nicegui/")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RATE_LIMIT_EXEMPT = frozenset(
    {"/health", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
#: Paths under these prefixes are exempt too (the documentation pages' own scripts and styles).
RATE_LIMIT_EXEMPT_PREFIXES = ("/docs-assets/",)


def _exempt(path: str) -> bool:
    return (
        path in RATE_LIMIT_EXEMPT
        or path.startswith(RATE_LIMIT_EXEMPT_PREFIXES)
        or path.startswith(DASHBOARD_TRANSPORT)  # a dashboard page view makes dozens
    )


def quota_headers(limit: int, remaining: int, reset_s: int) -> list[tuple[bytes, bytes]]:
    """The ``RateLimit-*`` fields of an answer (draft-ietf-httpapi-ratelimit-headers)."""
    return [
        (b"ratelimit-limit", str(limit).encode()),
        (b"ratelimit-remaining", str(remaining).encode()),
        (b"ratelimit-reset", str(reset_s).encode()),
        (b"ratelimit-policy", f"{limit};w={int(WINDOW_S)}".encode()),
    ]


_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_SOURCE_PATH = re.compile(r"/api/v1/sources/([^/]+)")


def incoming_request_id(scope: Scope) -> str | None:
    """The client's ``X-Request-ID`` when it is safe to log and echo, else None."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if _SANE_REQUEST_ID.fullmatch(value) else None
    return None


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/assets/{asset_id}``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def dashboard_transport(path: str) -> str | None:
    """The dashboard transport prefix ``path`` (as requested, before any mount) lies under."""
    return next((prefix for prefix in DASHBOARD_TRANSPORT if path.startswith(prefix)), None)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"


def caller_subject(scope: Scope) -> str | None:
    """The authenticated caller (``user:42`` / ``key:...``) stored by ``auth.dependencies``."""
    state = scope.get("state")
    principal = state.get("principal") if isinstance(state, dict) else None
    subject = getattr(principal, "subject", None)
    return subject if isinstance(subject, str) else user_id_var.get()


class RequestContextMiddleware:
    """See the module docstring. Cheap on the hot path: a few dict look-ups and one log line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        limiter: Limiter | None = None,
        rate_limit_per_min: int = 0,
    ) -> None:
        """``limiter`` counts ``rate_limit_per_min`` requests per client; None: no limit."""
        self.app = app
        self.metrics = metrics
        self.limiter = limiter
        self.rate_limit_per_min = rate_limit_per_min
        self._histograms: dict[tuple[str, str, int], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]  # as requested: a mounted app rewrites the scope's path
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        source = _SOURCE_PATH.match(scope["path"])
        tokens = (
            request_id_var.set(request_id),
            user_id_var.set(None),
            source_id_var.set(source.group(1) if source else None),
        )
        status = 500
        added = [(REQUEST_ID_HEADER, request_id.encode("ascii"))]

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        try:
            if self.limiter is not None and not _exempt(scope["path"]):
                try:
                    quota: Quota = await self.limiter.hit(client_address(scope))
                except RateLimited as exc:
                    await self._too_many(exc, self.rate_limit_per_min, send_with_request_id)
                    return
                added += quota_headers(*quota)
            await self.app(scope, receive, send_with_request_id)
        finally:
            self._observe(scope, path, status, time.perf_counter() - started)
            source_id_var.reset(tokens[2])
            user_id_var.reset(tokens[1])
            request_id_var.reset(tokens[0])

    def _observe(self, scope: Scope, path: str, status: int, duration_s: float) -> None:
        method: str = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
        route = route_template(scope)
        transport = dashboard_transport(path) if route == UNMATCHED_ROUTE else None
        if transport is not None:
            route = f"{transport}*"
        key = (method, route, status)
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self.metrics.http_request_duration_seconds.labels(method, route, status)
            self._histograms[key] = histogram
        histogram.observe(duration_s)
        level = logging.INFO
        if status < 400 and transport is not None:
            level = logging.DEBUG
        if access_log.isEnabledFor(level):
            duration_ms = round(duration_s * 1000, 2)
            context: dict[str, Any] = {
                "userId": caller_subject(scope),
                "method": method,
                "route": route,
                "status": status,
                "durationMs": duration_ms,
                "client": client_address(scope),
            }
            access_log.log(
                level,
                "%s %s %d %.2f ms",
                *(method, route, status, duration_ms),
                extra={"context": context},
            )

    @staticmethod
    async def _too_many(exc: RateLimited, limit: int, send: Send) -> None:
        body = orjson.dumps(error_body(exc.code, exc.message))
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(exc.retry_after_s).encode()),
                    *quota_headers(limit, 0, exc.retry_after_s),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
