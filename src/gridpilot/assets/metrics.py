"""The metric catalogue's table: the built-in entries, user-defined metrics and the cheap
``MetricRef`` that ingestion caches (the built-in list itself: ``catalogue.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import BUILTIN_METRICS, METRIC_KEY_PATTERN
from gridpilot.assets.models import Metric
from gridpilot.assets.schemas import MetricCreate
from gridpilot.core.errors import Conflict
from gridpilot.core.units import normalise_unit
from gridpilot.db.inserts import dialect_insert


@dataclass(frozen=True)
class MetricRef:
    id: int
    key: str
    unit: str
    kind: str
    min_value: float | None
    max_value: float | None


async def ensure_builtin_metrics(*, session: AsyncSession) -> None:
    """Insert the built-in metric catalogue entries that are missing (idempotent).

    Safe when several processes start at once: a key another process inserted meanwhile is
    skipped (``ON CONFLICT DO NOTHING``), not an error.
    """
    existing = set((await session.scalars(select(Metric.key))).all())
    missing = [
        {
            "key": spec.key,
            "unit": spec.unit,
            "kind": spec.kind,
            "description": spec.description,
            "min_value": spec.min_value,
            "max_value": spec.max_value,
            "builtin": True,
        }
        for spec in BUILTIN_METRICS
        if spec.key not in existing
    ]
    if not missing:
        return
    await session.execute(
        dialect_insert(session)(Metric)
        .values(missing)
        .on_conflict_do_nothing(index_elements=["key"])
    )


async def metric_refs(*, session: AsyncSession) -> list[MetricRef]:
    """Every catalogue metric (built-in and user-defined)."""
    rows = await session.scalars(select(Metric))
    return [_metric_ref(m) for m in rows.all()]


def _metric_ref(m: Metric) -> MetricRef:
    return MetricRef(m.id, m.key, m.unit, m.kind, m.min_value, m.max_value)


async def find_metric_ref(*, session: AsyncSession, key: str) -> MetricRef | None:
    """The catalogue entry ``key``, or None."""
    if not re.fullmatch(METRIC_KEY_PATTERN, key):
        return None
    metric = await session.scalar(select(Metric).where(Metric.key == key))
    return _metric_ref(metric) if metric is not None else None


async def list_metrics(*, session: AsyncSession) -> list[Metric]:
    """The whole catalogue, built-ins first, then by key."""
    rows = await session.scalars(select(Metric).order_by(Metric.builtin.desc(), Metric.key))
    return list(rows.all())


async def create_metric(*, session: AsyncSession, data: MetricCreate) -> Metric:
    """Add a user-defined metric; ``Conflict`` when the key exists."""
    if await session.scalar(select(Metric.id).where(Metric.key == data.key)) is not None:
        raise Conflict(f"metric {data.key!r} already exists")
    metric = Metric(
        key=data.key,
        unit=normalise_unit(data.unit),
        kind=data.kind,
        description=data.description,
        min_value=data.min_value,
        max_value=data.max_value,
        builtin=False,
    )
    session.add(metric)
    await session.flush()
    return metric
