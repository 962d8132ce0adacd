"""Who may see and change what in a community (the access model, docs/community.md).

* A gridpilot **administrator** (role administrator, not limited to sites) sees and manages
  every community.
* Anyone else reaches a community only through the **member linked to their user**
  (``community_members.user_id``) and its active membership (``left_on`` empty or later than
  today). Its role decides:

  - ``ADMIN``: every member's data; changes the community, its members, plants and
    settlements (writes also need gridpilot's ``configure`` permission);
  - ``MEMBER``: the community and its aggregates, their own member record, plants,
    settlement lines, statements and transactions;
  - ``VIEWER``: the community and its aggregates, their own member record.

* Any other community does not exist for the caller: 404, never 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.community.models import Community, Member, Membership
from gridpilot.core.errors import NotFound, PermissionDenied


def is_superuser(principal: Principal) -> bool:
    """A gridpilot administrator over the whole installation."""
    return principal.role == Role.ADMINISTRATOR and principal.site_ids is None


@dataclass(frozen=True)
class Access:
    """The caller's standing in one community: ``role`` None for administrators."""

    community: Community
    role: str | None
    member_id: int | None

    @property
    def sees_all(self) -> bool:
        """Administrators and community admins see every member's data."""
        return self.role is None or self.role == "ADMIN"

    def sees_member(self, member_id: int | None) -> bool:
        return self.sees_all or (member_id is not None and member_id == self.member_id)


MARKET_TZ = ZoneInfo("Europe/Rome")


def today() -> date:
    """Today in Italy: memberships start and end on Italian calendar days."""
    return datetime.now(MARKET_TZ).date()


def active_on(day: date) -> ColumnElement[bool]:
    """SQL condition: a membership active on ``day``."""
    return (Membership.joined_on <= day) & or_(
        Membership.left_on.is_(None), Membership.left_on > day
    )


async def member_of(session: AsyncSession, principal: Principal) -> int | None:
    """The member id linked to the caller's user (None: none, or an API key)."""
    if principal.user_id is None:
        return None
    found = await session.scalar(select(Member.id).where(Member.user_id == principal.user_id))
    return int(found) if found is not None else None


async def community_access(
    session: AsyncSession, principal: Principal, community_id: int, *, manage: bool = False
) -> Access:
    """The caller's access to a community; 404 when they may not know it, 403 when ``manage``
    is asked by someone who may read but not change it."""
    community = await session.get(Community, community_id)
    if community is None:
        raise NotFound("community not found")
    if is_superuser(principal):
        return Access(community, None, await member_of(session, principal))
    member_id = await member_of(session, principal)
    role = None
    if member_id is not None:
        role = await session.scalar(
            select(Membership.role).where(
                Membership.community_id == community_id,
                Membership.member_id == member_id,
                active_on(today()),
            )
        )
    if role is None:
        raise NotFound("community not found")
    access = Access(community, str(role), member_id)
    if manage:
        require_manage(principal, access)
    return access


def require_manage(principal: Principal, access: Access) -> None:
    """403 unless the caller administers the community and holds ``configure``."""
    principal.require(Permission.CONFIGURE)
    if access.role not in (None, "ADMIN"):
        raise PermissionDenied("only a community admin may change the community")


async def visible_community_ids(session: AsyncSession, principal: Principal) -> list[int] | None:
    """Ids of the communities the caller may see (None: all)."""
    if is_superuser(principal):
        return None
    member_id = await member_of(session, principal)
    if member_id is None:
        return []
    rows = await session.scalars(
        select(Membership.community_id).where(Membership.member_id == member_id, active_on(today()))
    )
    return sorted(int(r) for r in rows)
