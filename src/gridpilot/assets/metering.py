"""Sub-metering: which meter an asset is a sub-meter of (``Asset.parent_asset_id``).

A link is valid when the sub-meter belongs to its parent's site and has the parent's role, or
its parent is the site's main meter (``grid_connection``); no loops, at most ``MAX_DEPTH``
levels. A prosumer is a connection point of its own: it is never a sub-meter (under the main
meter its energy would be counted twice: at its own point and in the main meter's import) and
never a parent. The site balance counts a parent and never its same-role children too; the
parent's energy beyond its children is the unmetered remainder (docs/site-energy.md).

Every change keeps every link valid: an asset's own link is checked (422), and a change of its
role or site that would break a link of its sub-meters is refused (409) naming them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.core.errors import Conflict, ValidationFailed

MAX_DEPTH = 32


def link_problem(child: Asset, parent: Asset) -> str | None:
    """Why ``child`` may not hang under ``parent`` (None: it may)."""
    if parent.site_id != child.site_id:
        return f"parent meter {parent.id} is not an asset of the same site"
    if "prosumer" in (child.role, parent.role):
        return (
            "a prosumer is a connection point of its own: it is no sub-meter and has none "
            f"(asset {child.id} is a {child.role!r}, its parent {parent.id} a {parent.role!r})"
        )
    if parent.role not in (child.role, "grid_connection"):
        return (
            f"a sub-meter has its parent's role ({parent.role!r}) or hangs under the main meter "
            f"(grid_connection); asset {child.id} is a {child.role!r}"
        )
    return None


async def check_parent_meter(*, session: AsyncSession, asset: Asset, parent_id: int | None) -> None:
    """``ValidationFailed`` unless ``parent_id`` (None: no parent) may be ``asset``'s parent."""
    if parent_id is None:
        return
    if parent_id == asset.id:
        raise ValidationFailed("an asset cannot be its own parent meter")
    parent = await session.get(Asset, parent_id)
    if parent is None or parent.site_id != asset.site_id:
        raise ValidationFailed(f"parent meter {parent_id} is not an asset of the same site")
    problem = link_problem(asset, parent)
    if problem:
        raise ValidationFailed(problem)
    seen = {asset.id}
    current: Asset | None = parent
    for _ in range(MAX_DEPTH):
        if current is None:
            return
        if current.id in seen:
            raise ValidationFailed("parent_asset_id would make a loop of sub-meters")
        seen.add(current.id)
        next_id = current.parent_asset_id
        current = await session.get(Asset, next_id) if next_id is not None else None
    raise ValidationFailed(f"sub-meters nest at most {MAX_DEPTH} levels deep")


async def check_sub_meters(*, session: AsyncSession, asset: Asset) -> None:
    """``Conflict`` when ``asset``'s (new) role or site breaks the link of a sub-meter of it:
    the sub-meters are named; re-link or detach them first."""
    if asset.id is None:
        return
    rows = await session.scalars(select(Asset).where(Asset.parent_asset_id == asset.id))
    broken = [(child.id, problem) for child in rows if (problem := link_problem(child, asset))]
    if broken:
        ids = ", ".join(str(child_id) for child_id, _ in broken)
        raise Conflict(
            f"asset {asset.id} has sub-meters ({ids}) it could no longer be the parent of: "
            f"{broken[0][1]}; change or clear their parent_asset_id first",
            details={"sub_meters": [child_id for child_id, _ in broken]},
        )
