"""Tables of the dr domain (migration: ``db/migrations/versions/0014_dr.py``).

- ``dr_events``: one demand-response event of one site (the facility seed's ``dr_events``) with
  its source, signal, opt-in/out, the baseline method and record, and the measured outcome;
- ``dr_event_intervals``: per 15-min interval of an event the baseline, the target load, and
  once the interval has ended the metered consumption and the achieved reduction [kW];
- ``dr_utilities`` and ``dr_utility_sites``: utilities that may notify events by webhook, their
  signing secret and the sites each may address;
- ``dr_webhook_deliveries``: every accepted notification (the replay guard and the queue of
  notifications still to turn into events).

Times are epoch milliseconds (UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped, UtcDateTime
from gridpilot.db.encrypted import EncryptedString


class DrUtility(Timestamped, Base):
    """A utility (grid operator, aggregator) allowed to notify events by signed webhook."""

    __tablename__ = "dr_utilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: Standard Webhooks secret (``whsec_`` + base64); answered only when created or rotated.
    secret: Mapped[str] = mapped_column(EncryptedString(200))  # sealed at rest
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Baseline method of the events it notifies (a CBL preset or ``forecast``).
    baseline_method: Mapped[str] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(200))


class DrUtilitySite(Base):
    """A site a utility may address (its ``facility_ids``)."""

    __tablename__ = "dr_utility_sites"

    utility_id: Mapped[int] = mapped_column(
        ForeignKey("dr_utilities.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DrEvent(Base):
    """A demand-response event of one site over ``[start_ms, end_ms)``.

    ``status``: scheduled -> active -> completed | failed, or cancelled. ``idempotency_key``
    (``source:utility:external_id:site``) makes a repeated notification or request find the
    event it created. ``baseline`` is the ``CblResult.record()`` of the method used.
    """

    __tablename__ = "dr_events"
    __table_args__ = (
        Index("ix_dr_events_site_id_start_ms", "site_id", "start_ms"),
        Index("ix_dr_events_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    step_ms: Mapped[int] = mapped_column(Integer)
    target_reduction_kw: Mapped[float] = mapped_column(Float)
    achieved_reduction_kw: Mapped[float | None] = mapped_column(Float)
    performance_pct: Mapped[float | None] = mapped_column(Float)
    #: Performance [% of target] from which an ended event counts as completed, else failed.
    pass_pct: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(20))  # manual | utility_webhook | openadr
    utility_id: Mapped[int | None] = mapped_column(
        ForeignKey("dr_utilities.id", ondelete="SET NULL")
    )
    external_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(500), unique=True)
    signal_kind: Mapped[str] = mapped_column(String(20))  # kw_target | level | price
    signal_value: Mapped[float | None] = mapped_column(Float)
    target_reduction_pct: Mapped[float | None] = mapped_column(Float)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    baseline_method: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class DrEventInterval(Base):
    """One 15-min interval of an event [kW]: ``target_kw`` is the load the site should stay at
    or below (baseline - target reduction, not below 0)."""

    __tablename__ = "dr_event_intervals"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("dr_events.id", ondelete="CASCADE"), primary_key=True
    )
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    baseline_kw: Mapped[float] = mapped_column(Float)
    target_kw: Mapped[float] = mapped_column(Float)
    metered_kw: Mapped[float | None] = mapped_column(Float)
    reduction_kw: Mapped[float | None] = mapped_column(Float)


class DrWebhookDelivery(Base):
    """A notification accepted from a utility: ``webhook_id`` once per utility (replays are
    refused); ``state`` pending -> processed | failed, with the events made or why not."""

    __tablename__ = "dr_webhook_deliveries"
    __table_args__ = (UniqueConstraint("utility_id", "webhook_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("dr_utilities.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(String(200))
    received_ms: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    processed_ms: Mapped[int | None] = mapped_column(BigInteger)
    event_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    errors: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class DrDispatchPlan(Base):
    """The dispatch of one event (migration 0017): which resources reduce by how much.

    ``status``: ``active`` (shedding), ``restoring`` (releasing after the end), ``done``, or
    ``no_resources`` (nothing to dispatch). ``revision`` counts the re-plans (a fallback after
    a failed command, or a measured shortfall); ``excluded`` the resource ids left out since.
    ``cost_eur``: Decimal text. ``pre_event_kw``: the site's demand before the event, the
    ceiling of the restore. ``boost_kw`` (migration 0029): what the plan asks for on top of
    the target since a measured interval fell short; ``checked_ms``: the start of the newest
    interval checked for a shortfall.
    """

    __tablename__ = "dr_dispatch_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("dr_events.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    solver_status: Mapped[str] = mapped_column(String(20))
    planned_kw: Mapped[float] = mapped_column(Float)
    shortfall_kw: Mapped[float] = mapped_column(Float)
    cost_eur: Mapped[str] = mapped_column(String(40))
    pre_event_kw: Mapped[float | None] = mapped_column(Float)
    excluded: Mapped[list[int]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    under_target_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    boost_kw: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    checked_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class DrDispatchStep(Base):
    """One command of a plan: from ``start_ms`` the resource holds ``reduction_kw`` [kW]
    (``phase`` shed during the event, restore after it). ``state``: pending -> the command's
    state (queued, sent, acknowledged, succeeded, failed, expired), or ``skipped`` (a manual
    command wins, or no command needed), ``superseded`` (re-planned), ``timed_out`` (not
    acknowledged in time)."""

    __tablename__ = "dr_dispatch_steps"
    __table_args__ = (Index("ix_dr_dispatch_steps_plan_id_start_ms", "plan_id", "start_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("dr_dispatch_plans.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("flex_resources.id", ondelete="SET NULL")
    )
    resource_name: Mapped[str] = mapped_column(String(200))
    resource_kind: Mapped[str] = mapped_column(String(30))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    phase: Mapped[str] = mapped_column(String(10))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    reduction_kw: Mapped[float] = mapped_column(Float)
    command_kind: Mapped[str | None] = mapped_column(String(30))
    command_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    command_id: Mapped[int | None] = mapped_column(ForeignKey("commands.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))
    sent_ms: Mapped[int | None] = mapped_column(BigInteger)
