"""``/api/v1/users/{id}/personal-data`` and ``/erase``: GDPR access, portability and erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from gridpilot.auth import audit
from gridpilot.auth.dependencies import Administrator, CurrentPrincipal
from gridpilot.auth.permissions import Permission
from gridpilot.auth.revocation import rights_cache
from gridpilot.core.errors import Conflict, PermissionDenied
from gridpilot.db.dependencies import SessionDep
from gridpilot.privacy import service

router = APIRouter(prefix="/users", tags=["auth"])
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "/{user_id}/personal-data",
    summary="Everything gridpilot holds about a user (GDPR art. 15 and 20)",
    description="The user's own rows (account without hashes or secrets, sessions, site "
    "grants, preferences, voice queries, community membership), the records naming them as "
    "actor, and the lists holding their e-mail address, as JSON. The user themself or an "
    "administrator. Energy data belongs to sites and is not included (`kept` says why).",
    responses={403: {"description": "another user's data, not an administrator"},
               404: {"description": "no such user"}},
)  # fmt: skip
async def export(
    user_id: UserId, principal: CurrentPrincipal, session: SessionDep
) -> dict[str, Any]:
    if principal.subject != f"user:{user_id}" and not principal.has(Permission.SYSTEM_ADMIN):
        raise PermissionDenied("only the user themself or an administrator")
    data = await service.personal_data(session=session, user_id=user_id)
    await audit.record(session, action="privacy.export", target=audit.user_target(user_id))
    return data


@router.post(
    "/{user_id}/erase",
    summary="Erase a user by pseudonymisation (GDPR art. 17)",
    description="Administrators. The account becomes `erased-user-ID` (disabled, no password, "
    "no second factor, sessions ended); e-mail addresses and names are removed where they "
    "appear; records keep only the number `user:ID`. Answers the rows changed per table. "
    "Energy data stays (see `GET .../personal-data`, `kept`). You cannot erase yourself.",
    responses={404: {"description": "no such user"}, 409: {"description": "your own account"}},
)
async def erase(
    user_id: UserId, request: Request, principal: Administrator, session: SessionDep
) -> dict[str, Any]:
    if principal.subject == f"user:{user_id}":
        raise Conflict("you cannot erase your own account: ask another administrator")
    changed = await service.erase(session=session, user_id=user_id)
    await audit.record(session, action="privacy.erase", target=audit.user_target(user_id))
    rights_cache(request.app).forget_user(user_id)
    return {"user_id": user_id, "changed": changed}
