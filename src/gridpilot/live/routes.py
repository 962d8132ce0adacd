"""``WS /api/v1/live``: live readings, status changes, alerts and command updates (docs/live.md)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from gridpilot.core.runtime import runtime_of
from gridpilot.live.connection import serve_live
from gridpilot.live.hub import LIVE

router = APIRouter(tags=["live"])


@router.websocket("/live", name="live_stream")
async def live_stream(websocket: WebSocket) -> None:
    """Stream the events the client subscribes to and may see.

    Authenticate with ``Sec-WebSocket-Protocol: bearer, <JWT or API key>`` or a first message
    ``{"type": "auth", "token": ...}``; then send ``{"type": "subscribe", ...}``.
    """
    await serve_live(websocket, runtime_of(websocket.app).require(LIVE))
