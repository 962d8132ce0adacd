"""Storage outages are told from poisons with real errors of both back ends; an outage of the
real PostgreSQL is waited out by the MQTT batch, not dead-lettered (#13)."""

from __future__ import annotations

import asyncio
import errno
import json
import os
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from tests.conftest import PG_HOST, PG_PORT, PG_USER
from tests.ingest.broker import free_port
from tests.ingest.conftest import HOUR_AGO_MS, count_readings

from gridpilot.core.errors import Unavailable, ValidationFailed
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import now_ms
from gridpilot.db.engine import make_engine
from gridpilot.ingest.mqtt_batch import BatchOutcome, Inbound
from gridpilot.ingest.outages import Failure, classify, database_answers, is_outage

EOVERFLOW = OSError(errno.EOVERFLOW, os.strerror(errno.EOVERFLOW))  # the probe's OSError


async def error_of(sessions: async_sessionmaker[AsyncSession], *sql: str) -> Exception:
    """The error the statements ``sql`` raise in one transaction (rolled back)."""
    try:
        async with sessions() as session:
            for statement in sql:
                await session.execute(text(statement))
    except Exception as exc:
        return exc
    raise AssertionError(f"{sql} did not fail")


def wrapped(cause: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("a library's own error") from cause
    except RuntimeError as exc:
        return exc


def test_errors_about_the_input_or_from_bugs_are_not_outages():
    assert classify(Unavailable("storage unavailable")) is Failure.OUTAGE
    assert classify(ConnectionRefusedError(errno.ECONNREFUSED, "refused")) is Failure.OUTAGE
    assert classify(wrapped(ConnectionResetError())) is Failure.OUTAGE
    assert classify(ValidationFailed("bad")) is Failure.POISON
    assert classify(ValueError("year 292278994 is out of range")) is Failure.POISON
    assert classify(OverflowError()) is Failure.POISON
    assert classify(wrapped(KeyError("x"))) is Failure.POISON
    assert classify(EOVERFLOW) is Failure.UNSURE  # settled by asking the database


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_an_unreachable_database_is_an_outage(kind, tmp_path: Path):
    if kind == "postgresql":
        engine = make_engine(
            Settings(database_url=f"postgresql://{PG_USER}@127.0.0.1:{free_port()}/nowhere")
        )
    else:  # a directory: no database file can be opened there
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}")
    try:
        sessions = async_sessionmaker(engine)
        error = await error_of(sessions, "SELECT 1")
        assert await is_outage(error, sessions), repr(error)
        assert not await database_answers(sessions)
        assert await is_outage(EOVERFLOW, sessions)  # no answer: taken for an outage
    finally:
        await engine.dispose()


async def test_with_the_database_up_errors_of_the_input_are_poisons(backend, sessions):
    assert await database_answers(sessions)
    assert not await is_outage(EOVERFLOW, sessions)
    if backend == "postgresql":
        assert not await is_outage(await error_of(sessions, "SELECT 1/0"), sessions)
        assert not await is_outage(await error_of(sessions, "SELECT 'x'::int"), sessions)
        timeout = await error_of(sessions, "SET LOCAL statement_timeout = 1", "SELECT pg_sleep(1)")
        assert await is_outage(timeout, sessions)  # 57014: an overloaded server


async def test_a_postgresql_outage_is_waited_out_not_dead_lettered(
    backend, database_url, sessions, worker, prefix, device
):
    """Connections refused and the open ones terminated: the batch retries until the database
    is back, then stores; nothing is dead-lettered."""
    if backend != "postgresql":
        pytest.skip("the outage is made on the PostgreSQL server")
    name = database_url.rsplit("/", 1)[1]
    asset, site = device["id"], device["site_id"]
    body = {"ts": HOUR_AGO_MS, "values": {"power_kw": 4.5}}
    message = Inbound(
        f"{prefix}gridpilot/{site}/{asset}/telemetry",
        json.dumps(body).encode(),
        qos=0,
        mid=0,
        received_ms=now_ms(),
    )
    admin = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        task = asyncio.create_task(worker.processor.process_isolating([message]))
        await asyncio.sleep(2)
        assert not task.done(), task.result()  # waiting for the database
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    outcome = await asyncio.wait_for(task, 60)
    assert outcome == BatchOutcome(messages=1, stored=1, rejects=0)
    assert await count_readings(sessions, asset) == 1
    async with sessions() as session:
        assert await session.scalar(text("SELECT COUNT(*) FROM ingest_rejects")) == 0
