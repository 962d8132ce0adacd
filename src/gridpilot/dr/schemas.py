"""Request and response bodies of the demand-response routes (``/api/dr-events``,
``/api/v1/dr-events``, ``/api/v1/dr-utilities``, ``/webhooks/utility/dr-notification``).

Times are ISO-8601 with an offset (UTC when none) or epoch milliseconds in requests, ISO-8601
UTC in answers; power in kW.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, model_validator

from gridpilot.core.bodies import Strict
from gridpilot.core.timestamps import MAX_MS, to_ms

#: Strict types: a JSON string, float or boolean is not taken for a number (nor 0/1 for a bool).
Id = Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
Kw = Annotated[float, Field(gt=0, le=1e9, strict=True)]
Status = Literal["scheduled", "active", "completed", "failed", "cancelled"]
Source = Literal["manual", "utility_webhook", "openadr"]
SignalKind = Literal["kw_target", "level", "price"]
Method = Literal[
    "caiso_10in10",
    "nyiso_high5of10",
    "pjm_high4of5",
    "pge_10in10",
    "pge_high5of10",
    "forecast",
    "weather_regression",
]
Time = Annotated[datetime | int, Field(description="ISO-8601 (UTC without offset) or epoch ms")]
ExternalId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]


def _window(start: datetime | int, end: datetime | int) -> tuple[int, int]:
    start_ms, end_ms = to_ms(start), to_ms(end)
    if not (0 <= start_ms <= MAX_MS and 0 <= end_ms <= MAX_MS):
        raise ValueError("event_start and event_end must lie between 1970 and 9999")
    if end_ms <= start_ms:
        raise ValueError("event_end must be after event_start")
    return start_ms, end_ms


class Signal(Strict):
    """What the event asks for: a kW reduction (``kw_target``, the default), a level (OpenADR
    simple levels 0-3) or a price [currency/kWh]; the target kW is what is measured."""

    kind: SignalKind = "kw_target"
    value: float | None = Field(default=None, ge=-1e6, le=1e6, strict=True)


class DrEventCreate(Strict):
    """The facility seed's request, plus the optional method, signal, opt-out and an id."""

    facility_id: Id = Field(description="The site of the event")
    event_start: Time
    event_end: Time
    target_reduction_kw: Kw = Field(description="Reduction asked for [kW], against the baseline")
    baseline_method: Method = Field(
        default="caiso_10in10",
        description="Customer baseline method: a CBL preset, `forecast` (the stored day-ahead "
        "consumption forecast) or `weather_regression` (the load on the site's own measured "
        "outdoor temperature, settled once the event has ended); see docs/demand-response.md",
    )
    signal: Signal = Field(default_factory=Signal)
    opt_out: StrictBool = Field(default=False, description="Recorded and measured, never judged")
    pass_pct: float = Field(
        default=100.0,
        ge=0,
        le=1000,
        strict=True,
        description="Performance [% of target] to count as met",
    )
    external_id: ExternalId | None = Field(
        default=None, description="Your id of the event: a repeated request answers the same event"
    )

    @model_validator(mode="after")
    def _ordered(self) -> DrEventCreate:
        _window(self.event_start, self.event_end)
        return self

    def window_ms(self) -> tuple[int, int]:
        return _window(self.event_start, self.event_end)


class BaselinePoint(BaseModel):
    timestamp: datetime = Field(description="Start of the 15-min interval (UTC)")
    baseline_kw: float


class DrEventCreated(BaseModel):
    """The seed's answer: the event id and the calculated baseline load per interval."""

    event_id: int
    facility_id: int
    event_start: datetime
    event_end: datetime
    target_reduction_kw: float
    status: Status
    baseline_method: str
    baseline_load: list[BaselinePoint]


class IntervalOut(BaseModel):
    timestamp: datetime = Field(description="Start of the 15-min interval (UTC)")
    baseline_kw: float
    target_kw: float = Field(description="Load to stay at or below: baseline - target reduction")
    metered_kw: float | None = Field(description="Metered consumption, once the interval ended")
    reduction_kw: float | None = Field(description="Achieved reduction: baseline - metered")


class DrEventOut(BaseModel):
    """An event; the detail adds its intervals and the stored baseline record."""

    id: int
    site_id: int
    start: datetime
    end: datetime
    status: Status
    status_reason: str | None
    source: Source
    utility_id: int | None
    external_id: str | None
    signal: Signal
    opt_out: bool
    target_reduction_kw: float
    target_reduction_pct: float | None
    achieved_reduction_kw: float | None
    performance_pct: float | None = Field(description="Mean reduction as % of the target")
    pass_pct: float
    baseline_method: str
    created_by: str | None
    created_at: datetime
    intervals: list[IntervalOut] | None = None
    baseline: dict[str, object] | None = Field(
        default=None, description="How the baseline was made: days used, adjustment, source"
    )


class CancelRequest(Strict):
    reason: str | None = Field(default=None, max_length=500)


class OptRequest(Strict):
    opt_out: StrictBool = Field(
        description="True: the site does not take part (before the end only)"
    )


# --- utilities and the webhook -----------------------------------------------------------------


class UtilityCreate(Strict):
    """A utility that may notify events; its signing secret is answered once."""

    name: str = Field(min_length=1, max_length=200)
    site_ids: list[Id] = Field(default_factory=list, max_length=1000)
    baseline_method: Method = "caiso_10in10"
    enabled: StrictBool = True


class UtilityUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    site_ids: list[Id] | None = Field(default=None, max_length=1000)
    baseline_method: Method | None = None
    enabled: StrictBool | None = None
    rotate_secret: StrictBool = Field(
        default=False, description="Make a new secret (answered once)"
    )


class UtilityOut(BaseModel):
    id: int
    name: str
    site_ids: list[int]
    baseline_method: str
    enabled: bool
    created_at: datetime
    secret: str | None = Field(
        default=None, description="Standard Webhooks secret (`whsec_...`): only when made"
    )


class UtilityNotification(Strict):
    """The facility seed's webhook payload."""

    event_id: ExternalId = Field(description="The utility's id of the event (idempotency key)")
    facility_ids: list[Id] = Field(min_length=1, max_length=1000)
    event_start: Time
    event_end: Time
    target_reduction_percentage: float = Field(
        gt=0,
        le=100,
        strict=True,
        description="Reduction asked for, % of each facility's mean baseline",
    )

    @model_validator(mode="after")
    def _ordered(self) -> UtilityNotification:
        _window(self.event_start, self.event_end)
        if len(set(self.facility_ids)) != len(self.facility_ids):
            raise ValueError("facility_ids must be distinct")
        return self

    def window_ms(self) -> tuple[int, int]:
        return _window(self.event_start, self.event_end)


class NotificationAccepted(BaseModel):
    delivery_id: int
    webhook_id: str
    utility_id: int
    status: Literal["accepted"] = "accepted"
    facility_ids: list[int]


class DeliveryOut(BaseModel):
    """A notification received from a utility and what became of it."""

    id: int
    webhook_id: str
    received: datetime
    state: Literal["pending", "processing", "processed", "failed"]
    payload: dict[str, object]
    event_ids: list[int] = Field(description="The events made (or found: idempotent)")
    errors: dict[str, str] = Field(description="Facility id -> why no event was made")
    processed: datetime | None
