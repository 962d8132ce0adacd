"""Request and response bodies of alert rules, alerts, notification channels and the audit.

Rule ``kind`` is one of the registered kinds (``alerts.kinds.KINDS``) and its ``params`` are
validated by the kind's params model; the stored (and answered) params carry every default
filled in.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, WithJsonSchema

from gridpilot.alerts.kinds import KIND_NAMES, KINDS
from gridpilot.alerts.kinds import validated_params as validated_params
from gridpilot.alerts.views import SEVERITY_RANK as SEVERITY_RANK
from gridpilot.assets.schemas import DbId, Kind, Name
from gridpilot.core.bodies import Strict

Severity = Literal["info", "warning", "critical"]


def check_kind(value: str) -> str:
    """A registered rule kind (``alerts.kinds.KINDS``)."""
    if value not in KINDS:
        raise ValueError(f"unknown rule kind {value!r}: one of {', '.join(KIND_NAMES)}")
    return value


#: A rule kind: the OpenAPI enum and the check both come from the registry.
RuleKindName = Annotated[
    str,
    AfterValidator(check_kind),
    WithJsonSchema({"type": "string", "enum": list(KIND_NAMES)}),
]
AlertState = Literal["active", "acknowledged", "resolved"]
NotifyEvent = Literal["raised", "acknowledged", "resolved"]
MetricKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Comment = Annotated[str, Field(max_length=2000)]


# --- rules -------------------------------------------------------------------------------------


class RuleFields(Strict):
    severity: Severity = "warning"
    enabled: bool = True
    metric: MetricKey | None = Field(
        default=None, description="Metric key: threshold and rate (required), anomaly (filter)"
    )
    site_id: DbId | None = Field(default=None, description="Scope: every asset of this site")
    asset_id: DbId | None = Field(default=None, description="Scope: this asset only")
    asset_kind: Kind | None = Field(default=None, description="Scope: assets of this kind")
    group_id: DbId | None = Field(
        default=None, description="Scope: every current member of this device group"
    )
    channel_ids: list[DbId] = Field(default_factory=list, max_length=50)
    description: str | None = Field(default=None, max_length=2000)


class RuleCreate(RuleFields):
    name: Name
    kind: RuleKindName
    params: dict[str, Any] = Field(default_factory=dict, description="Depends on kind")


class RuleUpdate(Strict):
    """Partial update; ``params`` replaces the whole parameter set; the kind cannot change."""

    name: Name | None = None
    severity: Severity | None = None
    enabled: bool | None = None
    metric: MetricKey | None = None
    site_id: DbId | None = None
    asset_id: DbId | None = None
    asset_kind: Kind | None = None
    group_id: DbId | None = Field(default=None, description="null: no longer on a group")
    channel_ids: list[DbId] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=2000)
    params: dict[str, Any] | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    enabled: bool
    severity: str
    metric: str | None
    site_id: int | None
    asset_id: int | None
    asset_kind: str | None
    group_id: int | None = Field(description="The device group whose members the rule covers")
    params: dict[str, Any] = Field(validation_alias=AliasChoices("kind_params", "params"))
    channel_ids: list[int]
    builtin: str | None = Field(description="Built-in default rule (can be disabled, not deleted)")
    description: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime


# --- alerts ------------------------------------------------------------------------------------


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int | None
    site_id: int
    asset_id: int | None
    kind: str
    metric: str | None
    severity: str
    state: str
    title: str
    message: str
    value: float | None
    detail: dict[str, Any]
    flapping: bool = Field(description="Raised again and again: notifications are suppressed")
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    resolved_at: datetime | None
    resolved_by: str | None = Field(description="Who resolved it; null when it cleared by itself")
    resolve_reason: str | None
    resolve_comment: str | None


class AlertAction(Strict):
    """Body of acknowledge and resolve (both optional)."""

    comment: Comment | None = None


# --- channels ----------------------------------------------------------------------------------


def check_webhook_secret(secret: str) -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24..64 random bytes."""
    body = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(body, validate=True)
    except ValueError:
        raise ValueError("secret must be 'whsec_' followed by base64") from None
    if not secret.startswith("whsec_") or not 24 <= len(key) <= 64:
        raise ValueError("secret must be 'whsec_' + base64 of 24 to 64 bytes")
    return secret


def check_email(address: str) -> str:
    if not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", address):
        raise ValueError(f"{address!r} is not an e-mail address")
    return address


Email = Annotated[str, Field(max_length=254), AfterValidator(check_email)]
WebhookSecret = Annotated[str, Field(max_length=200), AfterValidator(check_webhook_secret)]
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://")]


class ChannelFields(Strict):
    enabled: bool = True
    min_severity: Severity = "info"
    events: list[NotifyEvent] = Field(default=["raised", "resolved"], max_length=3)
    url: Url | None = Field(default=None, description="webhook: http(s) URL")
    recipients: list[Email] = Field(default_factory=list, max_length=50, description="email")


class ChannelCreate(ChannelFields):
    name: Name
    kind: Literal["webhook", "email"]
    site_id: DbId | None = Field(default=None, description="Only this site's users manage it")
    secret: WebhookSecret | None = Field(default=None, description="webhook; generated if unset")


class ChannelUpdate(Strict):
    name: Name | None = None
    enabled: bool | None = None
    min_severity: Severity | None = None
    events: list[NotifyEvent] | None = Field(default=None, max_length=3)
    url: Url | None = None
    recipients: list[Email] | None = Field(default=None, max_length=50)
    secret: WebhookSecret | None = None


class ChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    enabled: bool
    site_id: int | None
    min_severity: str
    events: list[str]
    url: str | None
    recipients: list[str]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ChannelCreated(ChannelOut):
    secret: str | None = Field(description="Webhook signing secret: shown only now")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel_id: int
    alert_id: int | None
    message_id: str
    event: str
    state: str
    attempts: int
    next_attempt_ms: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    recipients: list[str] | None = Field(
        default=None, description="E-mail: this delivery's recipients when preferences split them"
    )
    note: str | None = Field(
        default=None, description="Why it is held (quiet hours) or suppressed (whose preferences)"
    )


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    site_id: int | None
    rule_id: int | None
    alert_id: int | None
    channel_id: int | None
    detail: dict[str, Any]
