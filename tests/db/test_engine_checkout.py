"""PostgreSQL pool: a connection the server closed is replaced at checkout (no ping round trip)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from gridpilot.db.engine import make_engine


async def test_a_connection_closed_by_the_server_is_replaced(settings, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has no server to close connections")
    engine = make_engine(settings, pool_size=1, max_overflow=0)
    killer = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with killer.connect() as connection:
            await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            for _ in range(100):  # until the backend has exited (its socket is closed)
                if await connection.scalar(alive, {"pid": pid}) == 0:
                    break
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # let the event loop see the closed socket, as an idle pool does
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        await engine.dispose()
        await killer.dispose()
