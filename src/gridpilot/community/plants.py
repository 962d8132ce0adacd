"""Plants and points of delivery (the seed's ``core_plant``): CRUD with their checks.

A POD code is unique across gridpilot (a POD belongs to one configuration); each POD is
metered by one gridpilot site (its grid exchange: export = injected, import = withdrawn), and a
site meters at most one POD. The POD's primary substation must be one of its community's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets import service as assets
from gridpilot.auth.permissions import Principal
from gridpilot.community.access import (
    community_access,
    is_superuser,
    member_of,
    visible_community_ids,
)
from gridpilot.community.models import Membership, Plant
from gridpilot.community.schemas import PlantIn
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed


async def list_plants(
    *,
    session: AsyncSession,
    principal: Principal,
    community_id: int | None,
    page: int,
    per_page: int,
) -> tuple[list[Plant], int]:
    """Plants the caller may see: all of the communities they administer, their own elsewhere."""
    query = select(Plant).order_by(Plant.id)
    if community_id is not None:
        access = await community_access(session, principal, community_id)
        query = query.where(Plant.community_id == community_id)
        if not access.sees_all:
            query = query.where(Plant.member_id == access.member_id)
    elif not is_superuser(principal):
        ids = await visible_community_ids(session, principal) or []
        admin_of = [i for i in ids if (await community_access(session, principal, i)).sees_all]
        own = await member_of(session, principal)
        query = query.where(
            Plant.community_id.in_(admin_of)
            | (Plant.community_id.in_(ids) & (Plant.member_id == own))
        )
    rows = list(await session.scalars(query))
    return rows[(page - 1) * per_page : page * per_page], len(rows)


async def get_plant(*, session: AsyncSession, principal: Principal, plant_id: int) -> Plant:
    """A plant, or 404 when missing or not the caller's to see."""
    plant = await session.get(Plant, plant_id)
    if plant is None:
        raise NotFound(f"plant {plant_id} not found")
    try:
        access = await community_access(session, principal, plant.community_id)
    except NotFound:
        raise NotFound(f"plant {plant_id} not found") from None
    if not access.sees_member(plant.member_id):
        raise NotFound(f"plant {plant_id} not found")
    return plant


async def _check(
    session: AsyncSession, principal: Principal, data: PlantIn, plant_id: int | None
) -> None:
    access = await community_access(session, principal, data.community_id, manage=True)
    if data.primary_substation not in access.community.primary_substations:
        raise ValidationFailed(
            f"substation {data.primary_substation!r} is not one of the community's "
            f"{access.community.primary_substations}",
            details={"field": "primary_substation"},
        )
    member = await session.scalar(
        select(Membership.id).where(
            Membership.community_id == data.community_id,
            Membership.member_id == data.member_id,
            Membership.left_on.is_(None),
        )
    )
    if member is None:
        raise ValidationFailed(f"member {data.member_id} is not in community {data.community_id}")
    same_pod = await session.scalar(select(Plant.id).where(Plant.pod_code == data.pod_code))
    if same_pod is not None and same_pod != plant_id:
        raise Conflict(
            f"POD {data.pod_code} is already registered (a POD belongs to one configuration)",
            details={"field": "pod_code", "reason": "duplicate_pod"},
        )
    try:
        await assets.get_site(session=session, site_id=data.site_id, principal=principal)
        if data.asset_id is not None:
            asset = await assets.get_asset(
                session=session, asset_id=data.asset_id, principal=principal
            )
            if asset.site_id != data.site_id:
                raise ValidationFailed(f"asset {data.asset_id} is not on site {data.site_id}")
    except NotFound as exc:
        raise ValidationFailed(exc.message) from None
    same_site = await session.scalar(select(Plant.id).where(Plant.site_id == data.site_id))
    if same_site is not None and same_site != plant_id:
        raise Conflict(
            f"site {data.site_id} already meters plant {same_site}: one POD per site",
            details={"field": "site_id", "reason": "site_taken"},
        )
    if data.plant_type != "CONSUMER" and data.nominal_power_kw <= 0:
        raise ValidationFailed("a producing plant needs a positive nominal_power_kw")


async def create_plant(*, session: AsyncSession, principal: Principal, data: PlantIn) -> Plant:
    await _check(session, principal, data, None)
    plant = Plant(**data.model_dump())
    session.add(plant)
    await session.flush()
    await session.refresh(plant)  # the stored decimals, at their scale
    return plant


async def update_plant(
    *, session: AsyncSession, principal: Principal, plant_id: int, data: PlantIn
) -> Plant:
    """Replace a plant's fields (PUT). Moving it to another community is not allowed."""
    plant = await get_plant(session=session, principal=principal, plant_id=plant_id)
    if data.community_id != plant.community_id:
        raise ValidationFailed("a plant cannot move to another community: delete and recreate")
    await _check(session, principal, data, plant_id)
    for field, value in data.model_dump().items():
        setattr(plant, field, value)
    await session.flush()
    await session.refresh(plant)
    return plant


async def delete_plant(*, session: AsyncSession, principal: Principal, plant_id: int) -> None:
    plant = await get_plant(session=session, principal=principal, plant_id=plant_id)
    await community_access(session, principal, plant.community_id, manage=True)
    await session.delete(plant)
    await session.flush()
