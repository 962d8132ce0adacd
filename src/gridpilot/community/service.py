"""Communities and their members (CRUD, access in ``access.py``). Services flush, the edge
commits. Plants: ``plants.py``; shared energy: ``energy.py``; settlements: ``settlements.py``.

Members and gridpilot users: a member is a person or organisation of the community (the
seed's user, with its ``user_type`` and the category that matters for incentives); it may be
linked to one gridpilot user (``user_id``), who then acts as that member. A gridpilot user is
linked to at most one member.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.models import User
from gridpilot.auth.permissions import Principal
from gridpilot.community.access import (
    Access,
    active_on,
    community_access,
    is_superuser,
    today,
    visible_community_ids,
)
from gridpilot.community.models import Community, Member, Membership, Plant, Settlement
from gridpilot.community.schemas import CommunityIn, CommunityOut, MemberIn, MemberOut
from gridpilot.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


async def describe(session: AsyncSession, access: Access) -> CommunityOut:
    """The community with its aggregates (members, plants, power)."""
    c = access.community
    members = await session.scalar(
        select(func.count()).where(Membership.community_id == c.id, active_on(today()))
    )
    plants = await session.scalar(select(func.count()).where(Plant.community_id == c.id))
    power = await _total_power(session, c.id) if plants else Decimal(0)
    return CommunityOut(
        id=c.id, name=c.name, code=c.code, description=c.description,
        primary_substations=list(c.primary_substations), market_zone=c.market_zone,
        region=c.region, distribution=dict(c.distribution), allocation_rule=c.allocation_rule,
        is_active=c.is_active, members_count=int(members or 0), plants_count=int(plants or 0),
        total_power_kw=power, my_role=access.role, created_at=c.created_at,
    )  # fmt: skip


async def _total_power(session: AsyncSession, community_id: int) -> Decimal:
    """Exact sum of nominal power [kW] (in Python: SQLite stores the decimals as text)."""
    rows = await session.scalars(
        select(Plant.nominal_power_kw).where(Plant.community_id == community_id)
    )
    return sum(rows, Decimal(0))


async def list_communities(
    *, session: AsyncSession, principal: Principal, page: int, per_page: int
) -> tuple[list[CommunityOut], int]:
    """The communities the caller may see, one page, with the total count."""
    ids = await visible_community_ids(session, principal)
    query = select(Community.id).order_by(Community.id)
    if ids is not None:
        query = query.where(Community.id.in_(ids))
    all_ids = list(await session.scalars(query))
    chosen = all_ids[(page - 1) * per_page : page * per_page]
    out = []
    for community_id in chosen:
        access = await community_access(session, principal, community_id)
        out.append(await describe(session, access))
    return out, len(all_ids)


async def get_community(
    *, session: AsyncSession, principal: Principal, community_id: int
) -> Access:
    return await community_access(session, principal, community_id)


async def _check_code_free(session: AsyncSession, code: str, community_id: int | None) -> None:
    existing = await session.scalar(select(Community.id).where(Community.code == code))
    if existing is not None and existing != community_id:
        raise Conflict(f"a community with code {code!r} already exists", details={"code": code})


async def create_community(
    *, session: AsyncSession, principal: Principal, data: CommunityIn
) -> Access:
    """A new community (gridpilot administrators only; they then add its admin member)."""
    if not is_superuser(principal):
        raise PermissionDenied("only a gridpilot administrator may create a community")
    await _check_code_free(session, data.code, None)
    community = Community(**data.model_dump(mode="json"))
    session.add(community)
    await session.flush()
    return Access(community, None, None)


async def update_community(
    *, session: AsyncSession, principal: Principal, community_id: int, data: CommunityIn
) -> Access:
    """Replace the community's fields (community admins and administrators)."""
    access = await community_access(session, principal, community_id, manage=True)
    await _check_code_free(session, data.code, community_id)
    used = set(
        await session.scalars(
            select(Plant.primary_substation).where(Plant.community_id == community_id)
        )
    )
    dropped = sorted(used - set(data.primary_substations))
    if dropped:
        raise ValidationFailed(
            f"substations {dropped} still have plants: move or delete them first",
            details={"substations": dropped},
        )
    for field, value in data.model_dump(mode="json").items():
        setattr(access.community, field, value)
    await session.flush()
    return access


