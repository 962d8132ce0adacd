"""One ``/api/v1/live`` connection: authentication, then the receive loop of client messages.

Close codes: 4401 not authenticated (missing, invalid or expired credentials; also when the
credentials expire while connected, or the API key is revoked: it is re-checked every
``GRIDPILOT_LIVE_KEY_RECHECK_S``), 4403 authenticated but not allowed to read, 1008 abuse
(too many unanswered requests), 1013 try again later (authentication could not be checked),
1001 server shutting down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import WebSocket

from gridpilot.auth.permissions import Permission
from gridpilot.core.errors import AuthenticationFailed, BadRequest, GridpilotError, Unavailable
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.live.auth import authenticate
from gridpilot.live.client import LiveClient
from gridpilot.live.hub import LiveHub
from gridpilot.live.protocol import parse_subscription

log = logging.getLogger(__name__)

SUBPROTOCOL = "bearer"
MAX_MESSAGE_BYTES = 64 * 1024
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TRY_AGAIN = 1013


class _Disconnected(Exception):
    pass


class _Credential:
    """The credential a connection authenticated with last (a renewal replaces it)."""

    def __init__(self, value: object) -> None:
        self.value = value


def _reason(text: str) -> str:
    """A close reason within the protocol's 123 bytes."""
    return text.encode()[:120].decode(errors="ignore")


