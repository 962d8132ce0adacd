"""Users and their site scope; API keys (re-exported from ``auth.api_keys``). An
administrator's update and deletion of a user: ``user_admin.py``.

Services flush and never commit: the caller (request dependency, CLI transaction) owns it.
A user's ``site_ids`` of None means every site; a list limits the user to those sites.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection, Sequence

from sqlalchemy import column, delete, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth import audit
from gridpilot.auth.admin_scope import check_grant, check_manage, is_unrestricted
from gridpilot.auth.api_keys import (
    ApiKeyCache,
    authenticate_api_key,
    create_api_key,
    get_api_key,
    list_api_keys,
    principal_for_api_key,
    revoke_api_key,
)
from gridpilot.auth.lockout import check_password
from gridpilot.auth.login_guard import LoginGuard
from gridpilot.auth.models import User, UserSite
from gridpilot.auth.passwords import hash_password, needs_rehash
from gridpilot.auth.permissions import Principal, Role
from gridpilot.auth.refresh_tokens import revoke_user_refresh_tokens
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "ApiKeyCache",
    "authenticate_api_key",
    "authenticate_user",
    "change_own_password",
    "check_sites_exist",
    "create_api_key",
    "create_user",
    "find_user",
    "get_api_key",
    "get_user",
    "list_api_keys",
    "list_users",
    "principal_for_api_key",
    "revoke_api_key",
    "revoke_sessions",
    "set_password",
    "set_sites",
    "site_ids_of",
]

USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,149}"
#: An e-mail address, loosely: something@domain.tld, no spaces, separators or control characters.
EMAIL_PATTERN = r"[^@\s<>,;:\x00-\x1f]{1,64}@[^@\s<>,;:\x00-\x1f]+\.[^@\s<>,;:\x00-\x1f]+"
MAX_DB_ID = 2**31 - 1
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

_USERNAME = re.compile(USERNAME_PATTERN)
#: The sites table, named here without importing the assets domain (auth sits below it).
_sites = table("sites", column("id"))


def parse_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValidationFailed(f"unknown role {role!r}; one of {known}") from None


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


async def check_sites_exist(*, session: AsyncSession, site_ids: Sequence[int]) -> list[int]:
    """The distinct ``site_ids``, sorted; ``ValidationFailed`` naming any that do not exist."""
    wanted = sorted(set(site_ids))
    storable = [s for s in wanted if 1 <= s <= MAX_DB_ID]
    found = set(await session.scalars(select(_sites.c.id).where(_sites.c.id.in_(storable))))
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ValidationFailed(f"unknown site ids: {missing}")
    return wanted


async def set_sites(session: AsyncSession, user: User, site_ids: Sequence[int] | None) -> None:
    await session.execute(delete(UserSite).where(UserSite.user_id == user.id))
    user.site_restricted = site_ids is not None
    for site_id in await check_sites_exist(session=session, site_ids=site_ids or []):
        session.add(UserSite(user_id=user.id, site_id=site_id))
    await session.flush()


async def create_user(
    *,
    session: AsyncSession,
    username: str,
    password: str,
    role: Role | str,
    site_ids: Sequence[int] | None = None,
    actor: Principal | None = None,
    email: str | None = None,
) -> User:
    """A new enabled user with an argon2id password hash; ``Conflict`` if the name is taken.

    ``actor`` (None: the CLI) may give the user only sites it administers (``auth.admin_scope``).
    """
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed(
            "a username has 1 to 150 letters, digits or . _ @ + - and starts with a letter or digit"
        )
    user_role = parse_role(role)
    if email is not None and (len(email) > 254 or not re.fullmatch(EMAIL_PATTERN, email)):
        raise ValidationFailed(f"not an e-mail address: {email[:254]!r}")
    check_grant(actor, site_ids, "a new user")
    check_password_policy(password)
    if await find_user(session=session, username=username) is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=await asyncio.to_thread(hash_password, password),
        role=user_role.value,
        disabled=False,
        site_restricted=site_ids is not None,
        email=email,
    )
    session.add(user)
    await session.flush()
    if site_ids is not None:
        await set_sites(session, user, site_ids)
    await audit.record(
        session,
        action="user.create",
        actor=actor,
        target=audit.user_target(user.id),
        detail={"name": username, "role": user_role.value, "sites": site_ids},
    )
    return user


async def find_user(*, session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


def _user_id(subject: str) -> int:
    """The user id of a ``user:<id>`` subject, -1 for any other subject."""
    kind, _, rest = subject.partition(":")
    return int(rest) if kind == "user" and rest.isdigit() else -1


async def subject_names(*, session: AsyncSession, subjects: Collection[str]) -> dict[str, str]:
    """A readable name for each subject: ``user:3`` -> its username; others (API keys
    ``key:...``, the simulator, a deleted user) as they are."""
    ids = {_user_id(subject) for subject in subjects} - {-1}
    found: dict[int, str] = {}
    if ids:
        rows = await session.execute(select(User.id, User.username).where(User.id.in_(ids)))
        found = {int(user_id): str(name) for user_id, name in rows}
    return {subject: found.get(_user_id(subject), subject) for subject in subjects}


async def get_user(*, session: AsyncSession, user_id: int, actor: Principal | None = None) -> User:
    """The user ``user_id``; ``NotFound`` when missing or outside what ``actor`` administers."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if not is_unrestricted(actor):
        sites = (await site_ids_of(session=session, users=[user]))[user.id]
        check_manage(actor, sites, "user")
    return user


