"""Tables of energy baselines and their fitted versions (a refit adds a version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped, UtcDateTime


class Baseline(Timestamped, Base):
    """What to model: the energy of an asset or a site per granularity, on which drivers."""

    __tablename__ = "baselines"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    granularity: Mapped[str] = mapped_column(String(10))
    energy_metric: Mapped[str] = mapped_column(String(64))
    #: Driver specs as given (see ``schemas.DriverSpec``).
    drivers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    auto_refit: Mapped[bool] = mapped_column(Boolean, default=True)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(200))


class BaselineVersion(Base):
    """A fit of a baseline on ``[start_ms, end_ms)``; ``result``: ``BaselineFit.to_dict()``."""

    __tablename__ = "baseline_versions"
    __table_args__ = (
        UniqueConstraint("baseline_id", "version", name="uq_baseline_versions_baseline_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    baseline_id: Mapped[int] = mapped_column(ForeignKey("baselines.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    fitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fitted_by: Mapped[str] = mapped_column(String(200))
    valid: Mapped[bool] = mapped_column(Boolean)
    r2: Mapped[float] = mapped_column(Float)
    cv_rmse_pct: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
