"""HTTP routes of alert rules, alerts and the audit trail (thin: see ``service``/``lifecycle``).

Rules and the audit need CONFIGURE (operator+); reading alerts READ; acknowledging and
resolving ALERTS_ACK (operator+). Alerts of sites outside the caller's scope answer 404 and
never appear in lists. Bus events are published once the transaction has committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request, Response

from gridpilot.alerts import audit, lifecycle, service
from gridpilot.alerts.events import alert_events, publish_all, rule_event
from gridpilot.alerts.kinds import rules_description
from gridpilot.alerts.models import Alert
from gridpilot.alerts.schemas import (
    AlertAction,
    AlertOut,
    AlertState,
    AuditOut,
    RuleCreate,
    RuleKindName,
    RuleOut,
    RuleUpdate,
    Severity,
)
from gridpilot.auth.dependencies import Configurer, Reader, require
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core import events as catalogue
from gridpilot.core.errors import ValidationFailed
from gridpilot.core.timestamps import MAX_MS, from_ms, to_ms
from gridpilot.db.dependencies import SessionDep

router = APIRouter(tags=["alerts"])

Acknowledger = Annotated[Principal, Depends(require(Permission.ALERTS_ACK))]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
QueryId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]
Instant = Annotated[str | None, Query(max_length=40, description="ISO-8601 or epoch ms")]


def instant(value: str | None) -> datetime | None:
    """The query time as a UTC datetime; 422 outside 1970..9999."""
    if not value:
        return None
    ms = to_ms(value)
    if not 0 <= ms <= MAX_MS:
        raise ValidationFailed("times must lie between 1970 and 9999")
    return from_ms(ms)


# --- rules -------------------------------------------------------------------------------------


@router.get("/alert-rules", summary="List alert rules")
async def list_rules(
    principal: Configurer,
    session: SessionDep,
    site_id: QueryId = None,
    kind: RuleKindName | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[RuleOut]:
    """Rules in the caller's scope (a user limited to some sites sees only those sites' rules)."""
    rules = await service.list_rules(
        session=session, principal=principal, site_id=site_id, kind=kind, limit=limit, offset=offset
    )
    return [RuleOut.model_validate(r) for r in rules]


RULE_DESCRIPTION = f"""
`kind` and its `params` (defaults filled in when omitted; from `alerts/kinds`):
{rules_description()}

