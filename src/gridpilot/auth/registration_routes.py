"""``POST /api/v1/auth/register``: self-registration, where an administrator allows it.

Off unless ``GRIDPILOT_SELF_REGISTRATION=true``. A new account is a **viewer limited to no
site**: it can log in and see nothing until an administrator grants it sites (or a role), so
opening registration never opens data. Rate-limited with the other ``/auth`` routes, audited as
``user.register``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from gridpilot.auth import audit, service
from gridpilot.auth.permissions import Role
from gridpilot.auth.routes import limit_auth_rate
from gridpilot.auth.schemas import USERNAME_PATTERN, EmailAddress, password_field
from gridpilot.core.errors import PermissionDenied
from gridpilot.core.runtime import runtime_of
from gridpilot.db.dependencies import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[Depends(limit_auth_rate)])


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=f"^{USERNAME_PATTERN}$", examples=["ann"])
    password: str = password_field()
    email: EmailAddress | None = Field(default=None, description="For password-reset e-mails.")


class Registered(BaseModel):
    id: int
    username: str
    role: Role
    site_ids: list[int] = Field(description="Empty until an administrator grants sites.")


@router.post(
    "/register",
    status_code=201,
    response_model=Registered,
    summary="Create your own account (when an administrator allows it)",
    description="A viewer with no site: an administrator grants sites or a role afterwards. "
    "403 `permission_denied` when self-registration is off (the default); 409 when the "
    "username is taken; 422 for a password the policy refuses.",
    responses={403: {"description": "self-registration is off"},
               409: {"description": "username taken"}},
)  # fmt: skip
async def register(body: Registration, request: Request, session: SessionDep) -> Registered:
    if not runtime_of(request.app).settings.self_registration:
        raise PermissionDenied("self-registration is off: ask an administrator for an account")
    user = await service.create_user(
        session=session, username=body.username, password=body.password, role=Role.VIEWER,
        site_ids=[], email=body.email,
    )  # fmt: skip
    await audit.record(
        session, action="user.register", actor=f"user:{user.id}",
        target=audit.user_target(user.id),
    )  # fmt: skip
    return Registered(id=user.id, username=user.username, role=Role.VIEWER, site_ids=[])
