"""The CER seed's authentication paths, as thin aliases of gridpilot's auth routes.

* ``POST /api/auth/login`` and ``POST /api/auth/refresh``: the RFC 6749 token endpoint
  (``POST /api/v1/auth/token``) itself, the same form-encoded body (``grant_type=password``
  with username and password; ``grant_type=refresh_token``) and the same answers;
* ``POST /api/auth/register``: self-registration (``POST /api/v1/auth/register``, off unless
  ``GRIDPILOT_SELF_REGISTRATION=true``);
* ``POST /api/auth/logout``: ends the login of a refresh token (its whole family is revoked, so
  it can no longer be refreshed); 204 whether or not the token was known (RFC 7009 2.2). The
  access token, short-lived, ends at its ``exp``.

Each is rate limited with the other ``/auth`` routes and also answers with the seed's final
``/``. Unlike the seed's other paths they answer the auth routes' bodies, not the envelope:
stock OAuth2 clients read them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from gridpilot.auth import refresh_tokens
from gridpilot.auth.registration_routes import register
from gridpilot.auth.routes import TOKEN_REQUEST_BODY, issue_token, limit_auth_rate
from gridpilot.auth.schemas import OAuthErrorBody, TokenResponse
from gridpilot.community.seed_paths import both
from gridpilot.db.dependencies import SessionDep

seed_router = APIRouter(tags=["auth"], dependencies=[Depends(limit_auth_rate)])

TOKEN_ANSWERS = {
    "response_model": TokenResponse,
    "response_model_exclude_none": True,
    "openapi_extra": {"requestBody": TOKEN_REQUEST_BODY},
    "responses": {
        400: {"model": OAuthErrorBody, "description": "RFC 6749 5.2 error"},
        401: {"model": OAuthErrorBody, "description": "invalid_client, or mfa_required"},
        429: {"description": "Too many requests or password checks (see Retry-After)"},
    },
}

both(
    seed_router.post,
    "/api/auth/login",
    summary="Log in: the token endpoint (password grant)",
    **TOKEN_ANSWERS,
)(issue_token)
both(
    seed_router.post,
    "/api/auth/refresh",
    summary="Refresh: the token endpoint (refresh_token grant)",
    **TOKEN_ANSWERS,
)(issue_token)
both(
    seed_router.post,
    "/api/auth/register",
    status_code=201,
    summary="Create your own account: POST /api/v1/auth/register",
    responses={403: {"description": "self-registration is off"},
               409: {"description": "username taken"}},
)(register)  # fmt: skip


class LogoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: Annotated[str, Field(min_length=1, max_length=200)]


@both(
    seed_router.post,
    "/api/auth/logout",
    status_code=204,
    summary="Log out: revoke a refresh token's login (204 whether or not it was known)",
)
async def logout(body: LogoutIn, session: SessionDep) -> Response:
    await refresh_tokens.revoke_refresh_token(session=session, raw=body.refresh_token)
    return Response(status_code=204)
