"""Device groups: create, read, change, delete, and their members listed live.

Visibility goes through the sites of the members. A group's *scope* is the set of sites it can
reach: a static group's members' sites; a dynamic group's ``site_ids`` criterion, or every site
(``None``) when it has none. A principal

- sees a group (and the members on its own sites) when the scope meets its sites; the answer
  says ``complete: false`` when some members were left out;
- may change, delete or act on a group (commands, schedules) only when the scope lies within
  its sites (``group_out_of_scope``, 403): nobody acts on part of a group without knowing it.

Device keys see no group. Members are read at every call, so a dynamic group follows asset edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gridpilot.groups import usage
from gridpilot.groups.models import DeviceGroup, DeviceGroupMember
from gridpilot.groups.schemas import GroupCreate, GroupFilter, GroupUpdate

STATIC, DYNAMIC = "static", "dynamic"
Scope = frozenset[int] | None  # None: every site


class GroupOutOfScope(PermissionDenied):
    code = "group_out_of_scope"


class GroupFilterEmpty(ValidationFailed):
    code = "group_filter_empty"


class GroupKindMismatch(ValidationFailed):
    code = "group_kind_mismatch"


class GroupNameTaken(Conflict):
    code = "group_name_taken"


GroupInUse = usage.GroupInUse


@dataclass(frozen=True)
class GroupView:
    """A group as one principal sees it: the static members it may see, and whether that is all."""

    group: DeviceGroup
    asset_ids: list[int] | None
    complete: bool


def sees_all(principal: Principal, scope: Scope) -> bool:
    """Whether every site the group can reach is one the principal sees."""
    if principal.asset_ids is not None:
        return False
    if principal.site_ids is None:
        return True
    return scope is not None and scope <= principal.site_ids


def sees_some(principal: Principal, scope: Scope) -> bool:
    if principal.asset_ids is not None:
        return False
    if principal.site_ids is None or scope is None:
        return True
    return bool(scope & principal.site_ids)


async def _scopes(session: AsyncSession, groups: Sequence[DeviceGroup]) -> dict[int, Scope]:
    """The scope of each group (one query for all static groups)."""
    scopes: dict[int, Scope] = {}
    static = [g.id for g in groups if g.kind == STATIC]
    for group in groups:
        if group.kind == DYNAMIC:
            sites = group.filter.get("site_ids")
            scopes[group.id] = frozenset(sites) if sites else None
        else:
            scopes[group.id] = frozenset()
    if static:
        rows = await session.execute(
            select(DeviceGroupMember.group_id, Asset.site_id)
            .join(Asset, Asset.id == DeviceGroupMember.asset_id)
            .where(DeviceGroupMember.group_id.in_(static))
            .distinct()
        )
        found: dict[int, set[int]] = {}
        for group_id, site_id in rows:
            found.setdefault(group_id, set()).add(site_id)
        scopes.update({g: frozenset(s) for g, s in found.items()})
    return scopes


def _matches_attributes(asset: Asset, criteria: dict[str, Any]) -> bool:
    attributes = asset.attributes or {}
    tags = criteria.get("tags")
    if tags:
        have = attributes.get("tags")
        if not isinstance(have, list) or not {t for t in have if isinstance(t, str)} & set(tags):
            return False
    versions = criteria.get("firmware_versions")
    return not versions or attributes.get("firmware_version") in versions


async def member_assets(
    *, session: AsyncSession, group: DeviceGroup, principal: Principal | None = None
) -> list[Asset]:
    """The group's members now, by id: those on the principal's sites (all when None)."""
    if principal is not None and principal.asset_ids is not None:
        return []
    query = select(Asset).order_by(Asset.id)
    criteria = group.filter or {}
    if group.kind == STATIC:
        query = query.join(DeviceGroupMember, DeviceGroupMember.asset_id == Asset.id).where(
            DeviceGroupMember.group_id == group.id
        )
    for key, column in (
        ("kinds", Asset.kind),
        ("site_ids", Asset.site_id),
        ("models", Asset.model),
        ("manufacturers", Asset.manufacturer),
    ):
        if criteria.get(key):
            query = query.where(column.in_(criteria[key]))
    if principal is not None and principal.site_ids is not None:
        query = query.where(Asset.site_id.in_(sorted(principal.site_ids)))
    assets = (await session.scalars(query)).all()
    return [a for a in assets if _matches_attributes(a, criteria)]


async def get_group(*, session: AsyncSession, principal: Principal, group_id: int) -> DeviceGroup:
    """The group; ``NotFound`` when missing or reaching none of the principal's sites."""
    group = await session.get(DeviceGroup, group_id)
    if group is None or not sees_some(principal, (await _scopes(session, [group]))[group.id]):
        raise NotFound(f"group {group_id} not found")
    return group


