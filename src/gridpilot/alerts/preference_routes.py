"""HTTP routes of notification preferences: each user's own, and an administrator's view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from gridpilot.alerts import preference_service
from gridpilot.alerts.preference_schemas import Preferences, PreferencesOut
from gridpilot.auth.dependencies import Reader, require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.db.dependencies import SessionDep

router = APIRouter(tags=["alerts"])

UserManager = Annotated[Principal, Depends(require(Permission.USERS_MANAGE))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]

RULES = (
    "E-mail preferences apply where your e-mail address is among an e-mail channel's "
    "recipients, webhook preferences to the webhook channels you created, in-app preferences to "
    "the dashboard's toasts. `severities`, `kinds` and `site_ids` choose what reaches you "
    "(null: every kind or site). Quiet hours (local `start`-`end` in `time_zone`, crossing "
    "midnight when `start` > `end`) never hide in-app toasts; e-mail and webhook notifications "
    "in them are held until they end (`during: hold`) or suppressed (`during: drop`), and a "
    "critical alert is sent at once when `critical_override` (default true). Without saved "
    "preferences everything reaches you, as before."
)


def _out(stored: preference_service.Stored) -> PreferencesOut:
    return PreferencesOut(
        **stored.preferences.model_dump(),
        user_id=stored.user_id,
        customized=stored.updated_at is not None,
        updated_at=stored.updated_at,
    )


@router.get(
    "/me/notification-preferences",
    summary="My notification preferences",
    description=f"Which alerts reach you, by which channel, and your quiet hours. {RULES}",
)
async def get_mine(principal: Reader, session: SessionDep) -> PreferencesOut:
    return _out(await preference_service.my_preferences(session=session, principal=principal))


@router.put(
    "/me/notification-preferences",
    summary="Replace my notification preferences",
    description=f"The whole set (omitted fields take their defaults). {RULES} Every site in "
    "`site_ids` must be one you can see: otherwise 422 `site_not_visible`. API keys have no "
    "preferences (403).",
)
async def put_mine(data: Preferences, principal: Reader, session: SessionDep) -> PreferencesOut:
    stored = await preference_service.save_preferences(
        session=session, principal=principal, data=data
    )
    return _out(stored)


@router.delete(
    "/me/notification-preferences",
    status_code=204,
    summary="Reset my notification preferences",
    description="Back to the defaults: every alert by every channel, no quiet hours.",
)
async def delete_mine(principal: Reader, session: SessionDep) -> Response:
    await preference_service.reset_preferences(session=session, principal=principal)
    return Response(status_code=204)


@router.get(
    "/users/{user_id}/notification-preferences",
    summary="A user's notification preferences (administrators)",
    description="Read-only view of another user's preferences (the defaults when they saved "
    "none); 404 for an unknown user.",
)
async def get_users(user_id: UserId, principal: UserManager, session: SessionDep) -> PreferencesOut:
    return _out(await preference_service.user_preferences(session=session, user_id=user_id))
