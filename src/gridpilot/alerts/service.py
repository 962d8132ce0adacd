"""Alert rules: create, read, update, delete (audited), and the built-in default rules.

Scope: a rule on an asset takes the asset's site; a rule on a site (optionally one asset kind)
covers the site's assets; a rule without site or asset (global) covers every site and can only
be made or seen by principals not limited to some sites. A rule on a device group
(``group_id``, see ``targets``) covers its current members, optionally narrowed by ``site_id``
and ``asset_kind``. Disabling or deleting a rule resolves
its open alerts (returned, so the edge can publish ``alert.resolved`` after the commit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.alerts import targets
from gridpilot.alerts.audit import record
from gridpilot.alerts.kinds import KINDS, validated_params
from gridpilot.alerts.lifecycle import resolve_rule_alerts
from gridpilot.alerts.models import Alert, AlertRule, NotificationChannel
from gridpilot.alerts.schemas import RuleCreate, RuleUpdate
from gridpilot.assets import service as assets
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

#: Built-in rules (key -> definition), created at start-up unless disabled in the settings.
BUILTIN_RULES: dict[str, dict[str, Any]] = {
    "offline": {
        "name": "Asset offline",
        "kind": "stale",
        "severity": "warning",
        "description": "No data for 3 expected intervals, or the device reported offline.",
    },
    "contract_demand": {
        "name": "Contract demand exceeded",
        "kind": "contract_demand",
        "severity": "critical",
        "description": "Site demand above the site's contract_demand_kw.",
    },
}


def can_see_rule(principal: Principal, rule: AlertRule) -> bool:
    if principal.site_ids is None:
        return True
    return rule.site_id is not None and rule.site_id in principal.site_ids


async def get_rule(*, session: AsyncSession, rule_id: int, principal: Principal) -> AlertRule:
    rule = await session.get(AlertRule, rule_id)
    if rule is None or not (
        can_see_rule(principal, rule) or await targets.visible(session, principal, rule)
    ):
        raise NotFound(f"alert rule {rule_id} not found")
    return rule


async def list_rules(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> list[AlertRule]:
    query = select(AlertRule)
    if principal.site_ids is not None:
        unsited = (
            await session.scalars(select(AlertRule).where(AlertRule.site_id.is_(None)))
        ).all()
        groups = [r.id for r in unsited if await targets.visible(session, principal, r)]
        query = query.where(
            or_(AlertRule.site_id.in_(sorted(principal.site_ids)), AlertRule.id.in_(groups))
        )
    if site_id is not None:
        query = query.where(AlertRule.site_id == site_id)
    if kind is not None:
        query = query.where(AlertRule.kind == kind)
    query = query.order_by(AlertRule.id).limit(limit).offset(offset)
    return list((await session.scalars(query)).all())


async def _resolve_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    site_id: int | None,
    asset_id: int | None,
    asset_kind: str | None,
    group_id: int | None = None,
) -> int | None:
    """The rule's site id after checking the scope fields against each other and the caller
    (the group itself is checked by ``targets.check_group``)."""
    if asset_id is not None and group_id is not None:
        raise ValidationFailed("asset_id cannot be combined with group_id: give one target")
    if asset_id is not None:
        if asset_kind is not None:
            raise ValidationFailed("asset_kind cannot be combined with asset_id")
        asset = await assets.get_asset(session=session, asset_id=asset_id, principal=principal)
        if site_id is not None and site_id != asset.site_id:
            raise ValidationFailed(f"asset {asset_id} does not belong to site {site_id}")
        return asset.site_id
    if site_id is not None:
        await assets.get_site(session=session, site_id=site_id, principal=principal)
        return site_id
    if principal.site_ids is not None and group_id is None:
        raise PermissionDenied("a user limited to some sites must scope a rule to one of them")
    return None


async def _check_metric(session: AsyncSession, kind: str, metric: str | None) -> str | None:
    """The rule's metric as its kind wants it: required and known, a filter, or dropped."""
    wants = KINDS[kind].metric
    if wants != "required":
        return metric if wants == "filter" else None  # anomaly: only that metric's anomalies
    if metric is None:
        raise ValidationFailed(f"a {kind} rule needs a metric")
    if await assets.find_metric_ref(session=session, key=metric) is None:
        raise ValidationFailed(f"unknown metric {metric!r}")
    return metric


async def _check_channels(
    session: AsyncSession, principal: Principal, channel_ids: list[int], site_id: int | None
) -> list[int]:
    wanted = sorted(set(channel_ids))
    if not wanted:
        return []
    channels = (
        await session.scalars(select(NotificationChannel).where(NotificationChannel.id.in_(wanted)))
    ).all()
    usable = {
        c.id
        for c in channels
        if (principal.site_ids is None or c.site_id in principal.site_ids)
        and (c.site_id is None or c.site_id == site_id)
    }
    missing = [c for c in wanted if c not in usable]
    if missing:
        raise ValidationFailed(f"unknown notification channel(s) for this rule: {missing}")
    return wanted


#: Fields whose change makes the open alerts of a rule stale (they are resolved).
_CONDITION = ("metric", "site_id", "asset_id", "asset_kind", "group_id", "params")


def _snapshot(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "enabled": rule.enabled,
        "severity": rule.severity,
        "metric": rule.metric,
        "site_id": rule.site_id,
        "asset_id": rule.asset_id,
        "asset_kind": rule.asset_kind,
        "group_id": rule.group_id,
        "params": rule.kind_params,
        "channel_ids": rule.channel_ids,
    }


