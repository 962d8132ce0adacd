"""Cheap, unscoped views of assets for caches and background jobs: ``AssetRef`` (what
ingestion needs, found by id, WIA sourceId or device id) and ``AssetSummary`` (what rule
evaluation needs). Scope checks are the callers' (they run as the system)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import SOURCE_ID_PATTERN
from gridpilot.assets.models import Asset


@dataclass(frozen=True)
class AssetRef:
    """What ingestion needs to know about an asset, cheap to cache."""

    id: int
    site_id: int
    source_id: str | None
    role: str | None = None
    rated_capacity_kw: float | None = None
    plausibility: str = "reject"


#: The columns of an ``AssetRef``, in its order.
_REF_COLUMNS = (
    Asset.id,
    Asset.site_id,
    Asset.source_id,
    Asset.role,
    Asset.rated_capacity_kw,
    Asset.plausibility,
)


async def asset_refs(*, session: AsyncSession) -> list[AssetRef]:
    """Every asset's id, site, WIA sourceId and plausibility inputs (for ingestion's cache)."""
    rows = await session.execute(select(*_REF_COLUMNS))
    return [AssetRef(*row) for row in rows]


async def find_asset_ref(*, session: AsyncSession, ref: int | str) -> AssetRef | None:
    """An asset by numeric id (int or digit string) or by WIA sourceId; None when unknown."""
    if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
        if not 0 < int(ref) < 2**31:
            return None
        query = select(*_REF_COLUMNS).where(Asset.id == int(ref))
    elif re.fullmatch(SOURCE_ID_PATTERN, ref):
        query = select(*_REF_COLUMNS).where(Asset.source_id == ref)
    else:
        return None
    row = (await session.execute(query)).first()
    return AssetRef(*row) if row else None


async def find_asset_by_device_id(*, session: AsyncSession, device_id: str) -> AssetRef | None:
    """The one asset whose ``attributes["device_id"]`` is ``device_id``; None when no asset or
    several assets claim it (ambiguous)."""
    query = (
        select(*_REF_COLUMNS)
        .where(Asset.attributes["device_id"].as_string() == device_id)
        .order_by(Asset.id)
        .limit(2)
    )
    rows = (await session.execute(query)).all()
    if len(rows) != 1:
        return None
    return AssetRef(*rows[0])


@dataclass(frozen=True)
class AssetSummary:
    """An asset as rule evaluation sees it (expected interval in s)."""

    id: int
    site_id: int
    name: str
    kind: str
    role: str
    expected_interval_s: float | None


async def asset_summaries(*, session: AsyncSession) -> list[AssetSummary]:
    """Every asset, by id (no scope check: for background jobs)."""
    rows = await session.execute(
        select(
            Asset.id, Asset.site_id, Asset.name, Asset.kind, Asset.role, Asset.expected_interval_s
        ).order_by(Asset.id)
    )
    return [AssetSummary(*row) for row in rows]
