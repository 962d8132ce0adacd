"""``/api/v1/groups``: device groups (CRUD) and their members, listed live.

Reads need READ, changes CONFIGURE. A group reaching none of the caller's sites answers 404; one
reaching other sites too is shown with the caller's members only (``complete: false``) and
cannot be changed by the caller (403 ``group_out_of_scope``). See docs/fleet-operations.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.db.dependencies import SessionDep
from gridpilot.groups import service
from gridpilot.groups.events import group_users, publish_group_changed
from gridpilot.groups.schemas import GroupCreate, GroupOut, GroupUpdate, MemberOut, MembersOut

router = APIRouter(prefix="/groups", tags=["groups"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found or not in scope"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    403: {
        "description": "Role may not configure, or `group_out_of_scope`: the group reaches "
        "sites you may not see"
    },
    409: {
        "description": "`group_name_taken`, or `group_in_use` (alert rules or command schedules "
        "target it; they are named in the message and in `details`)"
    },
    422: {
        "description": "Invalid (codes: `group_filter_empty`, `group_kind_mismatch`, "
        "`validation_failed`)"
    },
}
KINDS_TEXT = """A **static** group lists its members (`asset_ids`); a **dynamic** group has a
`filter` (`kinds`, `site_ids`, `models`, `manufacturers`, `tags`, `firmware_versions`: all
criteria given must hold, any value of each list) evaluated at every read, so its members follow
asset edits. `tags` and `firmware_version` are read from the asset's `attributes`."""


def group_out(found: service.GroupView) -> GroupOut:
    group = found.group
    return GroupOut(
        id=group.id,
        name=group.name,
        description=group.description,
        kind=group.kind,
        filter=group.filter if group.kind == service.DYNAMIC else None,
        asset_ids=found.asset_ids,
        complete=found.complete,
        created_by=group.created_by,
        created_at=group.created_at,
        updated_at=group.updated_at,
    )


@router.get("", summary="Device groups you may see", description=KINDS_TEXT)
async def list_groups(
    principal: Reader, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[GroupOut]:
    found = await service.list_groups(
        session=session, principal=principal, limit=limit, offset=offset
    )
    return [group_out(g) for g in found]


@router.post(
    "",
    status_code=201,
    summary="Create a device group",
    description=KINDS_TEXT + "\n\nStatic members must be assets you may see (404); a dynamic "
    "group without `site_ids` reaches every site, so only a user of every site may create it.",
    responses=REFUSED,
)
async def create_group(
    data: GroupCreate,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> GroupOut:
    group = await service.create_group(session=session, principal=principal, data=data)
    background.add_task(publish_group_changed, request.app, group.id, "created")
    return group_out(await service.view(session=session, principal=principal, group=group))


@router.get("/{group_id}", summary="A device group", responses=NOT_FOUND)
async def get_group(group_id: Id, principal: Reader, session: SessionDep) -> GroupOut:
    group = await service.get_group(session=session, principal=principal, group_id=group_id)
    return group_out(await service.view(session=session, principal=principal, group=group))


@router.patch(
    "/{group_id}",
    summary="Change a device group",
    description="Only the fields sent change; `asset_ids` replaces a static group's members, "
    "`filter` a dynamic group's criteria. Only a user of every site the group reaches may.",
    responses=REFUSED,
)
async def update_group(
    group_id: Id,
    data: GroupUpdate,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> GroupOut:
    group = await service.update_group(
        session=session, principal=principal, group_id=group_id, data=data
    )
    background.add_task(publish_group_changed, request.app, group.id, "updated")
    return group_out(await service.view(session=session, principal=principal, group=group))


@router.delete(
    "/{group_id}",
    status_code=204,
    summary="Delete a device group",
    description="Refused with 409 `group_in_use` while alert rules or command schedules target "
    "the group: the message names each of them (kind, name, id), `details` lists them "
    "(`kind`, `id`, `name`, `enabled`, `releasable`: whether `force` may release it; while one "
    "is not, `force` is refused too). With `force=true` they are disabled first and the group "
    "is deleted: a rule keeps the dead group id and cannot be enabled again until it gets "
    "another target (409 `rule_group_deleted`); a schedule loses its target and keeps its runs "
    "(409 `schedule_target_deleted` on enabling it). Forcing needs the rights to change them "
    "(`configure` for rules, `commands:send` for schedules). Firmware roll-outs are not "
    "affected: their devices were listed when they started.",
    responses=REFUSED,
)
async def delete_group(
    group_id: Id,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    force: Annotated[
        bool, Query(description="Disable the rules and schedules on the group, then delete it")
    ] = False,
) -> Response:
    released = await service.delete_group(
        session=session,
        principal=principal,
        group_id=group_id,
        users=group_users(request.app),
        force=force,
    )
    background.add_task(publish_group_changed, request.app, group_id, "deleted", released)
    return Response(status_code=204)


@router.get(
    "/{group_id}/members",
    summary="The members of a group now",
    description="Read live: a dynamic group's members are the assets meeting its filter at this "
    "moment. Members on sites you may not see are left out (`complete: false`).",
    responses=NOT_FOUND,
)
async def list_members(group_id: Id, principal: Reader, session: SessionDep) -> MembersOut:
    group = await service.get_group(session=session, principal=principal, group_id=group_id)
    assets = await service.member_assets(session=session, group=group, principal=principal)
    found = await service.view(session=session, principal=principal, group=group)
    members = []
    for asset in assets:
        attributes = asset.attributes or {}
        tags = attributes.get("tags")
        version = attributes.get("firmware_version")
        members.append(
            MemberOut(
                asset_id=asset.id,
                site_id=asset.site_id,
                name=asset.name,
                kind=asset.kind,
                model=asset.model,
                manufacturer=asset.manufacturer,
                tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
                firmware_version=version if isinstance(version, str) else None,
            )
        )
    return MembersOut(
        group_id=group.id, count=len(members), complete=found.complete, members=members
    )