async def create_rule(
    *, session: AsyncSession, principal: Principal, data: RuleCreate
) -> AlertRule:
    site_id = await _resolve_scope(
        session,
        principal,
        site_id=data.site_id,
        asset_id=data.asset_id,
        asset_kind=data.asset_kind,
        group_id=data.group_id,
    )
    if data.group_id is not None:
        await targets.check_group(session, principal, kind=data.kind, group_id=data.group_id)
    rule = AlertRule(
        name=data.name,
        kind=data.kind,
        enabled=data.enabled,
        severity=data.severity,
        metric=await _check_metric(session, data.kind, data.metric),
        site_id=site_id,
        asset_id=data.asset_id,
        asset_kind=data.asset_kind,
        params=targets.with_group(validated_params(data.kind, data.params), data.group_id),
        channel_ids=await _check_channels(session, principal, data.channel_ids, site_id),
        description=data.description,
        created_by=principal.name,
    )
    session.add(rule)
    await session.flush()
    await targets.require_group(session, rule)  # after the write: a concurrent group delete
    await record(
        session=session,
        principal=principal,
        action="rule.created",
        site_id=rule.site_id,
        rule_id=rule.id,
        detail=_snapshot(rule),
    )
    return rule


async def _update_target(
    session: AsyncSession, principal: Principal, rule: AlertRule, changes: RuleUpdate
) -> None:
    """Apply the changes of scope (site, asset, kind, group) and of params to ``rule``."""
    fields = changes.model_fields_set
    group_id = changes.group_id if "group_id" in fields else rule.group_id
    if fields & {"site_id", "asset_id", "asset_kind", "group_id"}:
        scope = {k: getattr(rule, k) for k in ("site_id", "asset_id", "asset_kind")}
        scope.update({k: getattr(changes, k) for k in fields & scope.keys()})
        if "asset_id" in fields and "site_id" not in fields:
            scope["site_id"] = None  # moving to another asset moves to its site
        rule.site_id = await _resolve_scope(session, principal, **scope, group_id=group_id)
        rule.asset_id, rule.asset_kind = scope["asset_id"], scope["asset_kind"]
    if "group_id" in fields and group_id is not None:
        await targets.check_group(session, principal, kind=rule.kind, group_id=group_id)
    if fields & {"params", "group_id"}:
        kind_params = (changes.params or {}) if "params" in fields else rule.kind_params
        rule.params = targets.with_group(validated_params(rule.kind, kind_params), group_id)


async def update_rule(
    *, session: AsyncSession, rule_id: int, principal: Principal, changes: RuleUpdate
) -> tuple[AlertRule, list[Alert]]:
    """Apply a partial update; returns the rule and the alerts resolved because it was disabled."""
    rule = await get_rule(session=session, rule_id=rule_id, principal=principal)
    fields = changes.model_fields_set
    for name in ("name", "severity", "enabled"):
        if name in fields and getattr(changes, name) is None:
            raise ValidationFailed(f"{name} cannot be null")
    before = _snapshot(rule)
    await _update_target(session, principal, rule, changes)
    if "metric" in fields:
        rule.metric = await _check_metric(session, rule.kind, changes.metric)
    if "channel_ids" in fields:
        rule.channel_ids = await _check_channels(
            session, principal, changes.channel_ids or [], rule.site_id
        )
    for name in ("name", "severity", "enabled", "description"):
        if name in fields:
            setattr(rule, name, getattr(changes, name))
    await session.flush()
    if fields & {"enabled", "group_id"}:
        await targets.require_group(session, rule)  # its group deleted: 409, not a dead rule
    after = _snapshot(rule)
    resolved: list[Alert] = []
    if not rule.enabled:
        resolved = await resolve_rule_alerts(
            session=session, rule_id=rule.id, reason="rule_disabled"
        )
    elif any(before[k] != after[k] for k in _CONDITION):  # evaluate again from scratch
        resolved = await resolve_rule_alerts(
            session=session, rule_id=rule.id, reason="rule_changed"
        )
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    await record(
        session=session,
        principal=principal,
        action="rule.updated",
        site_id=rule.site_id,
        rule_id=rule.id,
        detail=changed,
    )
    return rule, resolved


async def delete_rule(*, session: AsyncSession, rule_id: int, principal: Principal) -> list[Alert]:
    """Delete a rule (not a built-in one: disable those); returns the alerts it resolved."""
    rule = await get_rule(session=session, rule_id=rule_id, principal=principal)
    if rule.builtin is not None:
        raise Conflict("built-in rules cannot be deleted; disable them with enabled=false")
    resolved = await resolve_rule_alerts(session=session, rule_id=rule.id, reason="rule_deleted")
    await record(
        session=session,
        principal=principal,
        action="rule.deleted",
        site_id=rule.site_id,
        rule_id=rule.id,
        detail=_snapshot(rule),
    )
    await session.delete(rule)
    await session.flush()
    return resolved


async def ensure_builtin_rules(*, session: AsyncSession) -> int:
    """Create the missing built-in rules (global, enabled); returns how many were created."""
    existing = set((await session.scalars(select(AlertRule.builtin))).all())
    created = 0
    for key, definition in BUILTIN_RULES.items():
        if key in existing:
            continue
        session.add(
            AlertRule(
                **definition,
                enabled=True,
                params=validated_params(definition["kind"], {}),
                channel_ids=[],
                builtin=key,
                created_by="gridpilot",
            )
        )
        created += 1
    await session.flush()
    return created
