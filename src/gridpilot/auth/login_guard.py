"""The limits of one app's password checks and ``/auth`` requests (``LOGIN_GUARD``).

With ``GRIDPILOT_REDIS_URL`` the per-client limits and the lock-outs of unknown usernames are
shared by every process through Redis (``core.limits``); without it each process counts alone.
Account lock-outs of existing users live in the database (``users.failed_logins``,
``users.locked_until``) and are shared either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridpilot.auth.passwords import HashGate
from gridpilot.core.limits import Limiter, Limits, Lockout
from gridpilot.core.runtime import Slot, runtime_of
from gridpilot.core.settings import Settings


@dataclass
class LoginGuard:
    #: Every ``/auth`` request per client address (``auth_rate_limit_per_min``).
    requests: Limiter
    #: Password checks per client address (``login_rate_limit_per_min``).
    logins: Limiter
    #: The lock-outs of usernames that do not exist (``auth.lockout``).
    unknown_users: Lockout
    #: argon2 work in worker threads, ``password_hash_concurrency`` at a time.
    hashes: HashGate
    max_failures: int
    lockout_s: int
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginGuard:
        limits = Limits(settings.redis_url, settings.redis_channel_prefix)
        return cls(
            requests=limits.limiter("auth", settings.auth_rate_limit_per_min),
            logins=limits.limiter("login", settings.login_rate_limit_per_min),
            unknown_users=limits.lockout(
                "unknown-user", settings.login_max_failures, settings.login_lockout_s
            ),
            hashes=HashGate(settings.password_hash_concurrency),
            max_failures=settings.login_max_failures,
            lockout_s=settings.login_lockout_s,
            limits=limits,
        )

    async def stop(self) -> None:
        """Close the Redis client (a runtime of the app: stopped with it)."""
        await self.limits.stop()


#: The app's password-check limits and lock-outs (``core/runtime.py``).
LOGIN_GUARD: Slot[LoginGuard] = Slot("login_guard")


def login_guard(app: Any) -> LoginGuard:
    """The guard of ``app`` (a FastAPI app), made from its settings on first use."""
    runtime = runtime_of(app)
    return runtime.get_or_make(LOGIN_GUARD, lambda: LoginGuard.from_settings(runtime.settings))


def client_address(request: Any) -> str:
    """The client address of a Starlette request; behind a proxy, what the ASGI server made of
    ``X-Forwarded-For`` (only proxies in ``GRIDPILOT_TRUSTED_PROXIES`` are believed)."""
    client = getattr(request, "client", None)
    return str(client.host) if client else "-"
