"""Stopping the alerts runtime while the evaluator is inside a transaction, on PostgreSQL (where
a stop mid-evaluation once waited forever; another connection's lock on ``alerts`` holds the
evaluator there): the stop waits for the evaluation to end, so the alert it raises is kept,
and a stop whose evaluation cannot end still returns (``core/tasks.py``, ``STOP_GRACE_S``).
SQLite has no such lock to hold a writer inside its transaction (a second writer fails at
once with "database is locked"), so these run on PostgreSQL only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from tests.alerts.conftest import alerts_of, eventually

from gridpilot.alerts.models import Alert
from gridpilot.core import tasks
from gridpilot.core.timestamps import now_ms

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

#: Seconds the test waits for a stop before calling it hung (two grace periods and more).
STOP_BOUND_S = 20.0


def _connect(database_url: str) -> Awaitable[asyncpg.Connection]:
    url = make_url(database_url)
    return asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)


@asynccontextmanager
async def alerts_locked(database_url: str) -> AsyncIterator[None]:
    """Another connection's transaction holds a lock on ``alerts`` until the block ends: the
    evaluator's writes wait for it inside their transaction."""
    pg = await _connect(database_url)
    transaction = pg.transaction()
    await transaction.start()
    await pg.execute("LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await transaction.rollback()
        await pg.close()


async def _waiting(database_url: str) -> bool:
    """Whether a connection of this database waits on a lock (the evaluator's)."""
    pg = await _connect(database_url)
    try:
        query = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool(await pg.fetchval(query))
    finally:
        await pg.close()


async def _threshold_rule(env) -> tuple[int, int]:
    _, asset_id = await env.site("Shutdown site")
    rule = await env.rule(
        name="High load", kind="threshold", metric="power_kw", asset_id=asset_id,
        params={"operator": "above", "threshold": 100},
    )  # fmt: skip
    await alerts_of(env.app).idle()
    return rule["id"], asset_id


async def _breach(env, asset_id: int) -> None:
    body = [{"asset": asset_id, "metric": "power_kw", "ts": now_ms(), "value": 150.0}]
    stored = await env.client.post("/api/v1/telemetry", json=body, headers=env.admin)
    assert stored.json() == {"stored": 1, "rejected": []}, stored.text
    await env.app.state.telemetry.flush()


async def _stored_alerts(sessions, rule_id: int) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).where(Alert.rule_id == rule_id)))


async def test_a_stop_mid_evaluation_ends_and_keeps_the_alert_being_raised(env, app, database_url):
    rule_id, asset_id = await _threshold_rule(env)
    alerts = alerts_of(app)
    async with alerts_locked(database_url):
        await _breach(env, asset_id)
        await eventually(lambda: _waiting(database_url))
        stopping = asyncio.ensure_future(alerts.stop())
        await asyncio.sleep(0.3)
        assert not stopping.done()  # the evaluation in progress is not cut
    await asyncio.wait_for(stopping, STOP_BOUND_S)
    assert await _stored_alerts(app.state.sessions, rule_id) == 1


async def test_a_stop_mid_evaluation_that_cannot_end_is_bounded(
    env, app, database_url, monkeypatch
):
    monkeypatch.setattr(tasks, "STOP_GRACE_S", 0.5)
    rule_id, asset_id = await _threshold_rule(env)
    alerts = alerts_of(app)
    async with alerts_locked(database_url):
        await _breach(env, asset_id)
        await eventually(lambda: _waiting(database_url))
        await asyncio.wait_for(alerts.stop(), STOP_BOUND_S)  # the lock is still held
    assert await _stored_alerts(app.state.sessions, rule_id) == 0
