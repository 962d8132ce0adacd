"""Rotating refresh tokens with reuse detection (OAuth 2.0 Security BCP, section 4.14).

A refresh token is 256 random bits, stored only as its SHA-256. Every token belongs to a family
started by one password login. Redeeming a token marks it used and issues its successor in the
same family; presenting a token that was already used means it leaked (or a client misbehaves),
so the whole family is revoked and every token in it stops working.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.models import RefreshToken, User
from gridpilot.auth.oauth import OAuthError
from gridpilot.auth.tokens import new_opaque_token, sha256_hex
from gridpilot.db.base import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedRefreshToken:
    raw: str
    row: RefreshToken


async def issue_refresh_token(
    *,
    session: AsyncSession,
    user_id: int,
    scope: str,
    ttl_s: int,
    family_id: str | None = None,
) -> IssuedRefreshToken:
    """A new token in ``family_id`` (a new family when None), valid ``ttl_s`` seconds.

    ``scope`` is what the login asked for ("" = whatever the user's role allows at refresh time).
    """
    now = utcnow()
    raw = new_opaque_token(32)
    row = RefreshToken(
        id=uuid.uuid4().hex,
        family_id=family_id or uuid.uuid4().hex,
        user_id=user_id,
        token_hash=sha256_hex(raw),
        scope=scope,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )
    session.add(row)
    await session.flush()
    return IssuedRefreshToken(raw, row)


async def redeem_refresh_token(*, session: AsyncSession, raw: str) -> RefreshToken:
    """Mark the token ``raw`` used and return it, or raise ``invalid_grant``.

    Atomic: of two concurrent redemptions exactly one wins; the other counts as reuse. On reuse
    (a theft signal) the family is revoked and the user's ``token_version`` moves on, so the
    access tokens already issued stop working too (``auth.revocation``); both are flushed before
    the error, which says ``keep_changes``: the caller commits even though it answers the error.
    """
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(raw))
    )
    if row is None:
        raise OAuthError("invalid_grant", "unknown refresh token")
    now = utcnow()
    if row.revoked_at is not None:
        raise OAuthError("invalid_grant", "refresh token revoked")
    if row.expires_at <= now:
        raise OAuthError("invalid_grant", "refresh token expired")
    result = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == row.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        await revoke_family(session=session, family_id=row.family_id)
        await session.execute(
            update(User)
            .where(User.id == row.user_id)
            .values(token_version=User.token_version + 1)
            .execution_options(synchronize_session=False)
        )
        await audit.record(
            session,
            action="auth.refresh_reuse",
            outcome=audit.FAILURE,
            actor=audit.user_target(row.user_id),
            target=audit.user_target(row.user_id),
            detail={"reason": "family revoked, access tokens ended"},
        )
        log.warning(
            "refresh token reuse detected: family %s of user %s revoked, access tokens ended",
            row.family_id,
            row.user_id,
        )
        raise OAuthError(
            "invalid_grant",
            "refresh token already used; this login's tokens and the user's access tokens "
            "are revoked",
            keep_changes=True,
        )
    return row


async def revoke_family(*, session: AsyncSession, family_id: str) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.flush()


async def revoke_refresh_token(*, session: AsyncSession, raw: str) -> bool:
    """Log out: revoke the family of the refresh token ``raw`` (its login's every token);
    False when no such usable token exists (RFC 7009 2.2: not an error for the caller)."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == sha256_hex(raw))
    )
    if row is None or row.revoked_at is not None:
        return False
    await revoke_family(session=session, family_id=row.family_id)
    return True


async def revoke_user_refresh_tokens(*, session: AsyncSession, user_id: int) -> None:
    """End every refresh-token session of a user (password change, disabling, role change)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.flush()


async def prune_expired_refresh_tokens(*, session: AsyncSession, user_id: int) -> None:
    """Forget a user's expired tokens (they can no longer be redeemed or reused)."""
    await session.execute(
        delete(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.expires_at < utcnow())
        .execution_options(synchronize_session=False)
    )
