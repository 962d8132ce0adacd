"""Sub-metering: which meter an asset is a sub-meter of (``Asset.parent_asset_id``).

A sub-meter belongs to its parent's site and has the parent's role, or its parent is the site's
main meter (``grid_connection``). The site balance counts a parent and never its same-role
children too; the parent's energy beyond its children is the unmetered remainder
(docs/site-energy.md).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.core.errors import ValidationFailed

MAX_DEPTH = 32


async def check_parent_meter(*, session: AsyncSession, asset: Asset, parent_id: int | None) -> None:
    """``ValidationFailed`` unless ``parent_id`` (None: no parent) may be ``asset``'s parent."""
    if parent_id is None:
        return
    if parent_id == asset.id:
        raise ValidationFailed("an asset cannot be its own parent meter")
    parent = await session.get(Asset, parent_id)
    if parent is None or parent.site_id != asset.site_id:
        raise ValidationFailed(f"parent meter {parent_id} is not an asset of the same site")
    if parent.role not in (asset.role, "grid_connection"):
        raise ValidationFailed(
            f"a sub-meter has its parent's role ({parent.role!r}) or hangs under the main meter "
            f"(grid_connection); this asset is a {asset.role!r}"
        )
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
