"""Who a report is e-mailed to: enabled users allowed to read it (the report's target, and for a
delivery the run itself: a group's run only goes to users of every site it read) whose username
is an e-mail address (gridpilot users have no other address)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.models import User
from gridpilot.auth.permissions import Principal, Role
from gridpilot.auth.service import site_ids_of
from gridpilot.core.errors import GridpilotError, ValidationFailed
from gridpilot.reports import targets
from gridpilot.reports.models import ReportDefinition, ReportRun
from gridpilot.reports.runs import get_run

EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


class RecipientNotAllowed(ValidationFailed):
    code = "recipient_not_allowed"


class RecipientWithoutEmail(ValidationFailed):
    code = "recipient_without_email"


def _principal_of(user: User, sites: list[int] | None) -> Principal:
    """The principal ``user`` would be when logged in (for the recipients' check)."""
    return Principal(
        subject=f"user:{user.id}",
        name=user.username,
        role=Role(user.role),
        user_id=user.id,
        site_ids=frozenset(sites) if sites is not None else None,
    )


async def check_recipients(
    *,
    session: AsyncSession,
    definition: ReportDefinition,
    user_ids: Sequence[int],
    run: ReportRun | None = None,
) -> dict[int, str]:
    """Each recipient's e-mail address; ``RecipientNotAllowed`` for a user that is missing,
    disabled or not allowed to see the report (with ``run``: that run, so a group's run only
    goes to users of every site it read), ``RecipientWithoutEmail`` when the username is not
    an e-mail address (gridpilot users have no other address)."""
    ids = list(dict.fromkeys(user_ids))
    users = list(await session.scalars(select(User).where(User.id.in_(ids)))) if ids else []
    sites = await site_ids_of(session=session, users=users)
    found = {u.id: u for u in users}
    addresses: dict[int, str] = {}
    for user_id in ids:
        user = found.get(user_id)
        allowed = user is not None and not user.disabled
        if allowed and user is not None:
            principal = _principal_of(user, sites[user.id])
            allowed = await _may_read(session, principal, definition, run)
        if not allowed or user is None:
            raise RecipientNotAllowed(f"user {user_id} may not receive this report")
        if not EMAIL.fullmatch(user.username):
            raise RecipientWithoutEmail(
                f"user {user_id} has no e-mail address (the username must be one)"
            )
        addresses[user_id] = user.username
    return addresses


async def _may_read(
    session: AsyncSession,
    principal: Principal,
    definition: ReportDefinition,
    run: ReportRun | None,
) -> bool:
    if run is None:
        return await targets.may_see(session=session, principal=principal, definition=definition)
    try:
        await get_run(session=session, principal=principal, run_id=run.id)
    except GridpilotError:
        return False
    return True
