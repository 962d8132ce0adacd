"""Request and response bodies of the control API (times in epoch ms, ``*_ms``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridpilot.control.machine_status import MachineFacts
from gridpilot.control.status import StatusView
from gridpilot.core.timestamps import from_ms

#: The kinds of ``control.kinds.PARAMS`` (a test keeps both lists equal).
CommandKind = Literal["set_power_limit", "start", "stop", "setpoint", "charge", "discharge"]


class CommandIn(BaseModel):
    """A command for one device."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: CommandKind
    params: dict[str, Any] = Field(
        default_factory=dict, description="Per kind, units in the names (see docs/control.md)"
    )
    ttl_s: int | None = Field(
        default=None, gt=0, description="Seconds until an unfinished command expires"
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:\-]+$",
        description="Same key for the same asset returns the same command (200); default: new",
    )


class BulkCommandIn(CommandIn):
    """A command for many devices: ``asset_ids``, every asset of ``site_id`` (of
    ``asset_kinds``), or every member of the device group ``group_id``."""

    asset_ids: list[int] | None = Field(default=None, min_length=1, max_length=1000)
    site_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    asset_kinds: list[str] | None = Field(default=None, min_length=1, max_length=50)
    group_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="A device group (/api/v1/groups)"
    )

    @model_validator(mode="after")
    def _one_target(self) -> BulkCommandIn:
        if [self.asset_ids, self.site_id, self.group_id].count(None) != 2:
            raise ValueError("give one of asset_ids, site_id or group_id")
        if self.asset_kinds is not None and self.site_id is None:
            raise ValueError("asset_kinds filters the assets of site_id")
        if self.asset_ids is not None:
            if any(not 0 < a < 2**31 for a in self.asset_ids):
                raise ValueError("asset ids are positive 32-bit integers")
            if len(set(self.asset_ids)) != len(self.asset_ids):
                raise ValueError("asset_ids contains duplicates")
        return self


class CommandOut(BaseModel):
    id: int
    asset_id: int
    site_id: int
    kind: str
    params: dict[str, Any]
    idempotency_key: str
    state: str
    detail: str | None
    created_by: str
    created_ms: int
    expires_ms: int
    updated_ms: int
    sent_ms: int | None
    acknowledged_ms: int | None
    completed_ms: int | None

    @classmethod
    def of(cls, command: Any) -> CommandOut:
        return cls.model_validate(command, from_attributes=True)


class TransitionOut(BaseModel):
    state: str
    previous: str | None
    ts_ms: int
    actor: str
    detail: str | None


class CommandDetail(CommandOut):
    transitions: list[TransitionOut]


class BulkRejection(BaseModel):
    asset_id: int
    error: str
    message: str


class BulkResult(BaseModel):
    created: int = Field(description="New commands queued")
    existing: int = Field(description="Commands returned again for a known idempotency key")
    commands: list[CommandOut]
    rejected: list[BulkRejection]


class AssetStatusOut(BaseModel):
    asset_id: int
    site_id: int
    status: Literal["online", "offline", "unknown"]
    reason: Literal["lwt", "stale", "data", "birth", "stopped", "error"] | None = Field(
        description=(
            "Why: Last Will, no data for too long, fresh data, birth message, its source "
            "stopped on purpose (the simulator; not an outage), or the device reported an "
            "error (offline until it reports online again)"
        )
    )
    last_seen_ms: int | None = Field(description="Newest sign of life (reading or birth)")
    last_seen: datetime | None
    changed_ms: int | None = Field(description="When the status last changed (approximate)")
    expected_interval_s: float
    stale_after_s: float = Field(description="Offline when nothing is seen for this long")
    checked_ms: int
    operating_hours_total: float | None = Field(
        default=None,
        description="Total operating hours [h]: the newest reading of the asset's "
        "operating_hours register (None when it reports none)",
    )
    operating_hours_ms: int | None = Field(
        default=None, description="When operating_hours_total was reported"
    )
    alert_level: Literal["normal", "warning", "critical"] | None = Field(
        default=None,
        description="The highest severity among the asset's open (active or acknowledged) "
        "alerts; normal without one (an info alert included)",
    )

    @classmethod
    def of(cls, view: StatusView, facts: MachineFacts | None = None) -> AssetStatusOut:
        facts = facts or MachineFacts()
        return cls(
            operating_hours_total=facts.operating_hours_total,
            operating_hours_ms=facts.operating_hours_ms,
            alert_level=facts.alert_level,
            asset_id=view.asset_id,
            site_id=view.site_id,
            status=view.status,
            reason=view.reason,
            last_seen_ms=view.last_seen_ms,
            last_seen=from_ms(view.last_seen_ms) if view.last_seen_ms is not None else None,
            changed_ms=view.changed_ms,
            expected_interval_s=view.expected_interval_s,
            stale_after_s=view.stale_after_s,
            checked_ms=view.checked_ms,
        )


class SiteStatusOut(BaseModel):
    site_id: int
    online: int
    offline: int
    unknown: int
    assets: list[AssetStatusOut]