async def list_users(*, session: AsyncSession, actor: Principal | None = None) -> list[User]:
    """Every user, or only those ``actor`` administers."""
    users = list(await session.scalars(select(User).order_by(User.id)))
    if is_unrestricted(actor):
        return users
    sites = await site_ids_of(session=session, users=users)
    return [u for u in users if _manageable(actor, sites[u.id])]


def _manageable(actor: Principal | None, sites: list[int] | None) -> bool:
    try:
        check_manage(actor, sites, "user")
    except NotFound:
        return False
    return True


async def site_ids_of(
    *, session: AsyncSession, users: Sequence[User]
) -> dict[int, list[int] | None]:
    """Each user's site list (None = all sites), in one query."""
    restricted = [u.id for u in users if u.site_restricted]
    result: dict[int, list[int] | None] = {
        u.id: None if not u.site_restricted else [] for u in users
    }
    if restricted:
        rows = await session.execute(
            select(UserSite.user_id, UserSite.site_id)
            .where(UserSite.user_id.in_(restricted))
            .order_by(UserSite.site_id)
        )
        for user_id, site_id in rows:
            sites = result[user_id]
            assert sites is not None
            sites.append(site_id)
    return result


async def authenticate_user(
    *, session: AsyncSession, username: str, password: str, guard: LoginGuard, client: str
) -> User | None:
    """The enabled user with these credentials, else None (same work whether or not it exists).

    The check goes through ``auth.lockout.check_password`` (client limit, account lock-out:
    ``RateLimited``/``AccountLocked``; argon2 in a worker thread). Upgrades the stored hash when
    the argon2 parameters have changed.
    """
    user = await find_user(session=session, username=username)
    checked = await check_password(
        session=session, guard=guard, user=user, username=username, password=password, client=client
    )
    if not checked or user is None or user.disabled:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = await guard.hashes.hash(password)
        await session.flush()
    return user


async def revoke_sessions(*, session: AsyncSession, user: User) -> None:
    """End every session of ``user``: refresh tokens revoked, access tokens refused within
    seconds (``token_version`` moves on; see ``auth.revocation``)."""
    user.token_version = (user.token_version or 0) + 1
    await revoke_user_refresh_tokens(session=session, user_id=user.id)
    await session.flush()


async def set_password(*, session: AsyncSession, user: User, password: str) -> None:
    """Replace the password and end the user's refresh-token sessions."""
    check_password_policy(password)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await revoke_user_refresh_tokens(session=session, user_id=user.id)
    await session.flush()


async def change_own_password(
    *,
    session: AsyncSession,
    user_id: int,
    current_password: str,
    new_password: str,
    guard: LoginGuard,
    client: str,
) -> User:
    """A user's own password change; the current password must be right (checked, limited and
    locked out like a log-in: ``auth.lockout.check_password``)."""
    user = await get_user(session=session, user_id=user_id)
    if not await check_password(
        session=session,
        guard=guard,
        user=user,
        username=user.username,
        password=current_password,
        client=client,
    ):
        raise ValidationFailed("the current password is wrong")
    await set_password(session=session, user=user, password=new_password)
    await audit.record(
        session,
        action="user.password_change",
        actor=audit.user_target(user.id),
        target=audit.user_target(user.id),
        client=client,
    )
    return user
