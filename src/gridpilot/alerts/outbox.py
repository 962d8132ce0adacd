"""The persistent notification outbox: queue, claim, settle.

A state change of an alert adds one row per matching channel (enabled, ``min_severity`` met,
the event among the channel's ``events``, same site or a global channel) in the alert's own
transaction, so a notification is never lost and never sent for a change that rolled back. The
preferences of the people behind a channel may split that row, hold it until their quiet hours
end or record it as ``suppressed`` (``preference_service.plan``).
``notify.Notifier`` claims due rows (an optimistic lease, safe across processes), delivers them
and settles each: ``delivered``, retried later with exponential backoff, or ``failed``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import preference_service
from gridpilot.alerts.models import Alert, NotificationChannel, NotificationDelivery
from gridpilot.alerts.schemas import SEVERITY_RANK
from gridpilot.core.timestamps import from_ms, now_ms
from gridpilot.db.base import utcnow


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def notification_body(alert: Alert, event: str) -> dict[str, Any]:
    """The JSON body sent to channels (Standard Webhooks shape: type, timestamp, data)."""
    return {
        "type": f"alert.{event}",
        "timestamp": _iso(utcnow()),
        "data": {
            "alert_id": alert.id,
            "rule_id": alert.rule_id,
            "site_id": alert.site_id,
            "asset_id": alert.asset_id,
            "kind": alert.kind,
            "metric": alert.metric,
            "severity": alert.severity,
            "state": alert.state,
            "title": alert.title,
            "message": alert.message,
            "value": alert.value,
            "raised_at": _iso(alert.raised_at),
            "acknowledged_at": _iso(alert.acknowledged_at),
            "acknowledged_by": alert.acknowledged_by,
            "ack_comment": alert.ack_comment,
            "resolved_at": _iso(alert.resolved_at),
            "resolved_by": alert.resolved_by,
            "resolve_reason": alert.resolve_reason,
        },
    }


async def enqueue(
    *, session: AsyncSession, alert: Alert, event: str, channel_ids: list[int]
) -> int:
    """Queue the alert's ``event`` for each matching channel of ``channel_ids``; how many rows
    will be sent (now or after quiet hours; ``suppressed`` rows are not counted)."""
    if not channel_ids:
        return 0
    channels = (
        await session.scalars(
            select(NotificationChannel).where(
                NotificationChannel.id.in_(channel_ids), NotificationChannel.enabled.is_(True)
            )
        )
    ).all()
    body = notification_body(alert, event)
    queued = 0
    for channel in channels:
        if SEVERITY_RANK[alert.severity] < SEVERITY_RANK.get(channel.min_severity, 0):
            continue
        if event not in channel.events:
            continue
        if channel.site_id is not None and channel.site_id != alert.site_id:
            continue
        now = now_ms()
        for part in await preference_service.plan(
            session=session, channel=channel, alert=alert, now_ms=now
        ):
            row = delivery_for(channel.id, alert.id, f"alert.{event}", body)
            row.recipients, row.note = part.recipients, part.note
            if part.verdict.action == "hold" and part.verdict.until_ms is not None:
                row.next_attempt_ms = part.verdict.until_ms
            elif part.verdict.action == "drop":
                row.state = "suppressed"
            queued += part.verdict.action != "drop"
            session.add(row)
    await session.flush()
    return queued


def delivery_for(
    channel_id: int, alert_id: int | None, event: str, body: dict[str, Any]
) -> NotificationDelivery:
    """A pending outbox row, due now; its ``message_id`` stays the same across retries."""
    return NotificationDelivery(
        channel_id=channel_id,
        alert_id=alert_id,
        message_id=f"msg_{uuid.uuid4().hex}",
        event=event,
        payload=body,
        state="pending",
        attempts=0,
        next_attempt_ms=now_ms(),
        created_at=utcnow(),
    )


async def due_ids(*, session: AsyncSession, now: int, limit: int) -> list[tuple[int, int]]:
    """(id, next_attempt_ms) of pending deliveries due at ``now``, oldest first."""
    rows = await session.execute(
        select(NotificationDelivery.id, NotificationDelivery.next_attempt_ms)
        .where(NotificationDelivery.state == "pending", NotificationDelivery.next_attempt_ms <= now)
        .order_by(NotificationDelivery.next_attempt_ms)
        .limit(limit)
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def claim(*, session: AsyncSession, delivery_id: int, seen_ms: int, lease_ms: int) -> bool:
    """Take a due delivery for ``lease_ms`` (False when another worker took it first)."""
    result = await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.id == delivery_id,
            NotificationDelivery.state == "pending",
            NotificationDelivery.next_attempt_ms == seen_ms,
        )
        .values(next_attempt_ms=now_ms() + lease_ms)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Delay before the next attempt after ``attempts`` failures: base x 2^(n-1), +-10 % jitter."""
    delay = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.9, 1.1)


async def settle(
    *,
    session: AsyncSession,
    delivery: NotificationDelivery,
    error: str | None,
    retry_base_s: float,
    retry_max_s: float,
    max_attempts: int,
) -> None:
    """Record one attempt: delivered (``error`` None), retried later, or failed for good."""
    delivery.attempts += 1
    if error is None:
        delivery.state = "delivered"
        delivery.delivered_at = utcnow()
        delivery.last_error = None
    elif delivery.attempts >= max_attempts:
        delivery.state = "failed"
        delivery.last_error = error[:2000]
    else:
        delivery.last_error = error[:2000]
        delay = backoff_s(delivery.attempts, retry_base_s, retry_max_s)
        delivery.next_attempt_ms = now_ms() + round(delay * 1000)
    await session.flush()


async def prune(*, session: AsyncSession, older_than_ms: int) -> None:
    """Delete settled rows (delivered, failed, cancelled, suppressed) older than the bound."""
    await session.execute(
        delete(NotificationDelivery).where(
            NotificationDelivery.state != "pending",
            NotificationDelivery.created_at < from_ms(older_than_ms),
        )
    )


async def list_deliveries(
    *, session: AsyncSession, channel_id: int, limit: int, offset: int
) -> list[NotificationDelivery]:
    query = (
        select(NotificationDelivery)
        .where(NotificationDelivery.channel_id == channel_id)
        .order_by(NotificationDelivery.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(query)).all())
