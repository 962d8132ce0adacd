"""Alert lifecycle: raise (de-duplicated, flapping-aware), acknowledge, resolve, list.

Functions flush, the caller commits and then publishes the returned bus events
(``alert.raised|acknowledged|resolved``, payload in ``event_payload``). Every state change
queues notifications in the outbox in the same transaction (see ``outbox``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts.audit import record
from gridpilot.alerts.models import Alert, AlertRule
from gridpilot.alerts.outbox import enqueue
from gridpilot.alerts.views import Raise
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound
from gridpilot.db.base import utcnow

OPEN_STATES = ("active", "acknowledged")


def event_payload(alert: Alert) -> dict[str, Any]:
    """The bus payload of ``alert.*`` (docs/live.md); ``ts`` is the change time [epoch ms]."""
    changed = alert.resolved_at or alert.acknowledged_at or alert.raised_at
    return {
        "alert_id": alert.id,
        "rule_id": alert.rule_id,
        "asset_id": alert.asset_id,
        "site_id": alert.site_id,
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "title": alert.title,
        "message": alert.message,
        "value": alert.value,
        "flapping": alert.flapping,
        "ts": int(changed.timestamp() * 1000),
    }


async def open_alert(
    *, session: AsyncSession, rule_id: int, subject: str, lock: bool = False
) -> Alert | None:
    """The open alert of the rule and subject; ``lock`` takes a row lock (PostgreSQL), so two
    processes resolving the same alert do not both notify."""
    query = select(Alert).where(
        Alert.rule_id == rule_id, Alert.subject == subject, Alert.resolved_at.is_(None)
    )
    return await session.scalar(query.with_for_update() if lock else query)


async def raise_alert(
    *, session: AsyncSession, found: Raise, flap_window_s: float, flap_max_raises: int
) -> Alert | None:
    """A new active alert, or None when one is already open for the rule and subject.

    Flapping: when the rule raised ``flap_max_raises - 1`` alerts for the subject within
    ``flap_window_s``, the new one is marked ``flapping`` and sends no notifications.
    """
    rule = await session.get(AlertRule, found.rule_id)
    if rule is None or not rule.enabled:
        return None
    if await open_alert(session=session, rule_id=rule.id, subject=found.subject) is not None:
        return None
    now = utcnow()
    recent = await session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.rule_id == rule.id,
            Alert.subject == found.subject,
            Alert.raised_at >= now - timedelta(seconds=flap_window_s),
        )
    )
    alert = Alert(
        rule_id=rule.id,
        subject=found.subject,
        site_id=found.site_id,
        asset_id=found.asset_id,
        kind=rule.kind,
        metric=rule.metric,
        severity=rule.severity,
        state="active",
        title=found.title[:300],
        message=found.message[:2000],
        value=found.value,
        detail=found.detail,
        flapping=(recent or 0) + 1 >= flap_max_raises,
        raised_at=now,
    )
    if session.get_bind().dialect.name != "postgresql":  # SQLite: one writer; SAVEPOINTs misbehave
        session.add(alert)
        await session.flush()
    else:
        try:
            async with session.begin_nested():  # another process may have raised it just now
                session.add(alert)
                await session.flush()
        except IntegrityError:
            return None
    if not alert.flapping:
        await enqueue(session=session, alert=alert, event="raised", channel_ids=rule.channel_ids)
    return alert


async def resolve_open(
    *, session: AsyncSession, rule_id: int, subject: str, value: float | None, reason: str
) -> Alert | None:
    """Resolve the open alert of the rule and subject automatically (None when none is open)."""
    alert = await open_alert(session=session, rule_id=rule_id, subject=subject, lock=True)
    if alert is None:
        return None
    await _resolve(session, alert, by=None, reason=reason, comment=None)
    if value is not None:
        alert.detail = {**alert.detail, "cleared_value": value}
    return alert


async def _resolve(
    session: AsyncSession, alert: Alert, *, by: str | None, reason: str, comment: str | None
) -> None:
    alert.state = "resolved"
    alert.resolved_at = utcnow()
    alert.resolved_by = by
    alert.resolve_reason = reason
    alert.resolve_comment = comment
    await session.flush()
    if not alert.flapping:
        rule = await session.get(AlertRule, alert.rule_id) if alert.rule_id else None
        channels = rule.channel_ids if rule is not None else []
        await enqueue(session=session, alert=alert, event="resolved", channel_ids=channels)


async def resolve_rule_alerts(*, session: AsyncSession, rule_id: int, reason: str) -> list[Alert]:
    """Resolve every open alert of a rule (it was disabled or deleted)."""
    alerts = (
        await session.scalars(
            select(Alert).where(Alert.rule_id == rule_id, Alert.resolved_at.is_(None))
        )
    ).all()
    for alert in alerts:
        await _resolve(session, alert, by=None, reason=reason, comment=None)
    return list(alerts)


async def get_alert(
    *, session: AsyncSession, alert_id: int, principal: Principal, lock: bool = False
) -> Alert:
    """The alert; ``NotFound`` when missing or outside the principal's sites (or, for a device
    key, not of its asset)."""
    alert = await session.get(Alert, alert_id, with_for_update=lock)
    if alert is None or not principal.can_see_asset(alert.asset_id, alert.site_id):
        raise NotFound(f"alert {alert_id} not found")
    return alert


async def acknowledge(
    *, session: AsyncSession, alert_id: int, principal: Principal, comment: str | None
) -> Alert:
    """active -> acknowledged, recording who, when and why (audited)."""
    alert = await get_alert(session=session, alert_id=alert_id, principal=principal, lock=True)
    if alert.state != "active":
        raise Conflict(f"alert {alert_id} is {alert.state}; only active alerts can be acknowledged")
    alert.state = "acknowledged"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by = principal.name
    alert.ack_comment = comment
    await session.flush()
    await record(
        session=session,
        principal=principal,
        action="alert.acknowledged",
        site_id=alert.site_id,
        rule_id=alert.rule_id,
        alert_id=alert.id,
        detail={"comment": comment},
    )
    if not alert.flapping:
        rule = await session.get(AlertRule, alert.rule_id) if alert.rule_id else None
        channels = rule.channel_ids if rule is not None else []
        await enqueue(session=session, alert=alert, event="acknowledged", channel_ids=channels)
    return alert


async def resolve_by_hand(
    *, session: AsyncSession, alert_id: int, principal: Principal, comment: str | None
) -> Alert:
    """active/acknowledged -> resolved by a person (audited). If the condition still holds the
    evaluator raises a new alert at its next check."""
    alert = await get_alert(session=session, alert_id=alert_id, principal=principal, lock=True)
    if alert.state == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved")
    await _resolve(session, alert, by=principal.name, reason="manual", comment=comment)
    await record(
        session=session,
        principal=principal,
        action="alert.resolved",
        site_id=alert.site_id,
        rule_id=alert.rule_id,
        alert_id=alert.id,
        detail={"comment": comment},
    )
    return alert


@dataclass
class AlertFilter:
    states: list[str] | None = None
    severities: list[str] | None = None
    site_id: int | None = None
    asset_id: int | None = None
    rule_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    site_ids: list[int] | None = None  # any of these sites (one statement for many)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filter as WHERE conditions (none for a field not given; an empty list of
        sites matches no alert)."""
        found: list[ColumnElement[bool]] = []
        if self.states:
            found.append(Alert.state.in_(self.states))
        if self.severities:
            found.append(Alert.severity.in_(self.severities))
        if self.site_id is not None:
            found.append(Alert.site_id == self.site_id)
        if self.site_ids is not None:
            found.append(Alert.site_id.in_(self.site_ids))
        if self.asset_id is not None:
            found.append(Alert.asset_id == self.asset_id)
        if self.rule_id is not None:
            found.append(Alert.rule_id == self.rule_id)
        if self.since is not None:
            found.append(Alert.raised_at >= self.since)
        if self.until is not None:
            found.append(Alert.raised_at < self.until)
        return found


