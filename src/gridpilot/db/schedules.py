"""Scheduled jobs run once per interval across processes sharing one database.

Every API process (``serve --workers N``, or several hosts) starts the same periodic jobs.
Before a run, a job claims it in ``scheduled_runs``: a compare-and-set that succeeds only when
no process started the job in the last ``CLAIM_FRACTION`` of its interval. The first process to
get there runs it; the others skip that round. When that process dies, another one takes over
within one interval. Works the same on SQLite and PostgreSQL; no lock is held while the job runs.
A domain's job is one ``claimed_periodic(...)``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable

from sqlalchemy import BigInteger, String, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.core.periodic import Periodic
from gridpilot.core.timestamps import now_ms
from gridpilot.db.base import Base
from gridpilot.db.inserts import dialect_insert

#: A run may start when the last one of any process started at least this share of an
#: interval ago (below 1 so that jitter of the processes' timers does not skip a round).
CLAIM_FRACTION = 0.9


class ScheduledRun(Base):
    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    started_ms: Mapped[int] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(200))


def process_name() -> str:
    """``host:pid`` of this process (who ran a job, for people reading the table)."""
    return f"{socket.gethostname()[:150]}:{os.getpid()}"


async def claim_run(
    session: AsyncSession, name: str, interval_s: float, *, at_ms: int, owner: str
) -> bool:
    """True when the caller may run job ``name`` at ``at_ms`` [epoch ms] (and it is recorded
    as started); False when another run started less than ``CLAIM_FRACTION * interval_s`` ago.
    The caller commits."""
    latest_allowed = at_ms - int(CLAIM_FRACTION * interval_s * 1000)
    claimed = await session.execute(
        update(ScheduledRun)
        .where(ScheduledRun.name == name, ScheduledRun.started_ms <= latest_allowed)
        .values(started_ms=at_ms, owner=owner)
    )
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        return True
    first = await session.execute(
        dialect_insert(session)(ScheduledRun)
        .values(name=name, started_ms=at_ms, owner=owner)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return bool(first.rowcount == 1)  # type: ignore[attr-defined]


def run_claimer(
    sessions: async_sessionmaker[AsyncSession], name: str, interval_s: float
) -> Callable[[], Awaitable[bool]]:
    """The ``claim`` of a ``core.periodic.Periodic``: claims each run of job ``name``."""
    owner = process_name()

    async def claim() -> bool:
        async with sessions() as session, session.begin():
            return await claim_run(session, name, interval_s, at_ms=now_ms(), owner=owner)

    return claim


def claimed_periodic(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    interval_s: float,
    job: Callable[[], Awaitable[object]],
    *,
    first_delay_s: float | None = None,
    claim_name: str | None = None,
) -> Periodic:
    """A ``core.periodic.Periodic`` (not started) running ``job`` every ``interval_s`` [s] in
    one process of several: each round is claimed as ``claim_name`` (default ``name``, the
    key in ``scheduled_runs``). ``first_delay_s``: the first round's delay [s] (default: one
    interval); an interval of 0 is off."""
    claim = run_claimer(sessions, claim_name or name, interval_s)
    return Periodic(name, interval_s, job, first_delay_s=first_delay_s, claim=claim)
