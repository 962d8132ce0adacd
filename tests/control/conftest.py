"""Fixtures of the control tests: sites and assets, an event recorder, polling helpers."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tests.conftest import _service_missing

from gridpilot.auth.permissions import Role

BROKER_HOST = "127.0.0.1"
BROKER_PORT = 1883


def broker_available() -> None:
    try:
        with socket.create_connection((BROKER_HOST, BROKER_PORT), timeout=2):
            pass
    except OSError as exc:
        _service_missing("Mosquitto", exc)


def mqtt_settings(prefix: str, client: str) -> dict[str, object]:
    """Settings of an app on the local broker: topics under ``prefix``, a fresh client id that
    starts with ``client``, plain (unshared) subscriptions, a one-minute session."""
    broker_available()
    return {
        "mqtt_url": f"mqtt://{BROKER_HOST}:{BROKER_PORT}",
        "mqtt_topic_prefix": prefix,
        "mqtt_client_id": f"{client}-{uuid.uuid4().hex[:12]}",
        "mqtt_share_group": "",
        "mqtt_session_expiry_s": 60,
    }


@pytest.fixture
async def operator(auth_headers) -> dict[str, str]:
    return await auth_headers(Role.OPERATOR)


async def make_site(client, headers: dict[str, str]) -> dict[str, Any]:
    site = await client.post(
        "/api/v1/sites",
        json={"name": f"Site {uuid.uuid4().hex[:8]}", "timezone": "UTC"},
        headers=headers,
    )
    assert site.status_code == 201, site.text
    return site.json()


async def make_asset(
    client, headers: dict[str, str], site_id: int, **fields: Any
) -> dict[str, Any]:
    body = {"site_id": site_id, "name": f"Asset {uuid.uuid4().hex[:8]}", "kind": "battery"}
    body.update(fields)
    asset = await client.post("/api/v1/assets", json=body, headers=headers)
    assert asset.status_code == 201, asset.text
    return asset.json()


@pytest.fixture
async def battery(client, operator) -> dict[str, Any]:
    """A 100 kW battery on a new site, expected to report every 60 s."""
    site = await make_site(client, operator)
    return await make_asset(
        client, operator, site["id"], rated_capacity_kw=100, expected_interval_s=60
    )


class EventLog:
    """Every bus event of the given patterns, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def handler(self, topic: str, payload: dict[str, Any]) -> None:
        self.events.append((topic, payload))

    def of(self, topic: str, **match: Any) -> list[dict[str, Any]]:
        return [
            p for t, p in self.events if t == topic and all(p.get(k) == v for k, v in match.items())
        ]


@pytest.fixture
def events(app) -> EventLog:
    log = EventLog()
    app.state.bus.subscribe("asset.status", log.handler)
    app.state.bus.subscribe("command.updated", log.handler)
    return log


async def wait_for(
    probe: Callable[[], Awaitable[Any]], *, timeout_s: float = 30, every_s: float = 0.05
) -> Any:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s (last: {value!r})")
        await asyncio.sleep(every_s)
