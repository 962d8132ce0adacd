"""Which failures are storage outages: the only ones MQTT ingestion retries.

An outage (the database refuses or lost the connection, is shutting down, out of resources;
the telemetry writer's ``Unavailable``) passes: the batch waits and retries, unacknowledged.
Any other failure is a poison: a bug triggered by the message or a value the database refuses.
Retrying it would stall ingestion for good, so the batch isolates the message and dead-letters
it. An ``OSError`` of no known connection kind is settled by asking the database itself.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from enum import Enum

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.core.errors import GridpilotError, Unavailable

#: OSError numbers of a connection that could not be made or was lost.
CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
        errno.ENOTCONN,
        errno.EADDRNOTAVAIL,
        errno.ESHUTDOWN,
    }
)
#: SQLSTATE classes of an unavailable PostgreSQL: 08 connection exception, 40 transaction
#: rollback (serialization failure, deadlock: retrying succeeds), 53 insufficient resources,
#: 57 operator intervention (shutdown, cannot connect now, statement timeout), 58 system error.
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
#: ... and single codes: read-only transaction (a standby after a fail-over), lock not
#: available, object in use.
OUTAGE_SQLSTATES = frozenset({"25006", "55P03", "55006"})
PROBE_TIMEOUT_S = 5.0


class Failure(Enum):
    OUTAGE = "outage"
    POISON = "poison"
    UNSURE = "unsure"  # an OSError of unknown kind: ask the database


def classify(exc: BaseException, *, depth: int = 0) -> Failure:
    """Whether ``exc`` is a storage outage, a poison, or an ``OSError`` to settle by probing."""
    if isinstance(exc, Unavailable):
        return Failure.OUTAGE
    if isinstance(exc, GridpilotError):  # raised on purpose about the input
        return Failure.POISON
    if isinstance(exc, DBAPIError):
        return _classify_dbapi(exc)
    if isinstance(exc, DisconnectionError | PoolTimeout | TimeoutError | ConnectionError):
        return Failure.OUTAGE
    if isinstance(exc, socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in CONNECTION_ERRNOS
    ):
        return Failure.OUTAGE
    if isinstance(exc, OSError):
        return Failure.UNSURE
    cause = exc.__cause__  # e.g. a library's own error raised from a lost connection
    if cause is not None and depth < 5:
        return classify(cause, depth=depth + 1)
    return Failure.POISON


def _classify_dbapi(exc: DBAPIError) -> Failure:
    """A driver's error: an outage when the connection is lost or was never made, or its
    SQLSTATE says the server is unavailable; else a poison."""
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return Failure.OUTAGE
    if exc.statement is None:  # raised while connecting (e.g. connections not allowed)
        return Failure.OUTAGE
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str) and (
        sqlstate[:2] in OUTAGE_SQLSTATE_CLASSES or sqlstate in OUTAGE_SQLSTATES
    ):
        return Failure.OUTAGE
    return Failure.POISON


async def database_answers(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """True when the database answers a trivial query within ``PROBE_TIMEOUT_S``."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S), sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def is_outage(exc: BaseException, sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the failure ``exc`` is a storage outage (retry) rather than a poison."""
    found = classify(exc)
    if found is Failure.UNSURE:
        return not await database_answers(sessions)
    return found is Failure.OUTAGE
