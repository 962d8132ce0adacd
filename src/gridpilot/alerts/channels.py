"""Notification channels (webhook, e-mail): create, read, update, delete (audited), test.

A channel with a ``site_id`` is managed by that site's users and only receives that site's
alerts; a global channel (no site) is managed by principals not limited to some sites.
Webhook URLs pass the SSRF guard of ``webhook_target.check`` when saved (else 422 with why).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import webhook, webhook_target
from gridpilot.alerts.audit import record
from gridpilot.alerts.models import NotificationChannel, NotificationDelivery
from gridpilot.alerts.outbox import delivery_for
from gridpilot.alerts.schemas import ChannelCreate, ChannelUpdate
from gridpilot.assets import service as assets
from gridpilot.auth import audit as security_audit
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridpilot.db.base import utcnow


def can_see_channel(principal: Principal, channel: NotificationChannel) -> bool:
    if principal.site_ids is None:
        return True
    return channel.site_id is not None and channel.site_id in principal.site_ids


async def get_channel(
    *, session: AsyncSession, channel_id: int, principal: Principal
) -> NotificationChannel:
    channel = await session.get(NotificationChannel, channel_id)
    if channel is None or not can_see_channel(principal, channel):
        raise NotFound(f"notification channel {channel_id} not found")
    return channel


async def list_channels(
    *, session: AsyncSession, principal: Principal, limit: int, offset: int
) -> list[NotificationChannel]:
    query = select(NotificationChannel)
    if principal.site_ids is not None:
        query = query.where(NotificationChannel.site_id.in_(sorted(principal.site_ids)))
    query = query.order_by(NotificationChannel.id).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def _check_target(
    kind: str, url: str | None, recipients: list[str], guard: webhook_target.Guard
) -> None:
    if kind == "webhook":
        if not url:
            raise ValidationFailed("a webhook channel needs a url")
        await webhook_target.check(url, guard)
    elif not recipients:
        raise ValidationFailed("an email channel needs at least one recipient")


def _snapshot(channel: NotificationChannel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "enabled": channel.enabled,
        "site_id": channel.site_id,
        "min_severity": channel.min_severity,
        "events": channel.events,
        "url": channel.url,
        "recipients": channel.recipients,
    }


async def create_channel(
    *,
    session: AsyncSession,
    principal: Principal,
    data: ChannelCreate,
    guard: webhook_target.Guard,
) -> NotificationChannel:
    """A new channel; a webhook without ``secret`` gets a generated one (answered once)."""
    if data.site_id is not None:
        await assets.get_site(session=session, site_id=data.site_id, principal=principal)
    elif principal.site_ids is not None:
        raise PermissionDenied("a user limited to some sites must give the channel a site_id")
    await _check_target(data.kind, data.url, data.recipients, guard)
    channel = NotificationChannel(
        name=data.name,
        kind=data.kind,
        enabled=data.enabled,
        site_id=data.site_id,
        min_severity=data.min_severity,
        events=sorted(set(data.events)),
        url=data.url if data.kind == "webhook" else None,
        secret=(data.secret or webhook.new_secret()) if data.kind == "webhook" else None,
        recipients=data.recipients if data.kind == "email" else [],
        created_by=principal.name,
    )
    session.add(channel)
    await session.flush()
    await record(
        session=session,
        principal=principal,
        action="channel.created",
        site_id=channel.site_id,
        channel_id=channel.id,
        detail=_snapshot(channel),
    )
    await security_audit.record(
        session,
        action="alert_channel.create",
        actor=principal,
        target=f"channel:{channel.id}",
        detail={"kind": channel.kind, "name": channel.name, "site": channel.site_id},
    )
    return channel


def _apply_changes(channel: NotificationChannel, changes: ChannelUpdate, fields: set[str]) -> None:
    """Set the fields ``changes`` names (a webhook's url and secret, an e-mail channel's
    recipients; a null secret keeps the old one)."""
    for name in ("name", "enabled", "min_severity"):
        if name in fields:
            setattr(channel, name, getattr(changes, name))
    if "events" in fields:
        channel.events = sorted(set(changes.events or []))
    if channel.kind == "webhook":
        if "url" in fields:
            channel.url = changes.url
        if "secret" in fields and changes.secret is not None:
            channel.secret = changes.secret
    elif "recipients" in fields:
        channel.recipients = changes.recipients or []


async def update_channel(
    *,
    session: AsyncSession,
    channel_id: int,
    principal: Principal,
    changes: ChannelUpdate,
    guard: webhook_target.Guard,
) -> NotificationChannel:
    channel = await get_channel(session=session, channel_id=channel_id, principal=principal)
    fields = changes.model_fields_set
    for name in ("name", "enabled", "min_severity", "events"):
        if name in fields and getattr(changes, name) is None:
            raise ValidationFailed(f"{name} cannot be null")
    before = _snapshot(channel)
    _apply_changes(channel, changes, fields)
    if channel.enabled or fields & {"url", "recipients"}:  # a bad target can still be disabled
        await _check_target(channel.kind, channel.url, channel.recipients, guard)
    await session.flush()
    after = _snapshot(channel)
    detail: dict[str, Any] = {
        k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]
    }
    if "secret" in fields:
        detail["secret"] = "rotated"  # noqa: S105 (a note, not a secret)
    await record(
        session=session,
        principal=principal,
        action="channel.updated",
        site_id=channel.site_id,
        channel_id=channel.id,
        detail=detail,
    )
    await security_audit.record(
        session,
        action="alert_channel.update",
        actor=principal,
        target=f"channel:{channel.id}",
        detail={"fields": sorted(fields), "site": channel.site_id},
    )
    return channel


async def delete_channel(*, session: AsyncSession, channel_id: int, principal: Principal) -> None:
    channel = await get_channel(session=session, channel_id=channel_id, principal=principal)
    await record(
        session=session,
        principal=principal,
        action="channel.deleted",
        site_id=channel.site_id,
        channel_id=channel.id,
        detail=_snapshot(channel),
    )
    await security_audit.record(
        session,
        action="alert_channel.delete",
        actor=principal,
        target=f"channel:{channel.id}",
        detail={"kind": channel.kind, "name": channel.name, "site": channel.site_id},
    )
    await session.delete(channel)
    await session.flush()


async def queue_test(
    *, session: AsyncSession, channel_id: int, principal: Principal
) -> NotificationDelivery:
    """Queue a test notification (``type`` ``alert.test``) to the channel."""
    channel = await get_channel(session=session, channel_id=channel_id, principal=principal)
    body = {
        "type": "alert.test",
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
        "data": {
            "title": "gridpilot test notification",
            "message": f"Test of channel {channel.name!r} requested by {principal.name}.",
            "severity": "info",
            "state": "test",
            "site_id": channel.site_id,
        },
    }
    delivery = delivery_for(channel.id, None, "alert.test", body)
    session.add(delivery)
    await session.flush()
    return delivery
