"""Tables of the community domain (migration 0015): communities, members, memberships, plants
(points of delivery), parameter versions, zonal prices, settlements and the ledger.

Exact quantities (money, power, percentages) are ``Decimal``: ``NUMERIC`` on PostgreSQL, the
decimal text on SQLite (whose NUMERIC is a float), so a cent is never a float anywhere.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from gridpilot.db.base import Base, Timestamped, UtcDateTime, utcnow


class Exact(TypeDecorator[Decimal]):
    """A ``Decimal`` with ``scale`` decimals: NUMERIC(precision, scale), text on SQLite."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 14, scale: int = 2) -> None:
        super().__init__()
        self.precision, self.scale = precision, scale
        self.quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(str(value)).quantize(self.quantum)
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(self.quantum)


class Community(Timestamped, Base):
    """A CER configuration: its primary substations, market zone, region and statute."""

    __tablename__ = "communities"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000))
    primary_substations: Mapped[list[str]] = mapped_column(JSON, default=list)
    market_zone: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(60))
    #: The statute's distribution rule (``schemas.DistributionRule``).
    distribution: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    allocation_rule: Mapped[str] = mapped_column(String(40), default="commissioning_date")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Member(Timestamped, Base):
    """A person or organisation in one or more communities, optionally a gridpilot user."""

    __tablename__ = "community_members"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    user_type: Mapped[str] = mapped_column(String(20))  # PRIVATE, BUSINESS, ADMIN
    category: Mapped[str] = mapped_column(String(20), default="none")
    #: The gridpilot user acting as this member (at most one member per user).
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )


class Membership(Timestamped, Base):
    __tablename__ = "community_memberships"
    __table_args__ = (
        UniqueConstraint("community_id", "member_id", name="uq_community_memberships_member"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(10))  # ADMIN, MEMBER, VIEWER
    share_pct: Mapped[Decimal | None] = mapped_column(Exact(5, 2))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class Plant(Timestamped, Base):
    """A point of delivery (POD) of a community, with its plant if it produces."""

    __tablename__ = "community_plants"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    pod_code: Mapped[str] = mapped_column(String(20), unique=True)
    plant_type: Mapped[str] = mapped_column(String(10))  # CONSUMER, PRODUCER, PROSUMER
    nominal_power_kw: Mapped[Decimal] = mapped_column(Exact(12, 3))
    connection_voltage: Mapped[str | None] = mapped_column(String(50))
    commissioning_date: Mapped[date | None] = mapped_column(Date)
    technology: Mapped[str | None] = mapped_column(String(40))
    capital_grant_pct: Mapped[Decimal] = mapped_column(Exact(5, 2), default=Decimal(0))
    primary_substation: Mapped[str] = mapped_column(String(100))
    eligible: Mapped[bool] = mapped_column(Boolean, default=True)
    incentivised: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The gridpilot site whose grid exchange is this POD's (one POD per site).
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), unique=True
    )
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    province: Mapped[str | None] = mapped_column(String(10))
    zip_code: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class ParameterRecord(Base):
    """One version of an incentive parameter (``analytics.community.parameters``); values as
    JSON (decimals as text). Append-only."""

    __tablename__ = "community_parameters"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))


class ZonalPrice(Base):
    """GME hourly zonal price [EUR/MWh] of a market zone, by the hour's UTC start [ms]."""

    __tablename__ = "community_zonal_prices"

    zone: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    price_eur_per_mwh: Mapped[float] = mapped_column(Float)


class Settlement(Base):
    """One month of a community: figures, the parameters and statute used; closed: immutable."""

    __tablename__ = "community_settlements"
    __table_args__ = (
        UniqueConstraint("community_id", "year", "month", name="uq_community_settlements_month"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))  # draft, closed
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    parameters_as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    statute: Mapped[dict[str, Any]] = mapped_column(JSON)
    incentive_eur: Mapped[Decimal] = mapped_column(Exact())
    valorisation_eur: Mapped[Decimal] = mapped_column(Exact())
    gse_estimate_eur: Mapped[Decimal] = mapped_column(Exact())
    result: Mapped[dict[str, Any]] = mapped_column(JSON)


class Transaction(Base):
    """The seed's economic transaction: an append-only ledger line."""

    __tablename__ = "community_transactions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), index=True
    )
    settlement_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_settlements.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_members.id", ondelete="SET NULL"), index=True
    )
    plant_id: Mapped[int | None] = mapped_column(
        ForeignKey("community_plants.id", ondelete="SET NULL")
    )
    transaction_type: Mapped[str] = mapped_column(String(30))
    amount_eur: Mapped[Decimal] = mapped_column(Exact())
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    description: Mapped[str | None] = mapped_column(String(500))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="PENDING")
    payment_method: Mapped[str | None] = mapped_column(String(50))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TransactionEvent(Base):
    """One status change of a ledger line (migration 0027): who moved it from what to what,
    with the payment's method and reference. Append-only: the line's history and audit."""

    __tablename__ = "community_transaction_events"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        ForeignKey(
            "community_transactions.id",
            ondelete="CASCADE",
            name="fk_community_transaction_events_transaction",  # the convention's is > 63
        ),
        index=True,
    )
    from_status: Mapped[str] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    payment_method: Mapped[str | None] = mapped_column(String(50))
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(200))
    actor_name: Mapped[str | None] = mapped_column(String(150))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
