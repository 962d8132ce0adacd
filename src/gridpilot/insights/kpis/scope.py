"""The scope of a KPI request (pure checks and reads, no figures): one asset, one site or a
group of assets, each checked against the caller's scope, and the period widened to whole
demand intervals (``service.py::compute_kpis``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import interval_convention
from gridpilot.assets.models import Site
from gridpilot.assets.service import get_asset, get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import ValidationFailed
from gridpilot.insights.data import AssetInfo, site_assets
from gridpilot.insights.kpis.inputs import Period

#: The most demand intervals one request may span.
MAX_INTERVALS = 40_000


def align_period(start_ms: int, end_ms: int, interval_ms: int) -> Period:
    """The period widened to whole intervals (``ValidationFailed`` when too many)."""
    if interval_ms < 60_000 or interval_ms > 86_400_000:
        raise ValidationFailed("the demand interval must lie between 1 minute and 1 day")
    start = start_ms - start_ms % interval_ms
    end = -(-end_ms // interval_ms) * interval_ms
    if (end - start) // interval_ms > MAX_INTERVALS:
        raise ValidationFailed(
            f"the period holds more than {MAX_INTERVALS} intervals of {interval_ms // 60_000} "
            "min: shorten it or use a longer interval"
        )
    return Period(start, end, interval_ms)


def _info(asset: Any) -> AssetInfo:
    return AssetInfo(
        asset.id,
        asset.site_id,
        asset.name,
        asset.kind,
        asset.role,
        asset.rated_capacity_kw,
        interval_convention(asset.attributes),
    )


async def resolve_scope(
    *,
    session: AsyncSession,
    principal: Principal,
    asset_id: int | None,
    site_id: int | None,
    asset_ids: Sequence[int] | None,
) -> tuple[dict[str, Any], list[AssetInfo], dict[int, Site]]:
    """(scope description, assets, their sites); ``NotFound`` for anything out of scope."""
    chosen = [x is not None for x in (asset_id, site_id, asset_ids)]
    if sum(chosen) != 1:
        raise ValidationFailed("give exactly one of asset, site or assets")
    if site_id is not None:
        site = await get_site(session=session, site_id=site_id, principal=principal)
        assets = await site_assets(session=session, site_id=site_id, principal=principal)
        return {"type": "site", "id": site_id}, assets, {site.id: site}
    ids = [asset_id] if asset_id is not None else list(dict.fromkeys(asset_ids or []))
    if not ids or len(ids) > 200:
        raise ValidationFailed("assets must list 1 to 200 asset ids")
    assets = [_info(await get_asset(session=session, asset_id=i, principal=principal)) for i in ids]
    sites = {
        a.site_id: await get_site(session=session, site_id=a.site_id, principal=principal)
        for a in assets
    }
    if asset_id is not None:
        return {"type": "asset", "id": asset_id}, assets, sites
    return {"type": "group", "ids": ids}, assets, sites
