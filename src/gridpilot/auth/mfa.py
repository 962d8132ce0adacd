"""TOTP second factor (RFC 6238 through ``pyotp``): enrolment, checks at log-in, recovery codes.

- Enrol: ``begin_enrolment`` stores a new base32 secret (not yet active) and answers it once, as
  text and as an ``otpauth://`` URI; ``confirm_enrolment`` turns it on when a first code is right
  and answers 10 recovery codes once (only their argon2 hashes are kept).
- Log-in: the password grant of a user with the factor on answers ``mfa_required`` and a
  short-lived MFA token (a JWT of its own audience, never an access token); the ``mfa_otp`` grant
  trades it and a code for the tokens (``auth.grants``).
- Codes: 6 digits, 30 s steps, one step either side; a step once accepted (or an earlier one) is
  refused again (replay). A recovery code works once. Every code check counts against the
  client's log-in limit, and a wrong code counts toward the account lock-out like a wrong password.

The secret is stored as is (gridpilot has no secrets-at-rest helper yet: docs/security.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time

import jwt
import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.lockout import AccountLocked, clear_failures, count_failure, locked_for
from gridpilot.auth.login_guard import LoginGuard
from gridpilot.auth.models import MfaRecoveryCode, User
from gridpilot.auth.passwords import hash_password
from gridpilot.auth.tokens import TokenConfig
from gridpilot.core.errors import AuthenticationFailed, Conflict, ValidationFailed
from gridpilot.db.base import utcnow

ISSUER = "gridpilot"
RECOVERY_CODES = 10
MFA_TOKEN_TTL_S = 300
STEP_S = 30
_ALGORITHM = "HS256"
#: The clock of code checks [epoch s] (tests set a fixed time).
clock = time.time


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=6, interval=STEP_S)


def matching_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """The time step (of ``at``, or one either side) whose code is ``code``, else None."""
    now = clock() if at is None else at
    totp = _totp(secret)
    step = totp.timecode(_utc(now))
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


async def begin_enrolment(*, session: AsyncSession, user: User) -> tuple[str, str]:
    """A new secret for ``user`` (inactive until confirmed): (base32 text, otpauth URI)."""
    if user.mfa_enabled:
        raise Conflict("the second factor is already on; turn it off first")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_last_step = None
    await session.flush()
    uri = _totp(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return secret, uri


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


async def _replace_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    await session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    hashes = await asyncio.to_thread(lambda: [hash_password(c) for c in codes])
    session.add_all(MfaRecoveryCode(user_id=user.id, code_hash=h) for h in hashes)
    await session.flush()
    return codes


async def confirm_enrolment(
    *, session: AsyncSession, user: User, code: str, guard: LoginGuard, client: str
) -> list[str]:
    """Turn the factor on when ``code`` is right for the pending secret; the recovery codes."""
    if user.mfa_enabled or not user.totp_secret:
        raise Conflict("no pending enrolment: ask for a new secret first")
    await check_code(session=session, guard=guard, user=user, code=code, client=client)
    user.mfa_enabled = True
    await session.flush()
    return await _replace_recovery_codes(session, user)


async def _use_recovery_code(
    session: AsyncSession, guard: LoginGuard, user: User, code: str
) -> bool:
    rows = await session.scalars(
        select(MfaRecoveryCode).where(
            MfaRecoveryCode.user_id == user.id, MfaRecoveryCode.used_at.is_(None)
        )
    )
    for row in rows:
        if await guard.hashes.verify(row.code_hash, code.lower()):
            used = await session.execute(
                update(MfaRecoveryCode)
                .where(MfaRecoveryCode.id == row.id, MfaRecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(used, "rowcount", 0) == 1)
    return False


async def _use_totp(session: AsyncSession, user: User, code: str) -> bool:
    assert user.totp_secret is not None
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    last = user.totp_last_step
    if last is not None and step <= last:
        return False  # replay: refused without writing (a write would hold SQLite's lock)
    claimed = await session.execute(
        update(User)
        .where(User.id == user.id, (User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )
    user.totp_last_step = step if getattr(claimed, "rowcount", 0) == 1 else last
    return bool(getattr(claimed, "rowcount", 0) == 1)


async def check_code(
    *, session: AsyncSession, guard: LoginGuard, user: User, code: str, client: str
) -> str:
    """``totp`` or ``recovery`` when ``code`` is one of ``user``'s, else ``ValidationFailed``.

    Limited per client and locked out like a password (``auth.lockout``): ``AccountLocked``.
    """
    await guard.logins.hit(client)
    locked = locked_for(user)
    if locked:
        raise AccountLocked(locked)
    code = code.strip().replace(" ", "")
    method = None
    if code.isdigit() and len(code) == 6 and user.totp_secret:
        method = "totp" if await _use_totp(session, user, code) else None
    elif user.mfa_enabled and 8 <= len(code) <= 20:
        method = "recovery" if await _use_recovery_code(session, guard, user, code) else None
    if method is not None:
        await clear_failures(session, user)
        return method
    locked = await count_failure(session, guard, user.id)
    if locked:
        raise AccountLocked(locked)
    raise ValidationFailed("wrong, expired or already used code")


async def disable(*, session: AsyncSession, user: User) -> None:
    """Turn the factor off: secret and recovery codes forgotten (the caller checked the right)."""
    user.mfa_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    await session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.user_id == user.id))
    await session.flush()


def _audience(config: TokenConfig) -> str:
    return f"{config.audience}:mfa"


def encode_mfa_token(config: TokenConfig, user: User) -> str:
    """A short-lived token that proves the password was right (for the ``mfa_otp`` grant)."""
    now = int(time.time())
    payload = {
        "sub": f"user:{user.id}",
        "iss": config.issuer,
        "aud": _audience(config),
        "iat": now,
        "exp": now + MFA_TOKEN_TTL_S,
        "ver": user.token_version or 0,
    }
    return jwt.encode(payload, config.secret, algorithm=_ALGORITHM)


def decode_mfa_token(config: TokenConfig, token: str) -> tuple[int, int]:
    """(user id, token version) of a valid MFA token, else ``AuthenticationFailed``."""
    try:
        claims = jwt.decode(
            token,
            config.secret,
            algorithms=[_ALGORITHM],
            audience=_audience(config),
            issuer=config.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        raise AuthenticationFailed("invalid or expired MFA token: log in again") from None
    kind, _, ident = str(claims["sub"]).partition(":")
    if kind != "user" or not ident.isdigit():
        raise AuthenticationFailed("invalid MFA token")
    return int(ident), int(claims.get("ver", 0))
