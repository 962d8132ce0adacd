"""Access tokens stop working within seconds of a change of the rights behind them.

A JWT access token is self-contained, so on its own it would outlive a disabled, demoted or deleted
user, or a revoked key, until ``exp`` (up to an hour). Each user carries ``token_version``, bumped
by ``auth.service.revoke_sessions`` (disable, role or sites changed, password reset, refresh-token
reuse); user tokens carry it as ``ver`` (missing = 0). Before a bearer token is trusted, the current
state of its user (version, enabled) or key (not revoked) is read, at most once per
``GRIDPILOT_AUTH_RECHECK_S`` per user or key and process; the process that makes a change forgets
its entry at once. User ids are never reused, so a deleted user's token cannot pass as another's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridpilot.auth.models import ApiKey, User
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import AuthenticationFailed
from gridpilot.core.runtime import Slot, runtime_of

#: A user or key no longer allowed in: disabled, deleted or revoked.
GONE = -1


class RightsCache:
    """The current token version of users (``GONE`` when disabled or deleted) and whether keys
    are usable, each trusted for ``ttl_s`` seconds. Bounded: cleared when full."""

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[float, int]] = {}

    def forget_user(self, user_id: int) -> None:
        self._entries.pop(f"user:{user_id}", None)

    def forget_key(self, api_key_id: int) -> None:
        prefix = f"key:{api_key_id}:"
        for name in [n for n in self._entries if n.startswith(prefix)]:
            self._entries.pop(name, None)

    async def check(self, sessions: async_sessionmaker[AsyncSession], principal: Principal) -> None:
        """``AuthenticationFailed`` when the token of ``principal`` has been revoked."""
        if principal.user_id is not None:
            current = await self._state(sessions, f"user:{principal.user_id}")
            if current == GONE:
                raise AuthenticationFailed("access token revoked: the user is disabled or deleted")
            if current != (principal.token_version or 0):
                raise AuthenticationFailed(
                    "access token revoked: the user's rights changed; sign in again"
                )
        elif principal.api_key_id is not None:
            key_id = principal.subject.partition(":")[2]  # the public key_id, unique forever
            state = await self._state(sessions, f"key:{principal.api_key_id}:{key_id}")
            if state == GONE:
                raise AuthenticationFailed("access token revoked: its API key was revoked")

    async def _state(self, sessions: async_sessionmaker[AsyncSession], name: str) -> int:
        now = self.clock()
        entry = self._entries.get(name)
        if entry is not None and now < entry[0]:
            return entry[1]
        state = await _read_state(sessions, name)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[name] = (now + self.ttl_s, state)
        return state


async def _read_state(sessions: async_sessionmaker[AsyncSession], name: str) -> int:
    kind, _, ident = name.partition(":")
    async with sessions() as session:
        if kind == "user":
            user = (
                await session.execute(
                    select(User.token_version, User.disabled).where(User.id == int(ident))
                )
            ).first()
            return GONE if user is None or user.disabled else int(user.token_version or 0)
        number, _, key_id = ident.partition(":")
        key = (
            await session.execute(
                select(ApiKey.revoked_at, ApiKey.key_id).where(ApiKey.id == int(number))
            )
        ).first()
        # a deleted key's database id may be reused on SQLite: the public key_id must match
        gone = key is None or key.revoked_at is not None or key.key_id != key_id
        return GONE if gone else 0


#: The app's user and key states (``core/runtime.py``).
RIGHTS_CACHE: Slot[RightsCache] = Slot("rights_cache")


def rights_cache(app: FastAPI) -> RightsCache:
    """The app's cache of user and key states (made on first use)."""
    runtime = runtime_of(app)
    return runtime.get_or_make(RIGHTS_CACHE, lambda: RightsCache(runtime.settings.auth_recheck_s))


async def check_not_revoked(app: FastAPI, principal: Principal) -> None:
    """``AuthenticationFailed`` when the access token behind ``principal`` was revoked."""
    await rights_cache(app).check(runtime_of(app).sessions, principal)
