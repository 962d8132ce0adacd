"""``/api/v1/users/me/mfa``: your TOTP second factor; ``DELETE /users/{id}/mfa`` for administrators.

Flows and the log-in with a second factor: docs/security.md (and ``auth.mfa``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit, mfa, service
from gridpilot.auth.dependencies import CurrentPrincipal, require, token_config
from gridpilot.auth.login_guard import client_address, login_guard
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.auth.revocation import rights_cache
from gridpilot.core.errors import AuthenticationFailed, PermissionDenied
from gridpilot.core.runtime import runtime_of
from gridpilot.db.dependencies import SessionDep

router = APIRouter(prefix="/users", tags=["auth"])
UserManager = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]


class MfaEnrolment(BaseModel):
    secret: str = Field(description="base32 TOTP secret: shown only now")
    otpauth_uri: str = Field(description="otpauth:// URI for an authenticator app (QR code)")


class MfaCode(BaseModel):
    code: str = Field(min_length=6, max_length=20, description="TOTP code or recovery code")


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="10 single-use codes: shown only now")


async def _me(principal: Principal, session: SessionDep) -> User:
    if principal.user_id is None:
        raise PermissionDenied("API keys have no user account")
    return await service.get_user(session=session, user_id=principal.user_id)


async def _enrol(session: AsyncSession, user: User, actor: Principal | str) -> MfaEnrolment:
    secret, uri = await mfa.begin_enrolment(session=session, user=user)
    await audit.record(session, action="mfa.enrol", actor=actor, target=f"user:{user.id}")
    return MfaEnrolment(secret=secret, otpauth_uri=uri)


async def _confirm(
    session: AsyncSession, request: Request, user: User, code: str, actor: Principal | str
) -> RecoveryCodes:
    target = audit.user_target(user.id)
    async with audit.failures_recorded(session, action="mfa.confirm", actor=actor, target=target):
        codes = await mfa.confirm_enrolment(
            session=session,
            user=user,
            code=code,
            guard=login_guard(request.app),
            client=client_address(request),
        )
    await audit.record(session, action="mfa.confirm", actor=actor, target=target)
    return RecoveryCodes(recovery_codes=codes)


@router.post("/me/mfa", response_model=MfaEnrolment, summary="Start TOTP enrolment")
async def enrol(principal: CurrentPrincipal, session: SessionDep) -> MfaEnrolment:
    """A new secret (inactive until ``/me/mfa/confirm``); 409 when the factor is already on."""
    return await _enrol(session, await _me(principal, session), principal)


@router.post("/me/mfa/confirm", response_model=RecoveryCodes, summary="Turn TOTP on")
async def confirm(
    body: MfaCode, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> RecoveryCodes:
    """A first code from the app turns the factor on; answers the recovery codes once."""
    return await _confirm(session, request, await _me(principal, session), body.code, principal)


async def _limit(request: Request) -> None:
    """The ``/auth`` per-client limit; the client address for the audit trail."""
    await login_guard(request.app).requests.hit(client_address(request))
    audit.client_var.set(client_address(request))


enrolment_router = APIRouter(prefix="/auth/mfa", tags=["auth"], dependencies=[Depends(_limit)])


class EnrolmentStart(BaseModel):
    mfa_token: str = Field(max_length=2000, description="from the password grant's 401")


class EnrolmentConfirm(EnrolmentStart):
    code: str = Field(min_length=6, max_length=6, description="the app's first code")


async def _token_user(request: Request, session: AsyncSession, mfa_token: str) -> User:
    user_id, version = mfa.decode_mfa_token(
        token_config(runtime_of(request.app).settings), mfa_token
    )
    user = await session.get(User, user_id)
    if user is None or user.disabled or user.token_version != version:
        raise AuthenticationFailed("invalid MFA token: log in again")
    return user


@enrolment_router.post(
    "/enrol",
    response_model=MfaEnrolment,
    summary="Enrol with the password grant's MFA token",
    responses={401: {"description": "authentication_failed: the MFA token is invalid or expired"}},
)
async def enrol_at_log_in(
    body: EnrolmentStart, request: Request, session: SessionDep
) -> MfaEnrolment:
    """For users whose role needs a second factor (``GRIDPILOT_MFA_REQUIRED_ROLES``) and who
    have none yet: the password grant answered ``mfa_enrolment_required`` and an ``mfa_token``."""
    user = await _token_user(request, session, body.mfa_token)
    return await _enrol(session, user, audit.user_target(user.id))


@enrolment_router.post(
    "/enrol/confirm",
    response_model=RecoveryCodes,
    summary="Confirm with the MFA token",
    responses={401: {"description": "authentication_failed: the MFA token is invalid or expired"}},
)
async def confirm_at_log_in(
    body: EnrolmentConfirm, request: Request, session: SessionDep
) -> RecoveryCodes:
    """The first code turns the factor on; then log in again (password, then a newer code)."""
    user = await _token_user(request, session, body.mfa_token)
    return await _confirm(session, request, user, body.code, audit.user_target(user.id))


@router.post("/me/mfa/disable", status_code=204, summary="Turn your TOTP off (with a code)")
async def disable_own(
    body: MfaCode, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    user = await _me(principal, session)
    target = audit.user_target(user.id)
    async with audit.failures_recorded(
        session, action="mfa.disable", actor=principal, target=target
    ):
        await mfa.check_code(
            session=session,
            guard=login_guard(request.app),
            user=user,
            code=body.code,
            client=client_address(request),
        )
        await mfa.disable(session=session, user=user)
    await audit.record(session, action="mfa.disable", actor=principal, target=target)
    return Response(status_code=204)


@router.delete(
    "/{user_id:int}/mfa", status_code=204, summary="Turn a user's TOTP off (administrators)"
)
async def disable_for_user(
    user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    principal: UserManager,
    session: SessionDep,
) -> Response:
    """For a user who lost both the app and the recovery codes; ends the user's sessions."""
    user = await service.get_user(session=session, user_id=user_id, actor=principal)
    await mfa.disable(session=session, user=user)
    await service.revoke_sessions(session=session, user=user)
    await audit.record(
        session,
        action="mfa.disable",
        actor=principal,
        target=audit.user_target(user_id),
        detail={"by_admin": True},
    )
    await session.commit()
    rights_cache(request.app).forget_user(user_id)
    return Response(status_code=204)