def _decode(message: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object of a received frame; ``_Disconnected`` on close; ``GridpilotError`` else."""
    if message["type"] == "websocket.disconnect":
        raise _Disconnected
    raw = message.get("text")
    if raw is None:
        raw = message.get("bytes") or b""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("a message must be a JSON object") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise BadRequest('a message must be a JSON object with a "type"')
    return value


def _error(exc: GridpilotError, request: dict[str, Any] | None = None) -> dict[str, Any]:
    reply = {"type": "error", "code": exc.code, "message": exc.message}
    if request is not None and "id" in request:
        reply["id"] = request["id"]
    return reply


async def _first_auth_message(websocket: WebSocket, timeout_s: float) -> object:
    """The token of the first message (``{"type": "auth", "token": ...}``)."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout_s)
    except TimeoutError:
        raise AuthenticationFailed("no credentials within the authentication deadline") from None
    try:
        request = _decode(message)
    except GridpilotError:
        raise AuthenticationFailed('the first message must be {"type": "auth", ...}') from None
    if request.get("type") != "auth":
        raise AuthenticationFailed('the first message must be {"type": "auth", ...}')
    return request.get("token")


async def serve_live(websocket: WebSocket, hub: LiveHub) -> None:
    """Handle one connection until it closes."""
    settings: Settings = runtime_of(websocket.app).settings
    offered = [p.strip() for p in websocket.scope.get("subprotocols", [])]
    credential: object = None
    subprotocol = None
    if offered and offered[0].lower() == SUBPROTOCOL:
        subprotocol = offered[0]
        credential = offered[1] if len(offered) > 1 else None
    await websocket.accept(subprotocol=subprotocol)
    try:
        if credential is None:
            credential = await _first_auth_message(websocket, settings.live_auth_timeout_s)
        principal, expires_at = await authenticate(websocket.app, credential)
    except _Disconnected:
        return
    except AuthenticationFailed as exc:
        await websocket.close(CLOSE_UNAUTHENTICATED, _reason(exc.message))
        return
    except Exception:  # e.g. the database is down while checking an API key
        log.exception("live: authentication failed unexpectedly")
        await websocket.close(CLOSE_TRY_AGAIN, "authentication unavailable, try again later")
        return
    if not principal.has(Permission.READ):
        await websocket.close(CLOSE_FORBIDDEN, f"role {principal.role.value!r} may not read")
        return

    async def send(text: str) -> None:
        await websocket.send_text(text)

    async def close(code: int, reason: str) -> None:
        await websocket.close(code, _reason(reason))

    client = LiveClient(
        principal,
        send=send,
        close=close,
        max_events=settings.live_max_queued_events,
        expires_at=expires_at,
        metrics=hub.metrics,
    )
    sender = hub.register(client)
    current = _Credential(credential)
    # an API key can be revoked, a token's user disabled, demoted or deleted: re-check both
    interval_s = (
        settings.live_key_recheck_s if expires_at is None else max(settings.auth_recheck_s, 1.0)
    )
    recheck: asyncio.Task[None] | None = asyncio.create_task(
        _recheck_api_key(websocket, client, current, interval_s)
    )
    client.reply(_ready(client))
    try:
        await _receive_loop(websocket, hub, client, sender, current)
    finally:
        hub.unregister(client)
        sender.cancel()
        if recheck is not None:
            recheck.cancel()


async def _recheck_api_key(
    websocket: WebSocket, client: LiveClient, credential: _Credential, interval_s: float
) -> None:
    """Close the connection (4401) once its credential no longer authenticates (a revoked key;
    a token whose user was disabled, demoted or deleted, see ``auth.revocation``; expired).

    Checked every ``interval_s`` [s]; a verified key is trusted for ``auth.api_keys.CACHE_TTL_S``
    by the process that verified it, so a revocation elsewhere is seen within both together.
    """
    while True:
        await asyncio.sleep(interval_s)
        try:
            await authenticate(websocket.app, credential.value)
        except AuthenticationFailed as exc:
            client.request_close(
                CLOSE_UNAUTHENTICATED, f"credentials no longer valid: {exc.message}"
            )
            return
        except Exception:  # the database is unavailable: keep the connection, check again
            log.warning("live: could not re-check an API key", exc_info=True)


def _ready(client: LiveClient) -> dict[str, Any]:
    principal = client.principal
    return {
        "type": "ready",
        "subject": principal.subject,
        "role": principal.role.value,
        "sites": sorted(principal.site_ids) if principal.site_ids is not None else None,
        "expires_ms": int(client.expires_at * 1000) if client.expires_at is not None else None,
    }


async def _receive_loop(
    websocket: WebSocket,
    hub: LiveHub,
    client: LiveClient,
    sender: asyncio.Task[None],
    credential: _Credential,
) -> None:
    while not sender.done():
        receive = asyncio.ensure_future(websocket.receive())
        done, _ = await asyncio.wait({receive, sender}, return_when=asyncio.FIRST_COMPLETED)
        if receive not in done:  # the sender closed the connection or it broke
            receive.cancel()
            return
        request: dict[str, Any] | None = None
        try:
            request = _decode(receive.result())
            await _handle(request, websocket, hub, client, credential)
        except _Disconnected:
            return
        except GridpilotError as exc:
            client.reply(_error(exc, request))
        except Exception:  # the database went away...: answer, keep the connection
            log.exception("live: handling a %s message failed", (request or {}).get("type"))
            client.reply(_error(Unavailable("the request failed, try again later"), request))


async def _handle(
    request: dict[str, Any],
    websocket: WebSocket,
    hub: LiveHub,
    client: LiveClient,
    credential: _Credential,
) -> None:
    kind = request["type"]
    echo = {"id": request["id"]} if "id" in request else {}
    if kind == "subscribe":
        subscription = parse_subscription(request)
        await hub.check_scope(client.principal, subscription)
        client.resubscribe(subscription)
        client.reply({"type": "subscribed", **subscription.describe(), **echo})
    elif kind == "unsubscribe":
        client.resubscribe(None)
        client.reply({"type": "unsubscribed", **echo})
    elif kind == "ping":
        client.reply({"type": "pong", **echo})
    elif kind == "auth":  # renew the credentials before they expire
        try:
            principal, expires_at = await authenticate(websocket.app, request.get("token"))
        except AuthenticationFailed as exc:
            client.request_close(CLOSE_UNAUTHENTICATED, exc.message)
            return
        if principal.subject != client.principal.subject or not principal.has(Permission.READ):
            client.request_close(CLOSE_FORBIDDEN, "a connection cannot change its principal")
            return
        client.principal, client.expires_at = principal, expires_at
        credential.value = request.get("token")
        client.reply({**_ready(client), **echo})
    else:
        raise BadRequest(
            f"unknown message type {kind!r}; expected subscribe, unsubscribe, ping or auth"
        )
