"""``/api/v1/users``: administrators manage users; everyone reads and re-passwords themselves.

An administrator limited to some sites sees and manages only the users of its sites and can
grant no one more than its own sites (``auth.admin_scope``). A change of a user's rights ends its
sessions at once in this process and within ``GRIDPILOT_AUTH_RECHECK_S`` in the others.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit, service, user_admin
from gridpilot.auth.dependencies import CurrentPrincipal, require
from gridpilot.auth.login_guard import client_address, login_guard
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.auth.revocation import rights_cache
from gridpilot.auth.schemas import MyPasswordChange, UserCreate, UserOut, UserUpdate
from gridpilot.core.errors import PermissionDenied, ValidationFailed
from gridpilot.db.dependencies import SessionDep

router = APIRouter(prefix="/users", tags=["auth"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
UserManager = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]

#: Fields only an administrator may set (through ``PATCH /users/{id}``).
PRIVILEGED_FIELDS = frozenset(
    {"role", "site_ids", "sites", "disabled", "username", "password", "site_restricted", "id"}
)


async def _out(session: AsyncSession, users: list[User]) -> list[UserOut]:
    sites = await service.site_ids_of(session=session, users=users)
    return [
        UserOut(
            id=u.id,
            username=u.username,
            role=Role(u.role),
            disabled=u.disabled,
            site_ids=sites[u.id],
            email=u.email,
            mfa_enabled=u.mfa_enabled,
            created_at=u.created_at,
            updated_at=u.updated_at,
        )
        for u in users
    ]


def _own_user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise PermissionDenied("API keys have no user account")
    return principal.user_id


@router.get("", response_model=list[UserOut], summary="List users")
async def list_users(principal: UserManager, session: SessionDep) -> list[UserOut]:
    return await _out(session, await service.list_users(session=session, actor=principal))


@router.post("", response_model=UserOut, status_code=201, summary="Create a user")
async def create_user(body: UserCreate, principal: UserManager, session: SessionDep) -> UserOut:
    async with audit.failures_recorded(session, action="user.create", actor=principal):
        user = await service.create_user(
            session=session,
            username=body.username,
            password=body.password,
            role=body.role,
            site_ids=body.site_ids,
            actor=principal,
            email=body.email,
        )
    return (await _out(session, [user]))[0]


@router.get("/me", response_model=UserOut, summary="The calling user")
async def read_me(principal: CurrentPrincipal, session: SessionDep) -> UserOut:
    user = await service.get_user(session=session, user_id=_own_user_id(principal))
    return (await _out(session, [user]))[0]


@router.patch("/me", response_model=UserOut, summary="Change your own password")
async def update_me(
    body: MyPasswordChange, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> UserOut:
    """Only ``current_password`` and ``new_password``; role, sites, disabled etc. are 403 here
    (an administrator changes them with ``PATCH /users/{id}``). The current password is checked
    like a log-in: limited per client, locked out after repeated failures (``auth.lockout``)."""
    extra = set(body.model_extra or {})
    privileged = sorted(extra & PRIVILEGED_FIELDS)
    if privileged:
        raise PermissionDenied(f"you may not change {', '.join(privileged)} of your own account")
    if extra:
        raise ValidationFailed(f"unknown fields: {sorted(extra)}")
    me = _own_user_id(principal)
    target = audit.user_target(me)
    async with audit.failures_recorded(
        session, action="user.password_change", actor=principal, target=target
    ):
        user = await service.change_own_password(
            session=session,
            user_id=me,
            current_password=body.current_password,
            new_password=body.new_password,
            guard=login_guard(request.app),
            client=client_address(request),
        )
    return (await _out(session, [user]))[0]


@router.get("/{user_id:int}", response_model=UserOut, summary="Read a user")
async def read_user(user_id: UserId, principal: UserManager, session: SessionDep) -> UserOut:
    user = await service.get_user(session=session, user_id=user_id, actor=principal)
    return (await _out(session, [user]))[0]


@router.patch("/{user_id:int}", response_model=UserOut, summary="Change a user's role, sites, ...")
async def update_user(
    user_id: UserId, body: UserUpdate, request: Request, principal: UserManager, session: SessionDep
) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    target = audit.user_target(user_id)
    async with audit.failures_recorded(
        session, action="user.update", actor=principal, target=target
    ):
        user = await user_admin.update_user(
            session=session, user_id=user_id, changes=changes, actor=principal
        )
    out = (await _out(session, [user]))[0]
    await session.commit()
    rights_cache(request.app).forget_user(user_id)
    return out


@router.delete("/{user_id:int}", status_code=204, summary="Delete a user")
async def delete_user(
    user_id: UserId, request: Request, principal: UserManager, session: SessionDep
) -> Response:
    target = audit.user_target(user_id)
    async with audit.failures_recorded(
        session, action="user.delete", actor=principal, target=target
    ):
        await user_admin.delete_user(session=session, user_id=user_id, actor=principal)
    await session.commit()
    rights_cache(request.app).forget_user(user_id)
    return Response(status_code=204)
