"""Engine and session factory, built from Settings at the edge (never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gridpilot.core import crypto
from gridpilot.core.datadir import private_file
from gridpilot.core.settings import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _drop_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Checkout check without a round trip (``pool_pre_ping`` costs three on asyncpg: BEGIN, ping,
    ROLLBACK): asyncpg knows when PostgreSQL closed the socket (restart, terminated backend), and
    the pool then replaces the connection."""
    is_closed = getattr(dbapi_connection.driver_connection, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the database closed this connection")


def make_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``settings``; the SQLite file is created owner-only if needed.

    It also loads the keys that seal stored secrets (``core/crypto.py``). SQL parameters are
    left out of its errors (``hide_parameters``), so a logged database error
    never shows the values of a statement (password and token hashes, readings).
    """
    if settings.mode == "production":
        crypto.load_keyring(settings)  # a missing or malformed key stops the start, not a write
    crypto.use(settings)  # the keys of the columns' secrets at rest, loaded at first use
    url = settings.resolved_database_url
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(Path(path))  # 0600 before SQLite creates it (and its -wal, -shm)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "checkout", _drop_closed_connection)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed on success and rolled back on error (for workers/CLI)."""
    async with sessions() as session, session.begin():
        yield session
