"""Fixtures of the alerts tests: fast evaluation/notification settings, sites, ingestion that
waits for the evaluator, and a small asyncio HTTP receiver for webhooks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from gridpilot.alerts.evaluator import ALERTS, AlertRuntime
from gridpilot.auth.permissions import Role
from gridpilot.core.runtime import runtime_of
from gridpilot.core.timestamps import now_ms

WAIT_S = 20.0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "alerts_eval_interval_s": 0.2,
        "notify_poll_interval_s": 0.1,
        "notify_retry_base_s": 0.1,
        "notify_retry_max_s": 0.5,
        "notify_timeout_s": 5.0,
        "webhook_allow_private": True,  # the test receivers listen on 127.0.0.1
        "rollup_interval_s": 3600.0,
    }


def alerts_of(app: Any) -> AlertRuntime:
    """The app's alerts runtime (its ``ALERTS`` slot)."""
    return runtime_of(app).require(ALERTS)


async def eventually(check: Callable[[], Awaitable[Any]], timeout_s: float = WAIT_S) -> Any:
    """Poll ``check`` until it returns something truthy (or fail after ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        while True:
            result = await check()
            if result:
                return result
            await asyncio.sleep(0.05)


@dataclass
class Env:
    """A site with one meter, an operator, and ingestion that waits for the evaluator."""

    app: Any
    client: Any
    admin: dict[str, str]
    operator: dict[str, str]

    async def site(self, name: str, **fields: Any) -> tuple[int, int]:
        """A new site with a meter asset: (site id, asset id)."""
        site = await self.client.post(
            "/api/v1/sites", json={"name": name, "timezone": "UTC", **fields}, headers=self.admin
        )
        assert site.status_code == 201, site.text
        asset = await self.client.post(
            "/api/v1/assets",
            json={"site_id": site.json()["id"], "name": f"{name} meter", "kind": "meter"},
            headers=self.admin,
        )
        assert asset.status_code == 201, asset.text
        return site.json()["id"], asset.json()["id"]

    async def rule(self, **body: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/alert-rules", json=body, headers=self.operator)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def ingest(
        self, asset_id: int, value: float, metric: str = "power_kw", ts: int | None = None
    ) -> int:
        """Send one reading (stamped now by default); return once the evaluator processed it."""
        ts = now_ms() if ts is None else ts
        stored = asyncio.get_running_loop().create_future()

        async def seen(topic: str, payload: dict[str, Any]) -> None:
            for entry in payload.get("assets", []):
                point = entry.get("latest", {}).get(metric)
                ours = entry["asset_id"] == asset_id and point and point["ts"] >= ts
                if ours and not stored.done():
                    stored.set_result(None)

        unsubscribe = self.app.state.bus.subscribe("readings.stored", seen)
        try:
            body = [{"asset": asset_id, "metric": metric, "ts": ts, "value": value}]
            response = await self.client.post("/api/v1/telemetry", json=body, headers=self.admin)
            assert response.json() == {"stored": 1, "rejected": []}, response.text
            await asyncio.wait_for(stored, WAIT_S)
        finally:
            unsubscribe()
        await alerts_of(self.app).idle()  # the alerts handler ran before ours: it is queued
        return ts

    async def ingest_all(
        self, values: dict[int, float], metric: str = "power_kw", ts: int | None = None
    ) -> int:
        """Send one reading per asset in one request (one batch, stamped now by default);
        return once the evaluator processed every asset's reading."""
        ts = now_ms() if ts is None else ts
        waiting = set(values)
        stored = asyncio.get_running_loop().create_future()

        async def seen(topic: str, payload: dict[str, Any]) -> None:
            for entry in payload.get("assets", []):
                point = entry.get("latest", {}).get(metric)
                if point and point["ts"] >= ts:
                    waiting.discard(entry["asset_id"])
            if not waiting and not stored.done():
                stored.set_result(None)

        unsubscribe = self.app.state.bus.subscribe("readings.stored", seen)
        try:
            body = [{"asset": a, "metric": metric, "ts": ts, "value": v} for a, v in values.items()]
            response = await self.client.post("/api/v1/telemetry", json=body, headers=self.admin)
            assert response.json() == {"stored": len(body), "rejected": []}, response.text
            await asyncio.wait_for(stored, WAIT_S)
        finally:
            unsubscribe()
        await alerts_of(self.app).idle()
        return ts

    async def alerts(self, headers: dict[str, str] | None = None, **params: Any) -> list[dict]:
        response = await self.client.get(
            "/api/v1/alerts", params=params, headers=headers or self.operator
        )
        assert response.status_code == 200, response.text
        return list(response.json())


@pytest.fixture
async def env(app, client, auth_headers) -> Env:
    return Env(
        app, client, await auth_headers(Role.ADMINISTRATOR), await auth_headers(Role.OPERATOR)
    )


@pytest.fixture
def bus_events(app) -> list[tuple[str, dict[str, Any]]]:
    """Every ``alert.*`` event published on the app's bus, in order."""
    seen: list[tuple[str, dict[str, Any]]] = []

    async def record(topic: str, payload: dict[str, Any]) -> None:
        seen.append((topic, payload))

    app.state.bus.subscribe("alert.*", record)
    return seen


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that records POSTs; ``respond`` picks each status."""

    respond: Callable[[Request], Awaitable[int]]
    requests: list[Request] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Request(path, headers, body)
            async with self.arrived:
                self.requests.append(request)
                self.arrived.notify_all()
            status = await self.respond(request)
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        finally:
            writer.close()

    async def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[Request]:
        async with asyncio.timeout(timeout_s), self.arrived:
            await self.arrived.wait_for(lambda: len(self.requests) >= count)
        return self.requests


async def _ok(request: Request) -> int:
    return 200


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Awaitable[Receiver]]]:
    """Start receivers: ``await receivers()`` (always 200) or ``await receivers(respond)``."""
    servers: list[asyncio.Server] = []

    async def start(respond: Callable[[Request], Awaitable[int]] = _ok) -> Receiver:
        receiver = Receiver(respond)
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        receiver.url = f"http://127.0.0.1:{port}/hook"
        return receiver

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()
