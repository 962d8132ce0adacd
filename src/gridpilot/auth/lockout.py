"""Every password check: per-client limit, per-account lock-out, argon2 off the event loop.

``check_password`` is the one way a password is checked for the token endpoint, the dashboard
log-in and ``PATCH /users/me``:

1. the client address counts against ``login_rate_limit_per_min`` (``RateLimited``, 429);
2. a locked account is refused at once with ``AccountLocked`` (a ``RateLimited``: 429 and
   ``Retry-After``), even with the right password;
3. the hash is verified in a worker thread through ``LoginGuard.hashes`` (bounded concurrency);
4. a wrong password counts as a failure *in its own transaction* (committed whatever the request
   does next); the ``login_max_failures``-th in a row locks the account ``login_lockout_s``
   seconds. A right one clears the count (flushed with the caller's transaction).

Usernames that do not exist cost the same hash and lock the same way (counted in
``LoginGuard.unknown_users``, not the database), so neither timing nor the lock-out message
tells which names exist.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.login_guard import LoginGuard
from gridpilot.auth.models import User
from gridpilot.core.errors import RateLimited
from gridpilot.db.base import utcnow


class AccountLocked(RateLimited):
    """Too many wrong passwords in a row for one account (HTTP 429 with ``Retry-After``)."""

    code = "account_locked"

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, math.ceil(retry_after_s / 60))
        super().__init__(
            "too many failed log-ins: this account is locked for "
            f"{minutes} more minute{'s' if minutes > 1 else ''}; try again later",
            retry_after_s=retry_after_s,
        )


def locked_for(user: User) -> int:
    if user.locked_until is None:
        return 0
    return max(0, math.ceil((user.locked_until - utcnow()).total_seconds()))


async def count_failure(session: AsyncSession, guard: LoginGuard, user_id: int) -> int:
    """One more failure of ``user_id``, committed at once; the lock-out it starts [s], else 0."""
    bump = (
        update(User)
        .where(User.id == user_id)
        .values(failed_logins=User.failed_logins + 1, updated_at=User.updated_at)
        .returning(User.failed_logins)
    )
    lock = (
        update(User)
        .where(User.id == user_id)
        .values(
            failed_logins=0,
            locked_until=utcnow() + timedelta(seconds=guard.lockout_s),
            updated_at=User.updated_at,
        )
    )
    bind = session.bind
    if isinstance(bind, AsyncEngine):
        async with bind.begin() as connection:
            failures = (await connection.execute(bump)).scalar_one_or_none() or 0
            if failures >= guard.max_failures:
                await connection.execute(lock)
    else:  # a session bound to one connection: the caller's transaction it is
        failures = (await session.execute(bump)).scalar_one_or_none() or 0
        if failures >= guard.max_failures:
            await session.execute(lock)
    return guard.lockout_s if failures >= guard.max_failures else 0


async def clear_failures(session: AsyncSession, user: User) -> None:
    if user.failed_logins or user.locked_until is not None:
        await session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=0, locked_until=None, updated_at=User.updated_at)
            .execution_options(synchronize_session=False)
        )


async def check_password(
    *,
    session: AsyncSession,
    guard: LoginGuard,
    user: User | None,
    username: str,
    password: str,
    client: str,
) -> bool:
    """True when ``password`` is ``user``'s (``user`` None: the name ``username`` is unknown).

    Raises ``RateLimited`` (client over its limit, or too many checks queued) and
    ``AccountLocked`` (the account is, or with this failure becomes, locked).
    """
    await guard.logins.hit(client)
    if user is None:
        locked = await guard.unknown_users.locked_for(username)
    else:
        locked = locked_for(user)
    if locked:
        raise AccountLocked(locked)
    if await guard.hashes.verify(user.password_hash if user else None, password) and user:
        await clear_failures(session, user)
        return True
    if user is None:
        locked = await guard.unknown_users.fail(username)
    else:
        locked = await count_failure(session, guard, user.id)
    if locked:
        await audit.record_failure(
            session,
            action="auth.lockout",
            actor="anonymous",
            target=audit.user_target(user.id) if user else f"username:{username[:150]}",
            detail={"retry_after_s": locked},
            client=client,
        )
        raise AccountLocked(locked)
    return False