Scope: `asset_id` (one asset), else `site_id` and/or `asset_kind`; neither means every site
(only for users not limited to some sites). `group_id`: every current member of a device group
(a dynamic group's members as they are at each evaluation), optionally narrowed by `site_id`
and `asset_kind`; not with `asset_id`, nor for site kinds (422 `rule_group_site_kind`); 404 for
a group you do not see, 403 `group_out_of_scope` when it reaches sites you may not see. Site
kinds (`contract_demand`, `forecast_contract`, `balance_check`) raise one alert per site with
`asset_id` null. `channel_ids`: notification channels of the rule.
"""


@router.post(
    "/alert-rules",
    status_code=201,
    summary="Create an alert rule",
    description=RULE_DESCRIPTION,
)
async def create_rule(
    data: RuleCreate,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> RuleOut:
    rule = await service.create_rule(session=session, principal=principal, data=data)
    background.add_task(publish_all, request.app, [rule_event(rule.id, "created")])
    return RuleOut.model_validate(rule)


@router.get("/alert-rules/{rule_id}", summary="Get an alert rule")
async def get_rule(rule_id: Id, principal: Configurer, session: SessionDep) -> RuleOut:
    rule = await service.get_rule(session=session, rule_id=rule_id, principal=principal)
    return RuleOut.model_validate(rule)


@router.patch(
    "/alert-rules/{rule_id}",
    summary="Change an alert rule (enable/disable, thresholds, scope, channels)",
    description="Disabling a rule, or changing its condition, resolves its open alerts.",
)
async def update_rule(
    rule_id: Id,
    changes: RuleUpdate,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> RuleOut:
    rule, resolved = await service.update_rule(
        session=session, rule_id=rule_id, principal=principal, changes=changes
    )
    events = [
        rule_event(rule.id, "updated"),
        *alert_events(catalogue.ALERT_RESOLVED.name, resolved),
    ]
    background.add_task(publish_all, request.app, events)
    return RuleOut.model_validate(rule)


@router.delete(
    "/alert-rules/{rule_id}",
    status_code=204,
    summary="Delete an alert rule (built-in rules can only be disabled)",
)
async def delete_rule(
    rule_id: Id,
    principal: Configurer,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> Response:
    resolved = await service.delete_rule(session=session, rule_id=rule_id, principal=principal)
    events = [
        rule_event(rule_id, "deleted"),
        *alert_events(catalogue.ALERT_RESOLVED.name, resolved),
    ]
    background.add_task(publish_all, request.app, events)
    return Response(status_code=204)


# --- alerts ------------------------------------------------------------------------------------


@router.get("/alerts/audit", summary="Audit trail of rule, channel and alert changes")
async def list_audit(
    principal: Configurer,
    session: SessionDep,
    rule_id: QueryId = None,
    alert_id: QueryId = None,
    since: Instant = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditOut]:
    """Newest first: who created, changed or deleted rules and channels, acknowledged or
    resolved alerts, when, and what changed."""
    entries = await audit.list_audit(
        session=session,
        principal=principal,
        rule_id=rule_id,
        alert_id=alert_id,
        since=instant(since),
        limit=limit,
        offset=offset,
    )
    return [AuditOut.model_validate(e) for e in entries]


@router.get("/alerts", summary="List alerts (newest first) with filters")
async def list_alerts(
    principal: Reader,
    session: SessionDep,
    state: Annotated[
        list[AlertState | str] | None,
        Query(description="active, acknowledged, resolved, or open (= active + acknowledged)"),
    ] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    site_id: QueryId = None,
    asset_id: QueryId = None,
    rule_id: QueryId = None,
    since: Instant = None,
    until: Instant = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AlertOut]:
    """`since`/`until` bound the raise time. A user limited to some sites sees only theirs."""
    states = _states(state)
    where = lifecycle.AlertFilter(
        states=states,
        severities=list(severity) if severity else None,
        site_id=site_id,
        asset_id=asset_id,
        rule_id=rule_id,
        since=instant(since),
        until=instant(until),
    )
    alerts = await lifecycle.list_alerts(
        session=session, principal=principal, where=where, limit=limit, offset=offset
    )
    return [AlertOut.model_validate(a) for a in alerts]


def _states(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    states: set[str] = set()
    for value in values:
        if value == "open":
            states.update(lifecycle.OPEN_STATES)
        elif value in ("active", "acknowledged", "resolved"):
            states.add(value)
        else:
            raise ValidationFailed(
                f"unknown state {value!r}: active, acknowledged, resolved or open"
            )
    return sorted(states)


@router.get("/alerts/{alert_id}", summary="Get an alert")
async def get_alert(alert_id: Id, principal: Reader, session: SessionDep) -> AlertOut:
    alert = await lifecycle.get_alert(session=session, alert_id=alert_id, principal=principal)
    return AlertOut.model_validate(alert)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    summary="Acknowledge an active alert (operator+)",
    description="Records who and when, with an optional `comment`; 409 unless the alert is active.",
)
async def acknowledge_alert(
    alert_id: Id,
    principal: Acknowledger,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    body: AlertAction | None = None,
) -> AlertOut:
    alert = await lifecycle.acknowledge(
        session=session, alert_id=alert_id, principal=principal, comment=_comment(body)
    )
    return _announced(request, background, catalogue.ALERT_ACKNOWLEDGED.name, alert)


@router.post(
    "/alerts/{alert_id}/resolve",
    summary="Resolve an alert by hand (operator+)",
    description="If the condition still holds, the evaluator raises a new alert at its next check.",
)
async def resolve_alert(
    alert_id: Id,
    principal: Acknowledger,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    body: AlertAction | None = None,
) -> AlertOut:
    alert = await lifecycle.resolve_by_hand(
        session=session, alert_id=alert_id, principal=principal, comment=_comment(body)
    )
    return _announced(request, background, catalogue.ALERT_RESOLVED.name, alert)


def _comment(body: AlertAction | None) -> str | None:
    return body.comment if body else None


def _announced(request: Request, background: BackgroundTasks, event: str, alert: Alert) -> AlertOut:
    """The alert's answer; its event is published once the answer is sent."""
    background.add_task(publish_all, request.app, alert_events(event, [alert]))
    return AlertOut.model_validate(alert)
