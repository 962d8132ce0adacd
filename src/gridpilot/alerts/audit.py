"""The audit trail of alert rules, notification channels, acknowledgements and resolutions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.models import AlertAudit
from gridpilot.auth.permissions import Principal
from gridpilot.db.base import utcnow


async def record(
    *,
    session: AsyncSession,
    principal: Principal,
    action: str,
    site_id: int | None = None,
    rule_id: int | None = None,
    alert_id: int | None = None,
    channel_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one audit entry (``action`` like ``rule.created``, ``alert.acknowledged``)."""
    session.add(
        AlertAudit(
            at=utcnow(),
            actor=f"{principal.name} ({principal.subject})",
            action=action,
            site_id=site_id,
            rule_id=rule_id,
            alert_id=alert_id,
            channel_id=channel_id,
            detail=detail or {},
        )
    )
    await session.flush()


async def list_audit(
    *,
    session: AsyncSession,
    principal: Principal,
    rule_id: int | None,
    alert_id: int | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> list[AlertAudit]:
    """Audit entries, newest first. A site-limited principal sees only its sites' entries."""
    query = select(AlertAudit)
    if principal.site_ids is not None:
        query = query.where(AlertAudit.site_id.in_(sorted(principal.site_ids)))
    if rule_id is not None:
        query = query.where(AlertAudit.rule_id == rule_id)
    if alert_id is not None:
        query = query.where(AlertAudit.alert_id == alert_id)
    if since is not None:
        query = query.where(AlertAudit.at >= since)
    query = query.order_by(AlertAudit.at.desc(), AlertAudit.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())
