"""Table of detected anomalies (one row per asset, metric, method and timestamp)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, UtcDateTime, utcnow


class Anomaly(Base):
    """A finding of a scan: ``score`` is |z|, the isolation score or the trend's |Z|."""

    __tablename__ = "anomalies"
    __table_args__ = (
        UniqueConstraint("asset_id", "metric", "method", "ts_ms", name="uq_anomalies_asset_id"),
        Index("ix_anomalies_site_id_ts_ms", "site_id", "ts_ms"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(10))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
