"""Two API processes (``gridpilot serve``) on one PostgreSQL database and one Redis.

Readings ingested on one process reach WebSocket clients of the other (once), ``asset.changed``
reaches the other's lookup caches, and events from any process respect the client's scope.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.api.live_server import free_port
from tests.conftest import PG_HOST, PG_PORT, PG_USER, TEST_JWT_SECRET, _pg_admin, _service_missing
from tests.live.wsclient import (
    authenticated,
    bearer,
    ingest,
    make_site_asset,
    recv_json,
    recv_until,
    subscribe,
)

from gridpilot.auth.permissions import Role
from gridpilot.auth.tokens import TokenConfig, encode_access_token
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms
from gridpilot.db.engine import make_engine
from gridpilot.db.migrate import upgrade
from gridpilot.live.redis_bus import RedisBus

pytestmark = pytest.mark.postgres
T0 = now_ms() // 1000 * 1000 - 3_600_000
START_TIMEOUT_S = 60.0
CHANNEL_PREFIX = f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
async def shared_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated PostgreSQL database of this module alone (the processes outlive one test)."""
    name = f"gridpilot_live_{uuid.uuid4().hex[:10]}"
    try:
        admin = await _pg_admin()
    except (OSError, asyncpg.PostgresError) as exc:
        _service_missing("PostgreSQL", exc)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    engine = make_engine(Settings(database_url=url, data_dir=tmp_path_factory.mktemp("live")))
    await upgrade(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def headers(database_url: str, role: Role, sites: list[int] | None = None) -> dict[str, str]:
    """Bearer headers of a new user of the shared database (tokens of unknown users are refused)."""
    name = f"{role.value}-{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(database_url)
    try:
        user_id = await connection.fetchval(
            "INSERT INTO users (username, password_hash, role, disabled, site_restricted,"
            " created_at, updated_at) VALUES ($1, 'x', $2, false, $3, now(), now()) RETURNING id",
            name, role.value, sites is not None,
        )  # fmt: skip
        for site_id in sites or []:
            await connection.execute("INSERT INTO user_sites VALUES ($1, $2)", user_id, site_id)
    finally:
        await connection.close()
    config = TokenConfig(secret=TEST_JWT_SECRET, issuer="gridpilot", audience="gridpilot-api")
    claims = {"role": role.value, "name": name, "sites": sites}
    token = encode_access_token(config, f"user:{user_id}", claims)
    return {"Authorization": f"Bearer {token}"}


class ServeProcess:
    """``python -m gridpilot.cli serve`` on a free port, configured by environment only."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "gridpilot.cli", "serve", "--port", str(self.port)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            async with asyncio.timeout(START_TIMEOUT_S):
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"serve exited: {self.log.read_text()[-3000:]}")
                    try:
                        if (await http.get("/health")).status_code == 200:
                            return
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
async def processes(
    shared_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[str]]:
    """Base URLs of two API processes sharing a database and a Redis channel prefix."""
    tmp_path = tmp_path_factory.mktemp("serve")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPILOT_")}
    env.update(
        GRIDPILOT_DATABASE_URL=shared_database,
        GRIDPILOT_REDIS_URL=redis_url,
        GRIDPILOT_REDIS_CHANNEL_PREFIX=CHANNEL_PREFIX,
        GRIDPILOT_JWT_SECRET=TEST_JWT_SECRET,
        GRIDPILOT_DATA_DIR=str(tmp_path),
        GRIDPILOT_HOST="127.0.0.1",
        GRIDPILOT_AUTO_MIGRATE="false",
        GRIDPILOT_WEB_ENABLED="false",
        GRIDPILOT_API_RATE_LIMIT_PER_MIN="0",  # the test floods from one address
        GRIDPILOT_LOG_JSON="false",
        GRIDPILOT_LOG_LEVEL="WARNING",
        GRIDPILOT_ROLLUP_INTERVAL_S="3600",
    )
    started = [ServeProcess(env, tmp_path / f"serve{n}.log") for n in (1, 2)]
    try:
        await asyncio.gather(*(p.wait_ready() for p in started))
        yield [p.url for p in started]
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
async def clients(processes: list[str]) -> AsyncIterator[list[httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=processes[0], timeout=30) as first,
        httpx.AsyncClient(base_url=processes[1], timeout=30) as second,
    ):
        yield [first, second]


@pytest.fixture
def redis_bus_of_the_test(redis_url: str) -> RedisBus:
    """A third bus on the processes' channels (like an ingest worker publishing events)."""
    return RedisBus(redis_url, CHANNEL_PREFIX)


def counts(messages: list[dict[str, Any]], asset_id: int) -> int:
    return sum(
        entry["count"]
        for m in messages
        if m["type"] == "readings"
        for entry in m["assets"]
        if entry["asset_id"] == asset_id
    )


def value_arrived(asset_id: int, value: float):
    def done(message: dict[str, Any]) -> bool:
        return message["type"] == "readings" and any(
            entry["asset_id"] == asset_id and entry["latest"]["power_kw"]["value"] == value
            for entry in message["assets"]
        )

    return done


async def test_reading_ingested_on_one_process_reaches_clients_of_both_once(
    processes, clients, shared_database
):
    first, second = clients
    operator = await headers(shared_database, Role.OPERATOR)
    site_id, asset_id = await make_site_asset(first, operator, "Two-process site")
    remote = await authenticated(processes[1], bearer(operator))
    local = await authenticated(processes[0], bearer(operator))
    for ws in (remote, local):
        assert (await subscribe(ws, assets=[asset_id]))["type"] == "subscribed"

    await ingest(first, operator, [{"asset": asset_id, "metric": "power_kw", "ts": T0, "value": 1}])
    message = await recv_json(remote)
    assert message == {
        "type": "readings",
        "count": 1,
        "assets": [
            {
                "asset_id": asset_id,
                "site_id": site_id,
                "count": 1,
                "latest": {"power_kw": {"ts": T0, "value": 1.0}},
            }
        ],
    }
    # more readings, from both processes: every client counts each reading exactly once
    for n in range(2, 6):
        http = first if n % 2 else second
        reading = {"asset": asset_id, "metric": "power_kw", "ts": T0 + n * 1000, "value": n}
        await ingest(http, operator, [reading])
    remote_rest = await recv_until(remote, value_arrived(asset_id, 5.0))
    local_all = await recv_until(local, value_arrived(asset_id, 5.0))
    assert counts([message, *remote_rest], asset_id) == 5
    assert counts(local_all, asset_id) == 5
    await remote.close()
    await local.close()


async def test_asset_changes_reach_the_other_process(processes, clients, shared_database):
    first, second = clients
    operator = await headers(shared_database, Role.OPERATOR)
    _, asset_id = await make_site_asset(first, operator, "Cache site")
    reading = {"asset": asset_id, "metric": "power_kw", "ts": T0, "value": 1}
    await ingest(second, operator, [reading])  # the second process now caches the asset
    deleted = await first.delete(f"/api/v1/assets/{asset_id}", headers=operator)
    assert deleted.status_code == 204, deleted.text
    # the second process forgets the asset on the event from the first: its readings are refused
    async with asyncio.timeout(20):
        while True:
            response = await second.post("/api/v1/telemetry", json=[reading], headers=operator)
            if response.status_code == 422:
                break
            await asyncio.sleep(0.1)
    assert "asset" in response.json()["rejected"][0]["reason"]


async def test_events_from_any_process_respect_the_client_scope(
    processes, clients, redis_bus_of_the_test, shared_database
):
    first, _ = clients
    operator = await headers(shared_database, Role.OPERATOR)
    site_a, asset_a = await make_site_asset(first, operator, "Scope site A")
    site_b, asset_b = await make_site_asset(first, operator, "Scope site B")
    viewer = await authenticated(
        processes[1], bearer(await headers(shared_database, Role.VIEWER, [site_a]))
    )
    await subscribe(viewer, events=["alerts", "status"])
    bus = redis_bus_of_the_test
    await bus.start()
    try:
        alert = {"alert_id": 1, "rule_id": 1, "severity": "critical", "state": "active"}
        await bus.publish("alert.raised", {**alert, "asset_id": asset_b, "site_id": site_b})
        await bus.publish(
            "command.updated", {"command_id": 1, "asset_id": asset_a, "site_id": site_a}
        )
        await bus.publish(
            "asset.status", {"asset_id": asset_b, "site_id": site_b, "status": "offline"}
        )
        await bus.publish("alert.raised", {**alert, "asset_id": asset_a, "site_id": site_a})
        await bus.publish(
            "asset.status", {"asset_id": asset_a, "site_id": site_a, "status": "online"}
        )
    finally:
        await bus.stop()
    seen = await recv_until(viewer, lambda m: m["type"] == "status")
    assert [(m["type"], m["site_id"]) for m in seen] == [("alert", site_a), ("status", site_a)]
    assert seen[0]["topic"] == "alert.raised"
    assert seen[0]["severity"] == "critical"
    await viewer.close()


async def test_current_balance_agrees_on_both_processes(clients, shared_database):
    """Each process keeps the current balance in memory; with Redis, a reading stored by one
    reaches the other's copy through the bus, long before its 10 s re-read."""
    first, second = clients
    operator = await headers(shared_database, Role.OPERATOR)
    site_id, asset_id = await make_site_asset(first, operator, "Current on both")
    path = f"/api/v1/sites/{site_id}/current"
    now = now_ms()
    await ingest(
        first, operator, [{"asset": asset_id, "metric": "power_kw", "ts": now - 2_000, "value": 7}]
    )
    for http in (first, second):  # both processes load the site now
        async with asyncio.timeout(5):
            while (await http.get(path, headers=operator)).json()["grid_import_kw"] != 7:
                await asyncio.sleep(0.1)
    reading = {"asset": asset_id, "metric": "power_kw", "ts": now_ms(), "value": 11}
    await ingest(first, operator, [reading])
    async with asyncio.timeout(3):  # well within the 10 s re-read: it came over the bus
        while (await second.get(path, headers=operator)).json()["grid_import_kw"] != 11:
            await asyncio.sleep(0.05)
