"""Alerts raised by another domain's own logic, not by a rule (e.g. ``dr``: a demand-response
event under its target, a dispatch command that failed and needs a person).

Such an alert has no rule (``rule_id`` null), ``kind`` names what raised it, and ``subject``
is the caller's de-duplication key (one open alert per kind and subject). It is notified on
every enabled channel that would take it (the site's channels and the global ones, by
severity and event), since no rule lists channels. The caller commits and then publishes
``alert.raised`` with ``lifecycle.event_payload``. Resolved like any alert (by a person, or by
``resolve_system_alert``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.models import Alert, NotificationChannel
from gridpilot.alerts.outbox import enqueue
from gridpilot.db.base import utcnow


async def _open(session: AsyncSession, kind: str, subject: str) -> Alert | None:
    query = select(Alert).where(
        Alert.rule_id.is_(None),
        Alert.kind == kind,
        Alert.subject == subject,
        Alert.resolved_at.is_(None),
    )
    return (await session.scalars(query)).first()


async def raise_system_alert(
    *,
    session: AsyncSession,
    kind: str,
    subject: str,
    site_id: int,
    asset_id: int | None,
    severity: str,
    title: str,
    message: str,
    value: float | None = None,
    detail: dict[str, Any] | None = None,
) -> Alert | None:
    """A new active alert, or None when one of ``kind`` is already open for ``subject``."""
    if await _open(session, kind, subject) is not None:
        return None
    alert = Alert(
        rule_id=None, subject=subject[:40], site_id=site_id, asset_id=asset_id, kind=kind[:30],
        metric=None, severity=severity, state="active", title=title[:300],
        message=message[:2000], value=value, detail=detail or {}, flapping=False,
        raised_at=utcnow(),
    )  # fmt: skip
    session.add(alert)
    await session.flush()
    channels = await session.scalars(
        select(NotificationChannel.id).where(NotificationChannel.enabled.is_(True))
    )
    await enqueue(session=session, alert=alert, event="raised", channel_ids=list(channels))
    return alert


async def open_system_alerts(*, session: AsyncSession, site_id: int, kind: str) -> list[Alert]:
    """The open alerts of ``kind`` on the site (oldest first)."""
    query = select(Alert).where(
        Alert.rule_id.is_(None),
        Alert.kind == kind,
        Alert.site_id == site_id,
        Alert.resolved_at.is_(None),
    )
    return list((await session.scalars(query.order_by(Alert.id))).all())
