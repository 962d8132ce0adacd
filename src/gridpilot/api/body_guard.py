"""Request body guard (pure ASGI): a body is refused before it is read, or once it is too big.

The checks run when the application first asks for the body (routing is done by then, so the
route is known; a route that never reads its body is never refused):

- 401 when the route needs credentials (it depends on ``get_principal``) and the request carries
  none (neither ``Authorization: Bearer ...`` nor ``X-API-Key``): no byte of the body is read;
- 413 when ``Content-Length`` exceeds the route's cap, or as soon as the bytes received do
  (chunked bodies): ``max_bulk_body_bytes`` for bulk ingest routes (``core.body_limits``), else
  ``max_request_body_bytes``; and as soon as a JSON body (of a route FastAPI parses) holds more
  than ``max_json_values`` values, counted as commas plus opening brackets as the bytes arrive:
  parsing and validating such a body (one error per unknown key...) costs far more than its size;
- 415 when a route that takes a JSON body gets a non-empty body that is not ``application/json``
  (or ``application/*+json``), a missing ``Content-Type`` included.

The answer is gridpilot's JSON error; what the application answers after a refusal is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import orjson
from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gridpilot.api.errors import error_response
from gridpilot.auth.dependencies import get_principal
from gridpilot.core.body_limits import is_bulk
from gridpilot.core.errors import (
    AuthenticationFailed,
    GridpilotError,
    TooLarge,
    UnsupportedMediaType,
)


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What the guard checks for one route."""

    needs_credentials: bool
    json_body: bool
    bulk: bool


OPEN_POLICY = RoutePolicy(needs_credentials=False, json_body=False, bulk=False)


def _depends_on(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def policy_of(route: object) -> RoutePolicy:
    """The checks for ``route`` (the matched route; anything but a FastAPI route: none)."""
    if not isinstance(route, APIRoute):
        return OPEN_POLICY
    body = route.body_field
    return RoutePolicy(
        needs_credentials=_depends_on(route.dependant, get_principal),
        json_body=body is not None and not isinstance(body.field_info, params.Form),
        bulk=is_bulk(route.endpoint),
    )


def is_json_media(content_type: bytes | None) -> bool:
    """``application/json`` or ``application/<anything>+json`` (parameters ignored)."""
    media = (content_type or b"").split(b";", 1)[0].strip().lower()
    main, _, sub = media.partition(b"/")
    return main == b"application" and (sub == b"json" or sub.endswith(b"+json"))


def has_credentials(scope: Scope) -> bool:
    """Whether the request carries a Bearer token or an API key (valid or not)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return True
        elif name == b"x-api-key" and value.strip():
            return True
    return False


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    return next((value for name, value in scope["headers"] if name == wanted), None)


class _BodyRefused(Exception):
    """Raised into the application from ``receive`` when the guard refuses the body."""


class _RequestGuard:
    """The ``receive`` of one request, with the checks of the module docstring."""

    def __init__(self, scope: Scope, receive: Receive, owner: BodyGuardMiddleware) -> None:
        self.scope = scope
        self._receive = receive
        self.owner = owner
        self.policy: RoutePolicy | None = None
        self.limit = 0
        self.received = 0
        self.json_values = 0
        self.refusal: GridpilotError | None = None

    def refuse(self, error: GridpilotError) -> NoReturn:
        self.refusal = error
        raise _BodyRefused(error.message)

    def _check_headers(self) -> RoutePolicy:
        policy = self.owner.policy(self.scope.get("route"))
        self.limit = self.owner.limit_for(policy)
        if policy.needs_credentials and not has_credentials(self.scope):
            self.refuse(
                AuthenticationFailed("not authenticated: send a Bearer token or an X-API-Key")
            )
        length = _header(self.scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            size = int(length)
            self.refuse(TooLarge(f"the body has {size} bytes; the limit is {self.limit} bytes"))
        return policy

    async def receive(self) -> Message:
        if self.refusal is not None:
            return {"type": "http.disconnect"}
        if self.policy is None:
            self.policy = self._check_headers()
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        body = message.get("body", b"")
        if body and not self.received and self.policy.json_body:
            content_type = _header(self.scope, b"content-type")
            if not is_json_media(content_type):
                given = content_type.decode("latin-1") if content_type else "none"
                self.refuse(
                    UnsupportedMediaType(
                        f"the body must be JSON (Content-Type: application/json); got {given}"
                    )
                )
        self.received += len(body)
        if self.received > self.limit:
            self.refuse(TooLarge(f"the body is larger than the limit of {self.limit} bytes"))
        if self.policy.json_body and body:
            self._count_json_values(body)
        return message

    def _count_json_values(self, body: bytes) -> None:
        self.json_values += body.count(b",") + body.count(b"{") + body.count(b"[")
        limit = self.owner.max_json_values
        if self.json_values > limit:
            self.refuse(
                TooLarge(
                    f"the JSON body holds more than {limit} values "
                    "(commas and opening brackets counted)"
                )
            )


class BodyGuardMiddleware:
    """See the module docstring. Costs nothing until the application reads a body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_request_body_bytes: int,
        max_bulk_body_bytes: int,
        max_json_values: int,
    ) -> None:
        self.app = app
        self.max_request_body_bytes = max_request_body_bytes
        self.max_bulk_body_bytes = max_bulk_body_bytes
        self.max_json_values = max_json_values
        self._policies: dict[int, tuple[object, RoutePolicy]] = {}

    def policy(self, route: object) -> RoutePolicy:
        known = self._policies.get(id(route))
        if known is not None and known[0] is route:
            return known[1]
        policy = policy_of(route)
        if route is not None:
            self._policies[id(route)] = (route, policy)  # routes live as long as the app
        return policy

    def limit_for(self, policy: RoutePolicy) -> int:
        return self.max_bulk_body_bytes if policy.bulk else self.max_request_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        guard = _RequestGuard(scope, receive, self)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if guard.refusal is not None and not started:
                return  # the application's answer to a refused body
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guard.receive, guarded_send)
        except Exception:
            if guard.refusal is None or started:
                raise
        if guard.refusal is not None and not started:
            await _send_error(send, guard.refusal)


async def _send_error(send: Send, error: GridpilotError) -> None:
    status, body, headers = error_response(error)
    payload = orjson.dumps(body)
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