async def check_full_scope(
    *, session: AsyncSession, principal: Principal, group: DeviceGroup
) -> None:
    """``GroupOutOfScope`` unless every site the group reaches is one the principal sees."""
    if not sees_all(principal, (await _scopes(session, [group]))[group.id]):
        raise GroupOutOfScope(
            f"group {group.id} reaches sites you may not see: only a user of all its sites may "
            "change it or act on it"
        )


async def group_exists(*, session: AsyncSession, group_id: int, share_lock: bool = False) -> bool:
    """Whether the group exists; ``share_lock`` reads its row ``FOR SHARE`` (PostgreSQL), so a
    delete in progress is waited for, and a later one waits for this transaction."""
    query = select(DeviceGroup.id).where(DeviceGroup.id == group_id)
    return (
        await session.scalar(query.with_for_update(read=True) if share_lock else query) is not None
    )


async def sees_whole_group(*, session: AsyncSession, principal: Principal, group_id: int) -> bool:
    """Whether the group exists and every site it reaches is one the principal sees (what
    acting on it needs): rules on a group are shown only to such principals."""
    group = await session.get(DeviceGroup, group_id)
    return group is not None and sees_all(principal, (await _scopes(session, [group]))[group.id])


async def member_ids(
    *, session: AsyncSession, group_ids: Sequence[int]
) -> dict[int, frozenset[int]]:
    """Every current member of each group, by group id (a deleted group has none)."""
    found = (await session.scalars(select(DeviceGroup).where(DeviceGroup.id.in_(group_ids)))).all()
    members = {g: frozenset[int]() for g in group_ids}
    for group in found:
        members[group.id] = frozenset(
            a.id for a in await member_assets(session=session, group=group)
        )
    return members


async def target_assets(
    *, session: AsyncSession, principal: Principal, group_id: int
) -> list[Asset]:
    """Every member, for an action on the group (commands, schedules): ``NotFound`` or
    ``GroupOutOfScope`` when the principal does not see the whole group."""
    group = await get_group(session=session, principal=principal, group_id=group_id)
    await check_full_scope(session=session, principal=principal, group=group)
    return await member_assets(session=session, group=group, principal=principal)


async def list_groups(
    *, session: AsyncSession, principal: Principal, limit: int = 100, offset: int = 0
) -> list[GroupView]:
    """The groups the principal sees, by id, with the static members it may see."""
    groups = list((await session.scalars(select(DeviceGroup).order_by(DeviceGroup.id))).all())
    scopes = await _scopes(session, groups)
    shown = [g for g in groups if sees_some(principal, scopes[g.id])][offset : offset + limit]
    return [await _view(session, principal, g, scopes[g.id]) for g in shown]


async def view(*, session: AsyncSession, principal: Principal, group: DeviceGroup) -> GroupView:
    return await _view(session, principal, group, (await _scopes(session, [group]))[group.id])


async def _view(
    session: AsyncSession, principal: Principal, group: DeviceGroup, scope: Scope
) -> GroupView:
    ids = None
    if group.kind == STATIC:
        members = await member_assets(session=session, group=group, principal=principal)
        ids = [a.id for a in members]
    return GroupView(group, ids, sees_all(principal, scope))


async def _check_filter(principal: Principal, criteria: GroupFilter) -> dict[str, Any]:
    given = criteria.model_dump(exclude_none=True)
    if not given:
        raise GroupFilterEmpty("a dynamic group needs at least one criterion")
    for site_id in given.get("site_ids", []):
        principal.check_site(site_id)
    if not sees_all(principal, frozenset(given["site_ids"]) if "site_ids" in given else None):
        raise GroupOutOfScope("a group of every site needs a user of every site: give site_ids")
    return given


async def _check_assets(session: AsyncSession, principal: Principal, ids: list[int]) -> None:
    found = dict(
        (await session.execute(select(Asset.id, Asset.site_id).where(Asset.id.in_(ids)))).all()
    )
    for asset_id in ids:
        site_id = found.get(asset_id)
        if site_id is None or not principal.can_see_asset(asset_id, site_id):
            raise NotFound(f"asset {asset_id} not found")


