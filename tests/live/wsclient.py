"""A thin test client of ``WS /api/v1/live`` over the real ``websockets`` library."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TIMEOUT_S = 20.0


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/api/v1/live"


async def open_live(
    base_url: str, credential: str | None = None, *, small_buffer: bool = False, **options: Any
) -> ClientConnection:
    """Connect; with ``credential`` it travels in ``Sec-WebSocket-Protocol: bearer, <cred>``.

    ``small_buffer`` shrinks the socket's receive buffer and the library's queue, so a client
    that does not read makes the server's sends wait soon (a slow client); no compression.
    """
    if credential is not None:
        options["subprotocols"] = ["bearer", credential]
    if small_buffer:
        host, port = base_url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
        options.update(sock=sock, max_queue=1, compression=None)  # deflate would hide the bytes
    return await connect(ws_url(base_url), open_timeout=TIMEOUT_S, **options)


async def recv_json(ws: ClientConnection, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), timeout_s)
    value: dict[str, Any] = json.loads(message)
    return value


async def recv_until(
    ws: ClientConnection,
    done: Callable[[dict[str, Any]], bool],
    timeout_s: float = TIMEOUT_S,
) -> list[dict[str, Any]]:
    """Every message up to and including the first one ``done`` accepts."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout_s):
        while True:
            message = await recv_json(ws, timeout_s)
            seen.append(message)
            if done(message):
                return seen


async def close_code(ws: ClientConnection, timeout_s: float = TIMEOUT_S) -> int | None:
    """The close code the server sent (reading and discarding messages until then)."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def subscribe(ws: ClientConnection, **subscription: Any) -> dict[str, Any]:
    """Send a subscription and return the server's answer (``subscribed`` or ``error``)."""
    await ws.send(json.dumps({"type": "subscribe", **subscription}))
    messages = await recv_until(ws, lambda m: m["type"] in {"subscribed", "error"})
    return messages[-1]


async def authenticated(base_url: str, credential: str) -> ClientConnection:
    """A connection past its ``ready`` message."""
    ws = await open_live(base_url, credential)
    ready = await recv_json(ws)
    assert ready["type"] == "ready", ready
    return ws


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def make_site_asset(
    http: httpx.AsyncClient, headers: dict[str, str], name: str
) -> tuple[int, int]:
    """(site id, asset id) of a new site with one meter."""
    site = await http.post("/api/v1/sites", json={"name": name, "timezone": "UTC"}, headers=headers)
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    body = {"site_id": site_id, "name": f"{name} meter", "kind": "meter"}
    asset = await http.post("/api/v1/assets", json=body, headers=headers)
    assert asset.status_code == 201, asset.text
    return site_id, asset.json()["id"]


async def ingest(
    http: httpx.AsyncClient, headers: dict[str, str], readings: list[dict[str, Any]]
) -> None:
    response = await http.post("/api/v1/telemetry", json=readings, headers=headers)
    assert response.status_code == 200, response.text
