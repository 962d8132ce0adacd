"""The CER seed's paths (outside /api/v1), answering the seed's envelope
``{success, data, meta{page, per_page, total}, errors}``: communities (``/api/cer``), their
members, plants (``/api/plants``). Errors keep gridpilot's error body (``Error``).
Access: see ``access.py`` (another community's objects answer 404)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.community import plants, service
from gridpilot.community.schemas import (
    CommunityIn,
    CommunityOut,
    Envelope,
    MemberIn,
    MemberOut,
    Meta,
    PlantIn,
    PlantOut,
)
from gridpilot.community.seed_paths import both
from gridpilot.db.dependencies import SessionDep

seed_router = APIRouter(tags=["community"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Page = Annotated[int, Query(ge=1, le=10**6, description="Page number, from 1")]
PerPage = Annotated[int, Query(ge=1, le=100, description="Items per page")]


def _meta(page: int, per_page: int, total: int) -> Meta:
    return Meta(page=page, per_page=per_page, total=total)


@both(seed_router.get, "/api/cer", summary="List the energy communities you may see")
async def list_cer(
    principal: Reader, session: SessionDep, page: Page = 1, per_page: PerPage = 20
) -> Envelope[list[CommunityOut]]:
    items, total = await service.list_communities(
        session=session, principal=principal, page=page, per_page=per_page
    )
    return Envelope(data=items, meta=_meta(page, per_page, total))


@both(
    seed_router.post,
    "/api/cer",
    status_code=201,
    summary="Create a community (gridpilot administrators)",
)
async def create_cer(
    data: CommunityIn, principal: Configurer, session: SessionDep
) -> Envelope[CommunityOut]:
    access = await service.create_community(session=session, principal=principal, data=data)
    return Envelope(data=await service.describe(session, access))


@both(seed_router.get, "/api/cer/{cer_id}", summary="A community with its aggregates")
async def get_cer(cer_id: Id, principal: Reader, session: SessionDep) -> Envelope[CommunityOut]:
    access = await service.get_community(session=session, principal=principal, community_id=cer_id)
    return Envelope(data=await service.describe(session, access))


@both(seed_router.put, "/api/cer/{cer_id}", summary="Replace a community's fields (its admins)")
async def update_cer(
    cer_id: Id, data: CommunityIn, principal: Configurer, session: SessionDep
) -> Envelope[CommunityOut]:
    access = await service.update_community(
        session=session, principal=principal, community_id=cer_id, data=data
    )
    return Envelope(data=await service.describe(session, access))


@both(
    seed_router.delete,
    "/api/cer/{cer_id}",
    status_code=204,
    summary="Delete a community without closed settlements (gridpilot administrators)",
)
async def delete_cer(cer_id: Id, principal: Configurer, session: SessionDep) -> Response:
    await service.delete_community(session=session, principal=principal, community_id=cer_id)
    return Response(status_code=204)


@both(
    seed_router.get,
    "/api/cer/{cer_id}/members",
    summary="Members: all for community admins, yourself for members and viewers",
)
async def list_cer_members(
    cer_id: Id,
    principal: Reader,
    session: SessionDep,
    page: Page = 1,
    per_page: PerPage = 20,
    include_former: Annotated[bool, Query(description="Also members who left")] = False,
) -> Envelope[list[MemberOut]]:
    items, total = await service.list_members(
        session=session, principal=principal, community_id=cer_id, page=page,
        per_page=per_page, include_former=include_former,
    )  # fmt: skip
    return Envelope(data=items, meta=_meta(page, per_page, total))


@both(
    seed_router.post,
    "/api/cer/{cer_id}/members",
    status_code=201,
    summary="Add a new or existing member",
)
async def add_cer_member(
    cer_id: Id, data: MemberIn, principal: Configurer, session: SessionDep
) -> Envelope[MemberOut]:
    member = await service.add_member(
        session=session, principal=principal, community_id=cer_id, data=data
    )
    return Envelope(data=member)


@both(
    seed_router.delete,
    "/api/cer/{cer_id}/members/{member_id}",
    summary="End a membership (kept, with its leave date)",
)
async def remove_cer_member(
    cer_id: Id,
    member_id: Id,
    principal: Configurer,
    session: SessionDep,
    left_on: Annotated[
        date | None, Query(ge=date(1970, 1, 1), le=date(9999, 1, 1), description="Default: today")
    ] = None,
) -> Envelope[MemberOut]:
    member = await service.remove_member(
        session=session, principal=principal, community_id=cer_id, member_id=member_id,
        left_on=left_on,
    )  # fmt: skip
    return Envelope(data=member)


@both(seed_router.get, "/api/plants", summary="Plants (PODs) you may see")
async def list_plants(
    principal: Reader,
    session: SessionDep,
    community_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    page: Page = 1,
    per_page: PerPage = 20,
) -> Envelope[list[PlantOut]]:
    items, total = await plants.list_plants(
        session=session, principal=principal, community_id=community_id, page=page,
        per_page=per_page,
    )  # fmt: skip
    data = [PlantOut.model_validate(p) for p in items]
    return Envelope(data=data, meta=_meta(page, per_page, total))


@both(seed_router.post, "/api/plants", status_code=201, summary="Register a plant / POD")
async def create_plant(
    data: PlantIn, principal: Configurer, session: SessionDep
) -> Envelope[PlantOut]:
    plant = await plants.create_plant(session=session, principal=principal, data=data)
    return Envelope(data=PlantOut.model_validate(plant))


@both(seed_router.get, "/api/plants/{plant_id}", summary="A plant / POD")
async def get_plant(plant_id: Id, principal: Reader, session: SessionDep) -> Envelope[PlantOut]:
    plant = await plants.get_plant(session=session, principal=principal, plant_id=plant_id)
    return Envelope(data=PlantOut.model_validate(plant))


@both(seed_router.put, "/api/plants/{plant_id}", summary="Replace a plant's fields")
async def update_plant(
    plant_id: Id, data: PlantIn, principal: Configurer, session: SessionDep
) -> Envelope[PlantOut]:
    plant = await plants.update_plant(
        session=session, principal=principal, plant_id=plant_id, data=data
    )
    return Envelope(data=PlantOut.model_validate(plant))


@both(seed_router.delete, "/api/plants/{plant_id}", status_code=204, summary="Delete a plant")
async def delete_plant(plant_id: Id, principal: Configurer, session: SessionDep) -> Response:
    await plants.delete_plant(session=session, principal=principal, plant_id=plant_id)
    return Response(status_code=204)
