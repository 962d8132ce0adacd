"""Tables of sites, assets and the metric catalogue."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped


class Site(Timestamped, Base):
    """A facility, factory, plant, building or community location."""

    __tablename__ = "sites"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    elevation_m: Mapped[float | None] = mapped_column(Float)
    contract_demand_kw: Mapped[float | None] = mapped_column(Float)
    emission_factor_kg_per_kwh: Mapped[float] = mapped_column(Float, default=0.45)
    tariff: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(String(2000))
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    kind: Mapped[str | None] = mapped_column(String(40))  # factory, building, solar_park, ...


class Asset(Timestamped, Base):
    """Anything that measures, produces, consumes or stores energy."""

    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_assets_site_id_name"),
        {"sqlite_autoincrement": True},  # a reused id would inherit a deleted asset's readings
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    rated_capacity_kw: Mapped[float | None] = mapped_column(Float)
    source_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    serial_number: Mapped[str | None] = mapped_column(String(200))
    certifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    install_date: Mapped[date | None] = mapped_column(Date)
    operator: Mapped[str | None] = mapped_column(String(200))
    expected_interval_s: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What an implausible power reading does: reject, flag or off (``PLAUSIBILITY_MODES``).
    plausibility: Mapped[str] = mapped_column(String(10), default="reject", server_default="reject")
    #: The meter this asset is a sub-meter of (same site): the balance never counts both.
    parent_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )


class Metric(Base):
    """A catalogue entry: a measured quantity with its canonical unit and plausible range."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    unit: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(500))
    min_value: Mapped[float | None] = mapped_column(Float)
    max_value: Mapped[float | None] = mapped_column(Float)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
