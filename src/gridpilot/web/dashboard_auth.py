"""Dashboard log-in: the token endpoint's grants, tokens kept in server memory (``web.tokens``).

The browser holds only its signed session cookie; its tokens never reach the browser or a file.
Log-in goes through the same limits as the token endpoint (``auth.lockout``: per client address
and per account). The session lasts as long as the refresh token (``GRIDPILOT_REFRESH_TOKEN_TTL_S``)
or until the server restarts; the access token is renewed through the refresh grant when it
expires, so revoking a user's refresh tokens ends their dashboard session too. Log-out revokes
the login's refresh-token family.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nicegui import app as gui
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.dependencies import principal_from_claims, token_config
from gridpilot.auth.grants import (
    TokenGrant,
    mfa_otp_grant,
    password_grant,
    refresh_token_grant,
)
from gridpilot.auth.login_guard import login_guard
from gridpilot.auth.models import RefreshToken
from gridpilot.auth.oauth import OAuthError
from gridpilot.auth.permissions import Principal
from gridpilot.auth.refresh_tokens import revoke_family
from gridpilot.auth.revocation import check_not_revoked
from gridpilot.auth.tokens import decode_access_token, sha256_hex
from gridpilot.core.errors import AuthenticationFailed, RateLimited
from gridpilot.core.runtime import runtime_of
from gridpilot.web.context import current

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "Wrong username or password, or the account is disabled."
MFA_ENROLMENT_NEEDED = (
    "Your role needs a second factor: set up an authenticator app first "
    "(POST /api/v1/auth/mfa/enrol, see docs/security.md), then log in again."
)


def _browser() -> str:
    """The id in this browser's signed session cookie (set by NiceGUI on its first request)."""
    return str(gui.storage.browser["id"])


@asynccontextmanager
async def _grant_session() -> AsyncIterator[AsyncSession]:
    """A session for a grant, committed on success and on errors that keep their changes
    (``OAuthError.keep_changes``: the audit row of a log-in that asks for its second factor, a
    revoked refresh-token family), as the token endpoint does."""
    async with runtime_of(current().app).sessions() as session:
        try:
            yield session
        except OAuthError as exc:
            await (session.commit() if exc.keep_changes else session.rollback())
            raise
        await session.commit()


@dataclass(frozen=True)
class MfaPending:
    """The password was right; the second factor is asked for (the token stays on the server)."""

    mfa_token: str


async def log_in(username: str, password: str, client: str) -> str | MfaPending | None:
    """Log ``username`` in from address ``client``; None on success, ``MfaPending`` when a
    TOTP or recovery code must follow (``complete_mfa``), else the message to show."""
    context = current()
    settings = context.settings
    try:
        async with _grant_session() as session:
            grant = await password_grant(
                session=session,
                config=token_config(settings),
                refresh_ttl_s=settings.refresh_token_ttl_s,
                username=username.strip(),
                password=password,
                scope=None,
                guard=login_guard(context.app),
                client=client,
                via="dashboard",
                mfa_roles=settings.mfa_roles,
            )
    except RateLimited as exc:
        return f"Too many log-in attempts; try again in {exc.retry_after_s} s."
    except OAuthError as exc:
        if exc.error == "mfa_required":
            return MfaPending(exc.extra["mfa_token"])
        if exc.error == "mfa_enrolment_required":
            return MFA_ENROLMENT_NEEDED
        if exc.retry_after_s is not None:  # the account is locked
            return exc.description[0].upper() + exc.description[1:] + "."
        return WRONG_CREDENTIALS
    _keep(grant)
    return None


async def complete_mfa(mfa_token: str, code: str, client: str) -> str | None:
    """The second step of a log-in: None on success, else the message to show."""
    context = current()
    settings = context.settings
    try:
        async with _grant_session() as session:
            grant = await mfa_otp_grant(
                session=session,
                config=token_config(settings),
                refresh_ttl_s=settings.refresh_token_ttl_s,
                mfa_token=mfa_token,
                otp=code.strip(),
                scope=None,
                guard=login_guard(context.app),
                client=client,
                via="dashboard",
            )
    except RateLimited as exc:
        return f"Too many attempts; try again in {exc.retry_after_s} s."
    except OAuthError as exc:
        if exc.retry_after_s is not None:
            return exc.description[0].upper() + exc.description[1:] + "."
        return "Wrong, expired or already used code."
    _keep(grant)
    return None


def _keep(grant: TokenGrant) -> None:
    context = current()
    settings = context.settings
    assert grant.refresh_token is not None
    context.tokens.put(
        _browser(), grant.access_token, grant.refresh_token, settings.refresh_token_ttl_s
    )


async def log_out() -> None:
    """Forget this browser's tokens and revoke its login's refresh tokens."""
    context = current()
    tokens = context.tokens.pop(_browser())
    if tokens is None:
        return
    async with context.session() as session:
        family = await session.scalar(
            select(RefreshToken.family_id).where(
                RefreshToken.token_hash == sha256_hex(tokens.refresh)
            )
        )
        if family is not None:
            await revoke_family(session=session, family_id=family)


async def _refreshed(browser: str, refresh: str) -> str | None:
    context = current()
    settings = context.settings
    try:
        async with _grant_session() as session:
            grant = await refresh_token_grant(
                session=session,
                config=token_config(settings),
                refresh_ttl_s=settings.refresh_token_ttl_s,
                refresh_token=refresh,
                scope=None,
            )
    except OAuthError:
        return None
    assert grant.refresh_token is not None
    context.tokens.put(
        browser, grant.access_token, grant.refresh_token, settings.refresh_token_ttl_s
    )
    return grant.access_token


async def principal() -> Principal | None:
    """The logged-in user's principal, or None when logged out or the session expired."""
    context = current()
    browser = _browser()
    tokens = context.tokens.get(browser)
    if tokens is None:
        return None
    config = token_config(context.settings)
    try:
        user = principal_from_claims(decode_access_token(config, tokens.access))
        await check_not_revoked(context.app, user)  # rights changed: the refresh re-reads them
        return user
    except AuthenticationFailed:
        renewed = await _refreshed(browser, tokens.refresh)
        if renewed is None:
            context.tokens.pop(browser)
            return None
        return principal_from_claims(decode_access_token(config, renewed))
