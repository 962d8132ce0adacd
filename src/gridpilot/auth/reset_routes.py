"""``/api/v1/auth/password-reset``: ask for a reset e-mail; set a new password with its token.

See ``auth.password_reset`` and docs/security.md.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from pydantic import BaseModel, Field

from gridpilot.auth import audit, password_reset
from gridpilot.auth.login_guard import client_address, login_guard
from gridpilot.auth.revocation import rights_cache
from gridpilot.auth.schemas import password_field
from gridpilot.core.runtime import runtime_of
from gridpilot.core.settings import Settings
from gridpilot.db.dependencies import SessionDep

log = logging.getLogger(__name__)


async def _limit(request: Request) -> None:
    """The ``/auth`` per-client limit; the client address for the audit trail."""
    await login_guard(request.app).requests.hit(client_address(request))
    audit.client_var.set(client_address(request))


router = APIRouter(prefix="/auth/password-reset", tags=["auth"], dependencies=[Depends(_limit)])


class ResetRequest(BaseModel):
    login: str = Field(min_length=1, max_length=254, description="username or e-mail address")


class ResetAccepted(BaseModel):
    status: str = Field(default="accepted", description="always `accepted`: no user enumeration")


class ResetConfirm(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="from the e-mail")
    new_password: str = password_field()


async def _send(request: Request, mails: list[password_reset.ResetMail]) -> None:
    settings: Settings = runtime_of(request.app).settings
    send: password_reset.SendEmail | None = runtime_of(request.app).get(password_reset.SEND_EMAIL)
    for mail in mails:
        problem = (
            await send(settings, password_reset.compose(settings, mail))
            if send is not None
            else "no mailer configured"
        )
        if problem is not None:
            log.warning("password-reset e-mail not sent: %s", problem)


@router.post(
    "",
    status_code=202,
    summary="Ask for a password-reset e-mail (always 202)",
    response_model=ResetAccepted,
    responses={202: {"description": "Accepted, whether or not the user exists"}},
)
async def ask_for_reset(
    body: ResetRequest, request: Request, session: SessionDep, background: BackgroundTasks
) -> ResetAccepted:
    """An enabled user whose username or e-mail is ``login`` and who has an e-mail address gets
    a single-use token by e-mail, valid 30 minutes. The answer is the same for everyone."""
    settings: Settings = runtime_of(request.app).settings
    mails = await password_reset.request_reset(
        session=session, login=body.login, ttl_s=settings.password_reset_ttl_s
    )
    await session.commit()
    background.add_task(_send, request, mails)
    return ResetAccepted()


@router.post(
    "/confirm",
    status_code=204,
    summary="Set a new password with an e-mailed reset token",
    responses={422: {"description": "invalid_token: wrong, used or expired; or a bad password"}},
)
async def confirm_reset(body: ResetConfirm, request: Request, session: SessionDep) -> Response:
    """Sets the password, ends the user's sessions and clears a lock-out; the token is spent."""
    async with audit.failures_recorded(session, action="user.password_reset"):
        user = await password_reset.confirm_reset(
            session=session, token=body.token, new_password=body.new_password
        )
    user_id = user.id
    await session.commit()
    rights_cache(request.app).forget_user(user_id)
    return Response(status_code=204)
