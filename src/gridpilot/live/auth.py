"""Authentication of WebSocket clients with the API's own credentials (JWT or API key).

The credential travels in the ``Sec-WebSocket-Protocol`` header (``bearer, <credential>``) or
in the first message (``{"type": "auth", "token": ...}``), never in the URL (URLs get logged).
"""

from __future__ import annotations

from fastapi import FastAPI

from gridpilot.auth.api_keys import parse_raw_key, principal_for_api_key
from gridpilot.auth.dependencies import api_key_cache, principal_from_claims, token_config
from gridpilot.auth.permissions import Principal
from gridpilot.auth.revocation import check_not_revoked
from gridpilot.auth.tokens import decode_access_token
from gridpilot.core.errors import AuthenticationFailed
from gridpilot.core.runtime import runtime_of

MAX_CREDENTIAL_LENGTH = 4096


async def authenticate(app: FastAPI, credential: object) -> tuple[Principal, float | None]:
    """(principal, expiry in epoch s or None) of a JWT access token or an API key.

    Raises ``AuthenticationFailed`` when the credential is missing, malformed, invalid,
    expired or revoked.
    """
    if not isinstance(credential, str) or not credential.strip():
        raise AuthenticationFailed("not authenticated: send a Bearer token or an API key")
    if len(credential) > MAX_CREDENTIAL_LENGTH:
        raise AuthenticationFailed("credential too long")
    credential = credential.strip()
    if parse_raw_key(credential) is not None:
        cache = api_key_cache(app)
        principal = cache.get(credential)
        if principal is None:
            async with runtime_of(app).sessions() as session, session.begin():
                principal = await principal_for_api_key(session, credential, cache=cache)
        return principal, None
    claims = decode_access_token(token_config(runtime_of(app).settings), credential)
    principal = principal_from_claims(claims)
    await check_not_revoked(app, principal)
    return principal, float(claims["exp"])
