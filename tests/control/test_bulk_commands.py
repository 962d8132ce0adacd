"""``POST /api/v1/commands`` to many devices (both back ends): set-based (the statements per
request do not grow with the devices), one transaction (a refused request leaves nothing
queued), safe beside concurrent writers (no 503 on SQLite while telemetry is stored, the same
key twice at once queues once), and every bad input a clear 4xx with a code, never a 500/503."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import event, func, select
from tests.control.conftest import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.control.models import Command, CommandTransition


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"command_rate_limit_per_min": 0, "command_schedules_interval_s": 0}


async def _batteries(client, headers, count: int, site_id: int | None = None) -> list[int]:
    site = site_id or (await make_site(client, headers))["id"]
    return [(await make_asset(client, headers, site, rated_capacity_kw=50))["id"]
            for _ in range(count)]  # fmt: skip


class Statements:
    """Statements the app's engine runs while counting."""

    def __init__(self, app) -> None:
        self.count = 0
        self.seen: list[str] = []
        self.engine = app.state.engine.sync_engine
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.seen.append(statement[:150])

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


async def _commands(sessions, asset_ids: list[int]) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Command).where(Command.asset_id.in_(asset_ids))
        return int(await session.scalar(query) or 0)


async def test_statements_do_not_grow_with_the_devices(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    few = await _batteries(client, admin, 5)
    many = await _batteries(client, admin, 60)
    assert (len(few), len(many)) == (5, 60)
    spent: dict[int, list[int]] = {len(few): [], len(many): []}
    for ids in (few, many) * 3:
        counter = Statements(app)
        sent = await client.post(
            "/api/v1/commands",
            json={"kind": "charge", "params": {"power_kw": 10}, "asset_ids": ids},
            headers=admin,
        )
        counter.close()
        assert sent.status_code == 201, sent.text
        assert sent.json()["created"] == len(ids)
        spent[len(ids)].append(counter.count)
    # the engine also runs the background loops' statements: the fewest of 3 is the route's
    assert min(spent[5]) == min(spent[60]) <= 8, spent
    # every command has its "queued" row, once (3 commands per device: 3 requests)
    async with sessions() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(CommandTransition)
            .join(Command, Command.id == CommandTransition.command_id)
            .where(Command.asset_id.in_(many), CommandTransition.state == "queued")
        )
    assert rows == 3 * len(many)