async def _check_name(session: AsyncSession, name: str, group_id: int | None) -> None:
    other = await session.scalar(select(DeviceGroup.id).where(DeviceGroup.name == name))
    if other is not None and other != group_id:
        raise _name_taken(name)


def _name_taken(name: str) -> GroupNameTaken:
    return GroupNameTaken(f"a group named {name!r} exists already: choose another name")


async def create_group(
    *, session: AsyncSession, principal: Principal, data: GroupCreate
) -> DeviceGroup:
    """A new group; its static members must all be assets the principal sees (404)."""
    await _check_name(session, data.name, None)
    criteria: dict[str, Any] = {}
    if data.filter is not None:
        criteria = await _check_filter(principal, data.filter)
    if data.asset_ids is not None:
        await _check_assets(session, principal, data.asset_ids)
    group = DeviceGroup(
        name=data.name,
        description=data.description,
        kind=data.kind,
        filter=criteria,
        created_by=principal.subject[:200],
    )
    try:
        async with session.begin_nested():  # the same name made meanwhile: 409, not a 500
            session.add(group)
            await session.flush()
    except IntegrityError:
        raise _name_taken(data.name) from None
    await _set_members(session, group.id, data.asset_ids or [])
    return group


async def _set_members(session: AsyncSession, group_id: int, asset_ids: list[int]) -> None:
    await session.execute(delete(DeviceGroupMember).where(DeviceGroupMember.group_id == group_id))
    session.add_all(DeviceGroupMember(group_id=group_id, asset_id=a) for a in asset_ids)
    await session.flush()


async def update_group(
    *, session: AsyncSession, principal: Principal, group_id: int, data: GroupUpdate
) -> DeviceGroup:
    """Change the fields sent; only a principal of every site of the group may."""
    group = await get_group(session=session, principal=principal, group_id=group_id)
    await check_full_scope(session=session, principal=principal, group=group)
    if data.asset_ids is not None and group.kind != STATIC:
        raise GroupKindMismatch("asset_ids belong to static groups; change the filter")
    if data.filter is not None and group.kind != DYNAMIC:
        raise GroupKindMismatch("a filter belongs to dynamic groups; change asset_ids")
    if data.name is not None:
        await _check_name(session, data.name, group.id)
        group.name = data.name
    if "description" in data.model_fields_set:
        group.description = data.description
    if data.filter is not None:
        group.filter = await _check_filter(principal, data.filter)
    if data.asset_ids is not None:
        await _check_assets(session, principal, data.asset_ids)
        await _set_members(session, group.id, data.asset_ids)
    await session.flush()
    return group


async def delete_group(
    *,
    session: AsyncSession,
    principal: Principal,
    group_id: int,
    users: Sequence[usage.GroupUsers] = (),
    force: bool = False,
) -> list[usage.Event]:
    """Delete the group. While something targets it (``users``: alert rules, command schedules)
    the answer is ``GroupInUse`` (409) naming them; with ``force`` they are released first
    (disabled, see ``usage``). The events of those changes, to publish after the commit.

    The users are looked for after a write to the group's row (it changes nothing): on SQLite
    the write lock is then held, on PostgreSQL the row is locked, so a rule or schedule made on
    the group meanwhile is either among them or waits and then finds the group gone."""
    group = await get_group(session=session, principal=principal, group_id=group_id)
    await check_full_scope(session=session, principal=principal, group=group)
    await session.execute(
        update(DeviceGroup).where(DeviceGroup.id == group_id).values(name=DeviceGroup.name)
    )
    events: list[usage.Event] = []
    uses = await usage.uses_of(session=session, users=users, group_id=group_id)
    if uses and (not force or not all(u.releasable for u in uses)):
        raise usage.refusal(group.id, group.name, uses)
    if uses:
        events = await usage.release_all(
            session=session, principal=principal, users=users, group_id=group_id
        )
    try:
        async with session.begin_nested():
            await session.delete(group)
            await session.flush()
    except IntegrityError:  # a row whose foreign key is RESTRICT still names it
        raise GroupInUse(
            f"group {group.name!r} (#{group_id}) is still the target of a command schedule or "
            "report (made meanwhile, or of a domain that did not name it): delete that first"
        ) from None
    return events
