"""HTTP routes of the auth domain: the RFC 6749 token endpoint, users and API keys.

``POST /api/v1/auth/token`` answers RFC 6749 bodies (5.1 success, 5.2 errors), not gridpilot's
``{"error", "message"}`` body, so stock OAuth2 clients understand it. Every ``/auth`` route is
rate limited per client address (``settings.auth_rate_limit_per_min``); password grants also go
through ``auth.lockout`` (``login_rate_limit_per_min`` per client, account lock-out).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData

from gridpilot.auth import audit
from gridpilot.auth.audit_routes import router as audit_router
from gridpilot.auth.dependencies import token_config
from gridpilot.auth.grants import (
    TokenGrant,
    client_credentials_grant,
    mfa_otp_grant,
    password_grant,
    refresh_token_grant,
)
from gridpilot.auth.key_routes import router as key_router
from gridpilot.auth.login_guard import client_address, login_guard
from gridpilot.auth.mfa_routes import enrolment_router
from gridpilot.auth.mfa_routes import router as mfa_router
from gridpilot.auth.oauth import OAuthError, basic_credentials, invalid_client
from gridpilot.auth.reset_routes import router as reset_router
from gridpilot.auth.schemas import OAuthErrorBody, TokenResponse
from gridpilot.auth.user_routes import router as user_router
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.db.dependencies import SessionDep

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANT_TYPES = ("password", "client_credentials", "refresh_token", "mfa_otp")
FORM_FIELDS = (
    "grant_type",
    "username",
    "password",
    "scope",
    "refresh_token",
    "client_id",
    "client_secret",
    "mfa_token",
    "otp",
)


async def limit_auth_rate(request: Request) -> None:
    """At most ``auth_rate_limit_per_min`` requests per client address (429 + Retry-After);
    shared by the processes with ``GRIDPILOT_REDIS_URL``."""
    await login_guard(request.app).requests.hit(client_address(request))


auth_router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(limit_auth_rate)])

TOKEN_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string", "enum": list(GRANT_TYPES)},
                    "username": {"type": "string", "description": "password grant"},
                    "password": {
                        "type": "string",
                        "format": "password",
                        "description": "password grant",
                    },
                    "refresh_token": {"type": "string", "description": "refresh_token grant"},
                    "mfa_token": {
                        "type": "string",
                        "description": "mfa_otp grant: from the password grant's 401 mfa_required",
                    },
                    "otp": {
                        "type": "string",
                        "description": "mfa_otp grant: TOTP or recovery code",
                    },
                    "scope": {
                        "type": "string",
                        "description": "Space-separated permissions; default: all of the role's.",
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_credentials: the API key's key_id (or use Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "format": "password",
                        "description": "client_credentials: the raw API key or its secret part.",
                    },
                },
            }
        }
    },
}


def _fields(form: FormData) -> dict[str, str]:
    """The form's known fields; a repeated parameter is ``invalid_request`` (RFC 6749 3.2)."""
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if name not in FORM_FIELDS:
            continue
        if name in values:
            raise OAuthError("invalid_request", f"parameter {name!r} given more than once")
        if not isinstance(value, str):
            raise OAuthError("invalid_request", f"parameter {name!r} must be a plain value")
        values[name] = value
    return values


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise OAuthError("invalid_request", f"missing parameter {name!r}")
    return value


def _client_credentials(request: Request, fields: dict[str, str]) -> tuple[str, str]:
    basic = basic_credentials(request.headers.get("authorization"))
    in_form = fields.get("client_id") or fields.get("client_secret")
    if basic is not None and in_form:
        raise OAuthError(
            "invalid_request", "send client credentials either by HTTP Basic or in the form"
        )
    client_id, client_secret = basic or (fields.get("client_id"), fields.get("client_secret"))
    if not client_id or not client_secret:
        raise invalid_client("client authentication required (HTTP Basic or form)")
    return client_id, client_secret


async def _grant(request: Request, session: SessionDep) -> TokenGrant:
    settings: Settings = runtime_of(request.app).settings
    config = token_config(settings)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        form = await request.form()
    except Exception as exc:  # malformed body: python-multipart raises several types
        raise OAuthError("invalid_request", f"unreadable form body: {exc}") from None
    fields = _fields(form)
    audit.client_var.set(client_address(request))
    grant_type = _required(fields, "grant_type")
    scope = fields.get("scope")
    if grant_type == "password":
        return await password_grant(
            session=session,
            config=config,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            username=_required(fields, "username"),
            password=_required(fields, "password"),
            scope=scope,
            guard=login_guard(request.app),
            client=client_address(request),
            mfa_roles=settings.mfa_roles,
        )
    if grant_type == "mfa_otp":
        return await mfa_otp_grant(
            session=session,
            config=config,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            mfa_token=_required(fields, "mfa_token"),
            otp=_required(fields, "otp"),
            scope=scope,
            guard=login_guard(request.app),
            client=client_address(request),
        )
    if grant_type == "client_credentials":
        client_id, client_secret = _client_credentials(request, fields)
        return await client_credentials_grant(
            session=session,
            config=config,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
        )
    if grant_type == "refresh_token":
        return await refresh_token_grant(
            session=session,
            config=config,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            refresh_token=_required(fields, "refresh_token"),
            scope=scope,
        )
    raise OAuthError(
        "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANT_TYPES)}"
    )


@auth_router.post(
    "/token",
    summary="OAuth2 token endpoint (RFC 6749)",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    openapi_extra={"requestBody": TOKEN_REQUEST_BODY},
    responses={
        400: {
            "model": OAuthErrorBody,
            "description": "RFC 6749 5.2 error; a locked account: invalid_grant + Retry-After",
        },
        401: {
            "model": OAuthErrorBody,
            "description": "invalid_client; or mfa_required with an mfa_token (5 min) for the "
            "mfa_otp grant (docs/security.md)",
        },
        429: {"description": "Too many requests or password checks (see Retry-After)"},
    },
)
async def issue_token(request: Request, session: SessionDep) -> JSONResponse:
    """Grants: ``password`` (username, password[, scope]) -> access + refresh token;
    ``client_credentials`` (API key as client; HTTP Basic or form) -> access token;
    ``refresh_token`` (rotating; reusing a spent one revokes its whole family);
    ``mfa_otp`` (mfa_token, otp): the second step for users with a TOTP second factor, whose
    password grant answers 401 ``mfa_required`` with an ``mfa_token`` (docs/security.md)."""
    try:
        grant = await _grant(request, session)
    except OAuthError as exc:
        if exc.keep_changes:
            await session.commit()
        else:
            await session.rollback()
        headers = dict(NO_STORE)
        if exc.status == 401 and exc.error == "invalid_client":
            headers["WWW-Authenticate"] = 'Basic realm="gridpilot"'
        if exc.retry_after_s is not None:
            headers["Retry-After"] = str(exc.retry_after_s)
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
    return JSONResponse(grant.body(), headers=NO_STORE)


router = APIRouter()
router.include_router(auth_router)
router.include_router(mfa_router)
router.include_router(enrolment_router)
router.include_router(reset_router)
router.include_router(user_router)
router.include_router(audit_router)
router.include_router(key_router)
