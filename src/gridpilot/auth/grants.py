"""The grants of the token endpoint: password, client_credentials, refresh_token (RFC 6749).

Access-token claims (read back by ``auth.dependencies.principal_from_claims``):
``sub`` ("user:ID" or "key:KEY_ID"), ``role``, ``name``, ``sites`` (list, or null = all sites),
``assets`` (device keys only), ``scope`` (space-separated permissions), ``kid`` (keys: database id),
``ver`` (users: the ``token_version`` it was issued at; see ``auth.revocation``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.api_keys import authenticate_api_key, parse_raw_key
from gridpilot.auth.lockout import AccountLocked
from gridpilot.auth.login_guard import LoginGuard
from gridpilot.auth.mfa import check_code, decode_mfa_token, encode_mfa_token
from gridpilot.auth.models import ApiKey, User
from gridpilot.auth.oauth import OAuthError, granted_scope, invalid_client, parse_scope
from gridpilot.auth.permissions import Role
from gridpilot.auth.refresh_tokens import (
    issue_refresh_token,
    prune_expired_refresh_tokens,
    redeem_refresh_token,
    revoke_family,
)
from gridpilot.auth.service import authenticate_user, find_user, site_ids_of
from gridpilot.auth.tokens import TokenConfig, encode_access_token
from gridpilot.core.errors import AuthenticationFailed, ValidationFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body


async def _user_access_token(
    session: AsyncSession, config: TokenConfig, user: User, scope: str
) -> str:
    sites = (await site_ids_of(session=session, users=[user]))[user.id]
    claims = {
        "role": user.role,
        "name": user.username,
        "sites": sites,
        "scope": scope,
        "ver": user.token_version or 0,
    }
    return encode_access_token(config, f"user:{user.id}", claims)


def _key_access_token(config: TokenConfig, key: ApiKey, scope: str) -> str:
    claims: dict[str, Any] = {
        "role": key.role,
        "name": key.name,
        "sites": [key.site_id] if key.site_id is not None else None,
        "scope": scope,
        "kid": key.id,
    }
    if key.asset_id is not None:
        claims["assets"] = [key.asset_id]
    return encode_access_token(config, f"key:{key.key_id}", claims)


async def password_grant(
    *,
    session: AsyncSession,
    config: TokenConfig,
    refresh_ttl_s: int,
    username: str,
    password: str,
    scope: str | None,
    guard: LoginGuard,
    client: str,
    via: str = "token",
    mfa_roles: frozenset[str] = frozenset(),
) -> TokenGrant:
    """Resource-owner password credentials (4.3): an access token and a new refresh family.

    A user with a second factor gets ``mfa_required`` (401) and an ``mfa_token`` for the
    ``mfa_otp`` grant; a user of ``mfa_roles`` without one gets ``mfa_enrolment_required`` (401)
    and an ``mfa_token`` good only for enrolling (``/auth/mfa/enrol``).

    ``client`` (its address) counts against the guard's limits: ``RateLimited`` over them; a
    locked account is ``invalid_grant`` with ``retry_after_s``. Every outcome is audited
    (``auth.login``, ``via`` token or dashboard).
    """
    requested = parse_scope(scope)
    try:
        user = await authenticate_user(
            session=session, username=username, password=password, guard=guard, client=client
        )
    except AccountLocked as exc:  # a client over its rate limit is not recorded (no flood)
        await _login_failed(session, username, client, via, exc.code)
        raise OAuthError("invalid_grant", exc.message, retry_after_s=exc.retry_after_s) from None
    if user is None:
        log.info("password login refused", extra={"context": {"username": username[:150]}})
        await _login_failed(session, username, client, via, "wrong_credentials")
        raise OAuthError("invalid_grant", "wrong username or password, or the user is disabled")
    await audit.record(
        session,
        action="auth.login",
        actor=audit.user_target(user.id),
        target=audit.user_target(user.id),
        detail={"via": via},
        client=client,
    )
    _require_no_second_factor(config, user, mfa_roles)
    return await _user_grant(session, config, user, requested, refresh_ttl_s)


def _require_no_second_factor(config: TokenConfig, user: User, mfa_roles: frozenset[str]) -> None:
    """401 ``mfa_required`` with an ``mfa_token`` for a user with a second factor, 401
    ``mfa_enrolment_required`` for a user of ``mfa_roles`` without one (the login audited
    before stays: ``keep_changes``)."""
    if user.mfa_enabled:
        raise OAuthError(
            "mfa_required",
            "a second factor is needed: send grant_type=mfa_otp with this mfa_token and a code",
            status=401,
            keep_changes=True,
            extra={"mfa_token": encode_mfa_token(config, user)},
        )
    if user.role in mfa_roles:
        raise OAuthError(
            "mfa_enrolment_required",
            f"role {user.role!r} needs a second factor: enrol with this mfa_token at "
            "/api/v1/auth/mfa/enrol, then log in again",
            status=401,
            keep_changes=True,
            extra={"mfa_token": encode_mfa_token(config, user)},
        )


async def mfa_otp_grant(
    *,
    session: AsyncSession,
    config: TokenConfig,
    refresh_ttl_s: int,
    mfa_token: str,
    otp: str,
    scope: str | None,
    guard: LoginGuard,
    client: str,
    via: str = "token",
) -> TokenGrant:
    """The second step of a log-in with a second factor: the ``mfa_token`` of the password
    grant and a TOTP or recovery code -> the tokens. Audited as ``auth.mfa``."""
    requested = parse_scope(scope)
    try:
        user_id, version = decode_mfa_token(config, mfa_token)
    except AuthenticationFailed as exc:
        raise OAuthError("invalid_grant", exc.message) from None
    user = await session.get(User, user_id)
    if user is None or user.disabled or not user.mfa_enabled or user.token_version != version:
        raise OAuthError("invalid_grant", "invalid MFA token: log in again")
    target = audit.user_target(user.id)
    try:
        method = await check_code(session=session, guard=guard, user=user, code=otp, client=client)
    except (ValidationFailed, AccountLocked) as exc:
        await audit.record_failure(
            session, action="auth.mfa", actor="anonymous", target=target,
            detail={"via": via, "reason": exc.code}, client=client,
        )  # fmt: skip
        retry = exc.retry_after_s if isinstance(exc, AccountLocked) else None
        raise OAuthError("invalid_grant", exc.message, retry_after_s=retry) from None
    await audit.record(
        session, action="auth.mfa", actor=target, target=target,
        detail={"via": via, "method": method}, client=client,
    )  # fmt: skip
    return await _user_grant(session, config, user, requested, refresh_ttl_s)


async def _login_failed(
    session: AsyncSession, username: str, client: str, via: str, reason: str
) -> None:
    user = await find_user(session=session, username=username)
    await audit.record_failure(
        session,
        action="auth.login",
        actor="anonymous",
        target=audit.user_target(user.id) if user else f"username:{username[:150]}",
        detail={"via": via, "reason": reason},
        client=client,
    )


async def _user_grant(
    session: AsyncSession,
    config: TokenConfig,
    user: User,
    requested: frozenset[str] | None,
    refresh_ttl_s: int,
) -> TokenGrant:
    """An access token and a new refresh-token family for ``user`` (authenticated)."""
    granted = granted_scope(Role(user.role), requested)
    await prune_expired_refresh_tokens(session=session, user_id=user.id)
    refresh = await issue_refresh_token(
        session=session,
        user_id=user.id,
        scope=" ".join(sorted(requested)) if requested else "",
        ttl_s=refresh_ttl_s,
    )
    access = await _user_access_token(session, config, user, granted)
    return TokenGrant(access, config.ttl_s, granted, refresh.raw)


async def client_credentials_grant(
    *,
    session: AsyncSession,
    config: TokenConfig,
    client_id: str,
    client_secret: str,
    scope: str | None,
) -> TokenGrant:
    """Client credentials (4.4) for an API key: ``client_id`` = key_id, ``client_secret`` = the
    full raw key or its secret part. No refresh token (4.4.3): clients just ask again."""
    requested = parse_scope(scope)
    parsed = parse_raw_key(client_secret)
    if parsed is not None and parsed.key_id != client_id:
        raise invalid_client("client_secret belongs to another client_id")
    secret = parsed.secret if parsed is not None else client_secret
    key = await authenticate_api_key(session=session, key_id=client_id, secret=secret)
    if key is None:
        log.info("client authentication refused", extra={"context": {"clientId": client_id[:40]}})
        await audit.record_failure(
            session, action="auth.client_login", actor="anonymous", target=f"key:{client_id[:40]}",
            detail={"reason": "invalid_client"},
        )  # fmt: skip
        raise invalid_client("unknown client, wrong secret or revoked key")
    await audit.record(
        session, action="auth.client_login", actor=f"key:{key.key_id}", target=f"key:{key.key_id}"
    )
    granted = granted_scope(Role(key.role), requested)
    return TokenGrant(_key_access_token(config, key, granted), config.ttl_s, granted)


async def refresh_token_grant(
    *,
    session: AsyncSession,
    config: TokenConfig,
    refresh_ttl_s: int,
    refresh_token: str,
    scope: str | None,
) -> TokenGrant:
    """Refresh (6): rotate the token within its family; the user's current role and sites apply.

    A narrower ``scope`` than the login's may be asked for, never a wider one.
    """
    requested = parse_scope(scope)
    row = await redeem_refresh_token(session=session, raw=refresh_token)
    user = await session.get(User, row.user_id)
    if user is None or user.disabled:
        await revoke_family(session=session, family_id=row.family_id)
        raise OAuthError("invalid_grant", "the user is disabled", keep_changes=True)
    original = parse_scope(row.scope)
    if requested is not None and original is not None and not requested <= original:
        raise OAuthError("invalid_scope", "a refresh cannot widen the scope of the login")
    role = Role(user.role)
    if requested is None and original is not None:
        # The login's scope, minus what the user's (possibly changed) role no longer allows.
        allowed = set(granted_scope(role, None).split())
        requested = frozenset(original & allowed)
        if not requested:
            raise OAuthError("invalid_scope", "the user's role no longer allows this scope")
    granted = granted_scope(role, requested)
    refresh = await issue_refresh_token(
        session=session,
        user_id=user.id,
        scope=row.scope,
        ttl_s=refresh_ttl_s,
        family_id=row.family_id,
    )
    access = await _user_access_token(session, config, user, granted)
    return TokenGrant(access, config.ttl_s, granted, refresh.raw)
