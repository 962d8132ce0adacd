"""Per-site facts about assets for fleet-wide views, read in one statement for any number of
sites (no per-site loop): how many assets, installed generation [kW], what status needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset

#: Roles whose rated capacity is generation: a prosumer's is its generator's (e.g. PV kWp).
GENERATING_ROLES = ("producer", "prosumer")


@dataclass(frozen=True)
class AssetFact:
    """What a fleet view needs of one asset."""

    asset_id: int
    site_id: int
    role: str
    rated_capacity_kw: float | None
    expected_interval_s: float | None


@dataclass
class SiteAssets:
    """One site's asset count and installed generation [kW]."""

    count: int = 0
    installed_generation_kw: float = 0.0


async def asset_facts(*, session: AsyncSession, site_ids: Sequence[int]) -> list[AssetFact]:
    """Every asset of ``site_ids`` (scope checked by the caller), by id."""
    if not site_ids:
        return []
    query = (
        select(
            Asset.id, Asset.site_id, Asset.role, Asset.rated_capacity_kw, Asset.expected_interval_s
        )
        .where(Asset.site_id.in_(list(site_ids)))
        .order_by(Asset.id)
    )
    connection = await session.connection()  # plain rows: no ORM loading for 10,000 assets
    return [AssetFact(*row) for row in await connection.execute(query)]


def per_site(facts: Sequence[AssetFact]) -> dict[int, SiteAssets]:
    """Asset count and installed generation per site of ``facts``."""
    result: dict[int, SiteAssets] = {}
    for fact in facts:
        entry = result.setdefault(fact.site_id, SiteAssets())
        entry.count += 1
        if fact.role in GENERATING_ROLES:
            entry.installed_generation_kw += fact.rated_capacity_kw or 0.0
    return result