async def test_a_refused_request_queues_nothing(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    ids = await _batteries(client, admin, 3)
    first = {"kind": "charge", "params": {"power_kw": 10}, "asset_ids": ids[:1],
             "idempotency_key": "evening"}  # fmt: skip
    assert (await client.post("/api/v1/commands", json=first, headers=admin)).status_code == 201
    # the same key for another command of one of the assets: 409, the other two not queued
    other = {**first, "params": {"power_kw": 20}, "asset_ids": ids}
    refused = await client.post("/api/v1/commands", json=other, headers=admin)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "conflict"
    assert f"of asset {ids[0]}" in refused.json()["message"]
    assert await _commands(sessions, ids) == 1
    # an asset out of the caller's sites among visible ones: 404 and nothing queued
    site = await make_site(client, admin)
    theirs = await _batteries(client, admin, 1, site["id"])
    limited = await auth_headers(Role.OPERATOR, sites=[(await client.get(
        f"/api/v1/assets/{ids[1]}", headers=admin)).json()["site_id"]])  # fmt: skip
    mixed = {"kind": "stop", "asset_ids": [ids[1], theirs[0]]}
    hidden = await client.post("/api/v1/commands", json=mixed, headers=limited)
    assert hidden.status_code == 404 and hidden.json()["message"] == f"asset {theirs[0]} not found"
    assert await _commands(sessions, ids[1:] + theirs) == 0


async def test_bad_input_is_a_clear_4xx(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    ids = await _batteries(client, admin, 2)
    empty = (await client.post("/api/v1/groups", json={
        "name": f"empty {uuid.uuid4().hex[:6]}", "kind": "static", "asset_ids": []},
        headers=admin)).json()  # fmt: skip
    site_id = (await client.get(f"/api/v1/assets/{ids[0]}", headers=admin)).json()["site_id"]
    charge = {"kind": "charge", "params": {"power_kw": 10}}
    cases: list[tuple[Any, int]] = [
        ({"kind": "charge", "params": {"power_kw": "ten"}, "asset_ids": ids}, 422),
        ({"kind": "charge", "params": {"power_kw": -5}, "asset_ids": ids}, 422),
        ({"kind": "charge", "params": {}, "asset_ids": ids}, 422),
        ({"kind": "reboot", "asset_ids": ids}, 422),
        ({**charge, "params": {"power_kw": 10, "colour": "red"}, "asset_ids": ids}, 422),
        ({**charge, "asset_ids": []}, 422),
        ({**charge, "asset_ids": list(range(1, 1002))}, 422),
        ({**charge, "asset_ids": [0]}, 422),
        ({**charge, "asset_ids": [2**31]}, 422),
        ({**charge, "asset_ids": ["one"]}, 422),
        ({**charge, "asset_ids": [ids[0], ids[0]]}, 422),
        ({**charge, "asset_ids": [987_654]}, 404),
        ({**charge, "asset_ids": ids, "group_id": empty["id"]}, 422),
        ({**charge, "group_id": 987_654}, 404),
        ({**charge, "group_id": 0}, 422),
        ({**charge, "group_id": empty["id"]}, 422),
        ({**charge, "site_id": site_id, "asset_kinds": ["wind_onshore"]}, 422),
        ({**charge, "site_id": site_id, "asset_kinds": ["x" * 5000]}, 422),
        ({**charge, "site_id": site_id, "asset_kinds": ["battery"] * 51}, 422),
        ({**charge, "site_id": 987_654}, 404),
        ({**charge, "asset_ids": ids, "ttl_s": 0}, 422),
        ({**charge, "asset_ids": ids, "ttl_s": 10**9}, 422),
        ({**charge, "asset_ids": ids, "idempotency_key": "no spaces"}, 422),
        ({**charge, "asset_ids": ids, "idempotency_key": "k" * 101}, 422),
        ({**charge, "asset_ids": ids, "extra": 1}, 422),
        ([charge], 422),
        ("not json", 422),
        ('{"kind": "charge", "params": {"power_kw": NaN}, "asset_ids": [1]}', 422),
        ('{"kind": "charge", "params": {"power_kw": 1e999}, "asset_ids": [1]}', 422),
    ]
    for body, status in cases:
        raw = body if isinstance(body, str) else json.dumps(body)
        answer = await client.post(
            "/api/v1/commands",
            content=raw,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert answer.status_code == status, (str(body)[:120], answer.status_code, answer.text)
        assert answer.json()["error"] and answer.json()["message"], answer.text
    viewer = await auth_headers(Role.VIEWER)
    denied = await client.post("/api/v1/commands", json={**charge, "asset_ids": ids},
                               headers=viewer)  # fmt: skip
    assert denied.status_code == 403


async def test_concurrent_writers_never_make_it_fail(client, sessions, auth_headers):
    """Telemetry stored and the same bulk command sent twice, all at once: every bulk answer
    is 2xx (no 503 "database is locked" on SQLite), one command per device."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    ids = await _batteries(client, admin, 40)
    stop = asyncio.Event()

    async def telemetry() -> list[int]:
        statuses = []
        while not stop.is_set():
            now = int(time.time() * 1000)
            readings = [{"asset": a, "metric": "power_kw", "ts": now, "value": 1.0} for a in ids]
            answer = await client.post(
                "/api/v1/telemetry", json={"readings": readings}, headers=admin
            )
            statuses.append(answer.status_code)
        return statuses

    writers = [asyncio.create_task(telemetry()) for _ in range(3)]
    await asyncio.sleep(0.2)
    answers = []
    for n in range(4):
        body = {"kind": "stop", "asset_ids": ids, "idempotency_key": f"burst-{n // 2}"}
        twice = await asyncio.gather(
            client.post("/api/v1/commands", json=body, headers=admin),
            client.post("/api/v1/commands", json=body, headers=admin),
        )
        answers.extend(twice)
    stop.set()
    stored = [s for w in writers for s in await w]
    assert {a.status_code for a in answers} <= {200, 201}, [a.text[:200] for a in answers]
    assert set(stored) == {200}, stored
    assert await _commands(sessions, ids) == 2 * len(ids)  # two keys, once each