async def delete_community(
    *, session: AsyncSession, principal: Principal, community_id: int
) -> None:
    """Delete a community (administrators), unless it has a closed settlement (409)."""
    if not is_superuser(principal):
        await community_access(session, principal, community_id)  # 404 for strangers
        raise PermissionDenied("only a gridpilot administrator may delete a community")
    access = await community_access(session, principal, community_id)
    closed = await session.scalar(
        select(func.count()).where(
            Settlement.community_id == community_id, Settlement.status == "closed"
        )
    )
    if closed:
        raise Conflict("the community has closed settlements: they are kept, it cannot go")
    await session.delete(access.community)
    await session.flush()


def _member_out(member: Member, membership: Membership) -> MemberOut:
    return MemberOut(
        member_id=member.id, name=member.name, email=member.email, user_type=member.user_type,
        category=member.category, user_id=member.user_id, role=membership.role,
        share_pct=membership.share_pct, joined_on=membership.joined_on,
        left_on=membership.left_on,
    )  # fmt: skip


async def list_members(
    *,
    session: AsyncSession,
    principal: Principal,
    community_id: int,
    page: int,
    per_page: int,
    include_former: bool = False,
) -> tuple[list[MemberOut], int]:
    """Members of a community: all for admins, only themselves for members and viewers."""
    access = await community_access(session, principal, community_id)
    query = (
        select(Member, Membership)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.community_id == community_id)
        .order_by(Member.id)
    )
    if not include_former:
        query = query.where(active_on(today()))
    if not access.sees_all:
        query = query.where(Member.id == access.member_id)
    rows = (await session.execute(query)).all()
    chosen = rows[(page - 1) * per_page : page * per_page]
    return [_member_out(m, ms) for m, ms in chosen], len(rows)


async def _member_for(session: AsyncSession, data: MemberIn) -> Member:
    if data.member_id is not None:
        member = await session.get(Member, data.member_id)
        if member is None:
            raise ValidationFailed(f"member {data.member_id} does not exist")
        return member
    if data.name is None:
        raise ValidationFailed("give member_id (an existing member) or the new member's name")
    if data.user_id is not None:
        if await session.get(User, data.user_id) is None:
            raise ValidationFailed(f"user {data.user_id} does not exist")
        linked = await session.scalar(select(Member.id).where(Member.user_id == data.user_id))
        if linked is not None:
            raise Conflict(
                f"user {data.user_id} already acts as member {linked}",
                details={"member_id": linked},
            )
    member = Member(
        name=data.name, email=data.email, user_type=data.user_type, category=data.category,
        user_id=data.user_id,
    )  # fmt: skip
    session.add(member)
    await session.flush()
    return member


async def add_member(
    *, session: AsyncSession, principal: Principal, community_id: int, data: MemberIn
) -> MemberOut:
    """Add a new or existing member to the community (community admins, administrators)."""
    await community_access(session, principal, community_id, manage=True)
    member = await _member_for(session, data)
    existing = await session.scalar(
        select(Membership).where(
            Membership.community_id == community_id, Membership.member_id == member.id
        )
    )
    if existing is not None and existing.left_on is None:
        raise Conflict(f"member {member.id} is already in the community")
    joined = data.joined_on or today()
    if existing is not None:  # a former member rejoins
        existing.role, existing.share_pct = data.role, data.share_pct
        existing.joined_on, existing.left_on = joined, None
        membership = existing
    else:
        membership = Membership(
            community_id=community_id, member_id=member.id, role=data.role,
            share_pct=data.share_pct, joined_on=joined,
        )  # fmt: skip
        session.add(membership)
    await session.flush()
    return _member_out(member, membership)


async def remove_member(
    *,
    session: AsyncSession,
    principal: Principal,
    community_id: int,
    member_id: int,
    left_on: date | None = None,
) -> MemberOut:
    """End a membership on ``left_on`` (default today). Memberships are never deleted:
    settlements and the ledger name their members."""
    await community_access(session, principal, community_id, manage=True)
    row = (
        await session.execute(
            select(Member, Membership)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.community_id == community_id, Member.id == member_id)
        )
    ).first()
    if row is None or row[1].left_on is not None:
        raise NotFound(f"member {member_id} not found in the community")
    member, membership = row
    day = left_on or today()
    if day < membership.joined_on:
        raise ValidationFailed(f"left_on {day} is before joined_on {membership.joined_on}")
    membership.left_on = day
    await session.flush()
    return _member_out(member, membership)
