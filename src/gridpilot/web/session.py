"""Dashboard log-in: the token endpoint's grants, tokens kept in the user's server-side storage.

The session lasts as long as the refresh token (``GRIDPILOT_REFRESH_TOKEN_TTL_S``); the access
token is renewed through the refresh grant when it expires, so revoking a user's refresh tokens
ends their dashboard session too.
"""

from __future__ import annotations

import logging
from typing import Any

from nicegui import app as gui

from gridpilot.auth.dependencies import principal_from_claims, token_config
from gridpilot.auth.grants import password_grant, refresh_token_grant
from gridpilot.auth.oauth import OAuthError
from gridpilot.auth.permissions import Principal
from gridpilot.auth.tokens import decode_access_token
from gridpilot.core.errors import AuthenticationFailed
from gridpilot.web.context import current

log = logging.getLogger(__name__)

_ACCESS = "access_token"
_REFRESH = "refresh_token"


def _storage() -> Any:
    return gui.storage.user


async def log_in(username: str, password: str) -> str | None:
    """Log ``username`` in; returns None on success, else the message to show."""
    context = current()
    settings = context.settings
    try:
        async with context.session() as session:
            grant = await password_grant(
                session=session,
                config=token_config(settings),
                refresh_ttl_s=settings.refresh_token_ttl_s,
                username=username.strip(),
                password=password,
                scope=None,
            )
    except OAuthError:
        return "Wrong username or password, or the account is disabled."
    storage = _storage()
    storage[_ACCESS] = grant.access_token
    storage[_REFRESH] = grant.refresh_token
    return None


def log_out() -> None:
    storage = _storage()
    storage.pop(_ACCESS, None)
    storage.pop(_REFRESH, None)


async def _refreshed(refresh: str) -> str | None:
    context = current()
    settings = context.settings
    try:
        async with context.session() as session:
            grant = await refresh_token_grant(
                session=session,
                config=token_config(settings),
                refresh_ttl_s=settings.refresh_token_ttl_s,
                refresh_token=refresh,
                scope=None,
            )
    except OAuthError:
        return None
    storage = _storage()
    storage[_ACCESS] = grant.access_token
    storage[_REFRESH] = grant.refresh_token
    return grant.access_token


async def principal() -> Principal | None:
    """The logged-in user's principal, or None when logged out or the session expired."""
    storage = _storage()
    token = storage.get(_ACCESS)
    if not token:
        return None
    config = token_config(current().settings)
    try:
        return principal_from_claims(decode_access_token(config, token))
    except AuthenticationFailed:
        refresh = storage.get(_REFRESH)
        renewed = await _refreshed(refresh) if refresh else None
        if renewed is None:
            log_out()
            return None
        return principal_from_claims(decode_access_token(config, renewed))
