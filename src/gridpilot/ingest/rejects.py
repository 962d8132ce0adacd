"""The dead-letter list of ingestion (``ingest_rejects``): record and list rejected input.

A reject is a message (MQTT) or reading that could not be stored, with its topic, an excerpt
of the payload and the reason. Site scope: a reject is attributed to the site of its resolved
asset; site-scoped users see only their sites' rejects, and rejects that could not be
attributed to any asset (garbage, unknown devices) only unrestricted users see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Permission, Principal
from gridpilot.telemetry.models import IngestReject

MAX_REASON = 1000
MAX_TOPIC = 500


@dataclass(frozen=True, slots=True)
class RejectRecord:
    """One dead letter to store."""

    channel: str
    topic: str | None
    payload_excerpt: str
    reason: str
    asset_id: int | None = None
    site_id: int | None = None


def _text(value: str) -> str:
    """``value`` storable as text on both back ends (PostgreSQL refuses NUL and lone surrogates)."""
    value = value.replace("\x00", "\\x00")
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


async def record_rejects(*, session: AsyncSession, rejects: Sequence[RejectRecord]) -> None:
    """Add ``rejects`` to the dead-letter list (flushes; the caller commits)."""
    session.add_all(
        IngestReject(
            channel=r.channel[:20],
            topic=_text(r.topic[:MAX_TOPIC]) if r.topic is not None else None,
            asset_id=r.asset_id,
            site_id=r.site_id,
            payload_excerpt=_text(r.payload_excerpt),
            reason=_text(r.reason[:MAX_REASON]),
        )
        for r in rejects
    )
    await session.flush()


def _filters(
    principal: Principal,
    since: datetime | None,
    channel: str | None,
    asset_id: int | None,
    site_id: int | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if principal.site_ids is not None:
        conditions.append(IngestReject.site_id.in_(sorted(principal.site_ids)))
    if since is not None:
        conditions.append(IngestReject.received_at >= since)
    if channel is not None:
        conditions.append(IngestReject.channel == channel)
    if asset_id is not None:
        conditions.append(IngestReject.asset_id == asset_id)
    if site_id is not None:
        conditions.append(IngestReject.site_id == site_id)
    return conditions


async def list_rejects(
    *,
    session: AsyncSession,
    principal: Principal,
    since: datetime | None = None,
    channel: str | None = None,
    asset_id: int | None = None,
    site_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[IngestReject], int]:
    """Rejects visible to ``principal`` (newest first) and how many match in total."""
    principal.require(Permission.INGEST_ADMIN)
    conditions = _filters(principal, since, channel, asset_id, site_id)
    query = select(IngestReject).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(IngestReject).where(*conditions))
    rows = await session.scalars(query.order_by(IngestReject.id.desc()).limit(limit).offset(offset))
    return list(rows.all()), int(total or 0)