def _visible_to(principal: Principal) -> list[ColumnElement[bool]]:
    """The sites' and assets' bounds of what ``principal`` may see."""
    bounds: list[ColumnElement[bool]] = []
    if principal.site_ids is not None:
        bounds.append(Alert.site_id.in_(sorted(principal.site_ids)))
    if principal.asset_ids is not None:
        bounds.append(Alert.asset_id.in_(sorted(principal.asset_ids)))
    return bounds


async def list_alerts(
    *, session: AsyncSession, principal: Principal, where: AlertFilter, limit: int, offset: int
) -> list[Alert]:
    """Alerts visible to the principal, newest first."""
    query = select(Alert).where(*_visible_to(principal), *where.conditions())
    query = query.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def open_alerts_of_asset(*, session: AsyncSession, asset_id: int) -> list[Alert]:
    """The asset's active and acknowledged alerts, newest first (WIA ``/sources/{id}/alerts``)."""
    query = (
        select(Alert)
        .where(Alert.asset_id == asset_id, Alert.state.in_(OPEN_STATES))
        .order_by(Alert.raised_at.desc(), Alert.id.desc())
    )
    return list((await session.scalars(query)).all())


async def open_alert_counts(
    *, session: AsyncSession, principal: Principal, site_ids: list[int]
) -> dict[int, dict[str, int]]:
    """Open alerts (active or acknowledged) per site of ``site_ids`` and severity, counted in
    one statement; sites without open alerts are missing."""
    query = (
        select(Alert.site_id, Alert.severity, func.count())
        .where(Alert.state.in_(OPEN_STATES), Alert.site_id.in_(site_ids))
        .group_by(Alert.site_id, Alert.severity)
    )
    if principal.asset_ids is not None:
        query = query.where(Alert.asset_id.in_(sorted(principal.asset_ids)))
    counts: dict[int, dict[str, int]] = {}
    for site_id, severity, count in await session.execute(query):
        counts.setdefault(int(site_id), {})[str(severity)] = int(count)
    return counts
