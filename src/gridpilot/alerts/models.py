"""Tables of alert rules, alerts, notification channels, the notification outbox and the audit.

One open alert per (rule, subject) is enforced by a partial unique index (``resolved_at IS
NULL``), so concurrent evaluators (several processes on one database) cannot raise twice.
``subject`` is ``"asset:<id>"`` for asset alerts and ``"site:<id>"`` for site-wide ones.
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
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped, UtcDateTime
from gridpilot.db.encrypted import EncryptedString

#: The key of ``AlertRule.params`` that holds a rule's device group (no column of its own).
GROUP_KEY = "group_id"


class AlertRule(Timestamped, Base):
    """A condition watched for every asset (or site) in its scope.

    Scope: ``asset_id`` (one asset), else ``site_id`` and/or ``asset_kind`` (all matching
    assets); all three empty means every asset. ``params`` depend on ``kind`` (see schemas),
    plus ``group_id`` when the rule covers the members of a device group (``targets``).
    """

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severity: Mapped[str] = mapped_column(String(10))
    metric: Mapped[str | None] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    asset_kind: Mapped[str | None] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    builtin: Mapped[str | None] = mapped_column(String(40), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(String(200))

    @property
    def group_id(self) -> int | None:
        """The device group the rule covers (kept in ``params`` under ``GROUP_KEY``)."""
        value = (self.params or {}).get(GROUP_KEY)
        return value if isinstance(value, int) else None

    @property
    def kind_params(self) -> dict[str, Any]:
        """``params`` of the rule's kind, without the group target."""
        return {k: v for k, v in (self.params or {}).items() if k != GROUP_KEY}


class Alert(Base):
    """One occurrence of a rule's condition: active -> acknowledged -> resolved."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_open_subject",
            "rule_id",
            "subject",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_alerts_site_id_raised_at", "site_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    metric: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(String(2000))
    value: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    ack_comment: Mapped[str | None] = mapped_column(String(2000))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolve_reason: Mapped[str | None] = mapped_column(String(40))
    resolve_comment: Mapped[str | None] = mapped_column(String(2000))


class NotificationChannel(Timestamped, Base):
    """Where notifications go: a webhook URL (signed) or e-mail recipients."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    min_severity: Mapped[str] = mapped_column(String(10))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(2000))
    secret: Mapped[str | None] = mapped_column(EncryptedString(200))  # sealed at rest
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(String(200))


class NotificationDelivery(Base):
    """The outbox: one notification to one channel, retried with exponential backoff."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_state_due", "state", "next_attempt_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: E-mail: the recipients of this delivery when users' preferences split the channel's list
    #: (migration 0023); None: the channel's recipients.
    recipients: Mapped[list[str] | None] = mapped_column(JSON)
    #: Why a delivery is held (quiet hours) or ``suppressed`` (whose preferences), for the log.
    note: Mapped[str | None] = mapped_column(String(300))


class NotificationPreference(Base):
    """One user's notification preferences (``preference_schemas.Preferences`` as JSON); a user
    without a row has the defaults (migration 0023)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    preferences: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AlertAudit(Base):
    """Who changed a rule or a channel, acknowledged or resolved an alert, and when."""

    __tablename__ = "alert_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[int | None] = mapped_column(Integer)
    rule_id: Mapped[int | None] = mapped_column(Integer)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    channel_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
