"""An administrator's changes to a user: update (role, sites, disabled, password, e-mail) and
delete, never leaving no enabled administrator of every site (a lock-out).

Services flush and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.admin_scope import check_grant
from gridpilot.auth.models import User
from gridpilot.auth.permissions import Principal, Role
from gridpilot.auth.service import get_user, parse_role, revoke_sessions, set_password, set_sites
from gridpilot.core.errors import Conflict, ValidationFailed

#: Fields an administrator may change with ``update_user``.
ADMIN_FIELDS = frozenset({"role", "site_ids", "disabled", "password", "email"})


async def _global_administrators(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.role == Role.ADMINISTRATOR.value,
            User.disabled.is_(False),
            User.site_restricted.is_(False),
        )
    )
    return int(count or 0)


async def _keep_an_administrator(session: AsyncSession, user: User, action: str) -> None:
    """``Conflict`` when ``action`` would leave no enabled administrator of every site (a
    lock-out: site-limited administrators cannot administer the rest)."""
    is_global_admin = (
        user.role == Role.ADMINISTRATOR.value and not user.disabled and not user.site_restricted
    )
    if is_global_admin and await _global_administrators(session) <= 1:
        raise Conflict(f"cannot {action} the last enabled administrator of every site")


async def update_user(
    *,
    session: AsyncSession,
    user_id: int,
    changes: Mapping[str, Any],
    actor: Principal | None = None,
) -> User:
    """Apply an administrator's ``changes`` (keys of ``ADMIN_FIELDS``; ``site_ids`` None = all).

    ``actor`` (None: the CLI) must administer the user and may grant only its own sites.
    Disabling a user, resetting its password or changing its role or sites ends its sessions
    (``revoke_sessions``): its access tokens stop working within seconds.
    """
    unknown = sorted(set(changes) - ADMIN_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown user fields: {unknown}")
    user = await get_user(session=session, user_id=user_id, actor=actor)
    new_role = _new_role(changes)
    if "site_ids" in changes:
        check_grant(actor, changes["site_ids"], "a user")
    demoted = new_role is not None and new_role is not Role.ADMINISTRATOR
    restricted = "site_ids" in changes and changes["site_ids"] is not None
    if demoted or changes.get("disabled") or restricted:
        await _keep_an_administrator(session, user, "demote, disable or limit to some sites")
    await _apply_user_changes(session, user, changes, new_role)
    if {"role", "disabled", "site_ids", "password"} & set(changes):
        await revoke_sessions(session=session, user=user)
    await session.flush()
    await audit.record(
        session,
        action="user.update",
        actor=actor,
        target=audit.user_target(user.id),
        detail={"fields": sorted(changes), **_visible_changes(changes)},
    )
    return user


def _new_role(changes: Mapping[str, Any]) -> Role | None:
    """The role ``changes`` sets (None: unchanged); ``ValidationFailed`` for a null role or
    disabled flag."""
    new_role = parse_role(changes["role"]) if changes.get("role") is not None else None
    if "role" in changes and new_role is None:
        raise ValidationFailed("role cannot be null")
    if "disabled" in changes and changes["disabled"] is None:
        raise ValidationFailed("disabled cannot be null")
    return new_role


async def _apply_user_changes(
    session: AsyncSession, user: User, changes: Mapping[str, Any], new_role: Role | None
) -> None:
    """Set the password, role, disabled flag, e-mail and sites ``changes`` names."""
    if changes.get("password") is not None:
        await set_password(session=session, user=user, password=changes["password"])
    if new_role is not None:
        user.role = new_role.value
    if "disabled" in changes:
        user.disabled = bool(changes["disabled"])
    if "email" in changes:
        user.email = changes["email"]
    if "site_ids" in changes:
        await set_sites(session, user, changes["site_ids"])


def _visible_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The new role, sites and disabled flag of ``changes`` (never the password)."""
    return {
        name: changes[field]
        for field, name in (("role", "role"), ("site_ids", "sites"), ("disabled", "disabled"))
        if field in changes
    }


async def delete_user(
    *, session: AsyncSession, user_id: int, actor: Principal | None = None
) -> None:
    """Delete a user (its site links and refresh tokens go with it; its id is never reused)."""
    user = await get_user(session=session, user_id=user_id, actor=actor)
    await _keep_an_administrator(session, user, "delete")
    name = user.username
    await session.delete(user)
    await session.flush()
    await audit.record(
        session,
        action="user.delete",
        actor=actor,
        target=audit.user_target(user_id),
        detail={"name": name},
    )
