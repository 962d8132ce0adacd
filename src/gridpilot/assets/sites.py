"""Sites: their scope (a principal limited to some sites gets ``NotFound`` for the others),
their hierarchy (``parent_id``, never a cycle) and the reads of background jobs (no scope)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset, Site
from gridpilot.assets.schemas import SiteCreate, SiteUpdate
from gridpilot.auth import audit
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


async def list_sites(
    *, session: AsyncSession, principal: Principal, limit: int = 1000, offset: int = 0
) -> list[Site]:
    """Sites the principal may see, by id."""
    query = select(Site).order_by(Site.id).limit(limit).offset(offset)
    if principal.site_ids is not None:
        query = query.where(Site.id.in_(principal.site_ids))
    return list((await session.scalars(query)).all())


async def get_site(*, session: AsyncSession, site_id: int, principal: Principal) -> Site:
    """The site ``site_id``; ``NotFound`` when missing or out of the principal's scope."""
    site = await session.get(Site, site_id) if principal.can_see_site(site_id) else None
    if site is None:
        raise NotFound(f"site {site_id} not found")
    return site


async def _check_site_name_free(session: AsyncSession, name: str, site_id: int | None) -> None:
    existing = await session.scalar(select(Site.id).where(Site.name == name))
    if existing is not None and existing != site_id:
        raise Conflict(f"a site named {name!r} already exists")


async def _check_parent(
    session: AsyncSession, parent_id: int, site_id: int | None, principal: Principal
) -> None:
    """The parent must be visible and must not be the site itself or one of its descendants."""
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if current == site_id:
            raise ValidationFailed("parent_id would make the site its own ancestor")
        seen.add(current)
        parent = await get_site(session=session, site_id=current, principal=principal)
        current = parent.parent_id


async def create_site(*, session: AsyncSession, principal: Principal, data: SiteCreate) -> Site:
    """A new site. Only principals not limited to some sites may create sites."""
    if principal.site_ids is not None:
        raise PermissionDenied("a user limited to some sites cannot create sites")
    await _check_site_name_free(session, data.name, None)
    if data.parent_id is not None:
        await _check_parent(session, data.parent_id, None, principal)
    site = Site(**data.model_dump())
    session.add(site)
    await session.flush()
    await audit.record_change(session, principal, action="site.create", target=f"site:{site.id}")
    return site


async def update_site(
    *, session: AsyncSession, site_id: int, principal: Principal, changes: SiteUpdate
) -> Site:
    """Apply the fields sent in ``changes`` (PATCH semantics)."""
    site = await get_site(session=session, site_id=site_id, principal=principal)
    values = changes.model_dump(exclude_unset=True)
    if "name" in values:
        await _check_site_name_free(session, values["name"], site.id)
    if values.get("parent_id") is not None:
        await _check_parent(session, values["parent_id"], site.id, principal)
    for field, value in values.items():
        setattr(site, field, value)
    await session.flush()
    target = f"site:{site.id}"
    await audit.record_change(
        session, principal, action="site.update", target=target, fields=values
    )
    return site


async def delete_site(*, session: AsyncSession, site_id: int, principal: Principal) -> list[int]:
    """Delete the site and (by cascade) its assets and their keys; returns the deleted asset ids.

    Child sites are kept (their ``parent_id`` becomes null).
    """
    site = await get_site(session=session, site_id=site_id, principal=principal)
    asset_ids = list(
        (await session.scalars(select(Asset.id).where(Asset.site_id == site.id))).all()
    )
    await session.execute(delete(Asset).where(Asset.site_id == site.id))
    await session.execute(delete(Site).where(Site.id == site.id))
    session.expunge(site)
    await session.flush()
    await audit.record_change(session, principal, action="site.delete", target=f"site:{site_id}")
    return asset_ids


async def site_contracts(*, session: AsyncSession) -> list[tuple[int, str, float | None]]:
    """(id, name, contract demand [kW]) of every site (no scope check: for background jobs)."""
    rows = await session.execute(select(Site.id, Site.name, Site.contract_demand_kw))
    return [(row.id, row.name, row.contract_demand_kw) for row in rows]


async def sites_by_id(*, session: AsyncSession, site_ids: Sequence[int]) -> dict[int, Site]:
    """Sites by id (no scope check: for callers that already checked their assets' scope)."""
    if not site_ids:
        return {}
    rows = await session.scalars(select(Site).where(Site.id.in_(set(site_ids))))
    return {site.id: site for site in rows.all()}
