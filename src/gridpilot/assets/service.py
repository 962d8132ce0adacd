"""Sites, assets and the metric catalogue: the only module that touches their tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import BUILTIN_METRICS
from gridpilot.assets.models import Asset, Metric


@dataclass(frozen=True)
class AssetRef:
    """What ingestion needs to know about an asset, cheap to cache."""

    id: int
    site_id: int
    source_id: str | None


@dataclass(frozen=True)
class MetricRef:
    id: int
    key: str
    unit: str
    kind: str
    min_value: float | None
    max_value: float | None


async def ensure_builtin_metrics(*, session: AsyncSession) -> None:
    """Insert the built-in metric catalogue entries that are missing (idempotent)."""
    existing = set((await session.scalars(select(Metric.key))).all())
    for spec in BUILTIN_METRICS:
        if spec.key not in existing:
            session.add(
                Metric(
                    key=spec.key,
                    unit=spec.unit,
                    kind=spec.kind,
                    description=spec.description,
                    min_value=spec.min_value,
                    max_value=spec.max_value,
                    builtin=True,
                )
            )
    await session.flush()


async def asset_refs(*, session: AsyncSession) -> list[AssetRef]:
    """Every asset's id, site and WIA sourceId (for ingestion's lookup cache)."""
    rows = await session.execute(select(Asset.id, Asset.site_id, Asset.source_id))
    return [AssetRef(id=r.id, site_id=r.site_id, source_id=r.source_id) for r in rows]


async def metric_refs(*, session: AsyncSession) -> list[MetricRef]:
    """Every catalogue metric (built-in and user-defined)."""
    rows = await session.scalars(select(Metric))
    return [MetricRef(m.id, m.key, m.unit, m.kind, m.min_value, m.max_value) for m in rows.all()]
