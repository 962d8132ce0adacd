"""The table of stored forecasts (one row per issued forecast; points as JSON)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base


class StoredForecast(Base):
    """A forecast for a site (``asset_id`` NULL) or an asset, issued at ``issued_ms``.

    ``metric``: ``power_kw`` for an asset; for a site the quantity, ``site_consumption_kw`` or
    ``site_generation_kw`` (``storage.STORED_METRIC``). ``points`` is a list of
    ``[ts_ms, yhat, lo80, hi80, lo95, hi95]`` every ``step_ms`` from ``start_ms`` [kW].
    """

    __tablename__ = "forecasts"
    __table_args__ = (Index("ix_forecasts_target", "site_id", "asset_id", "metric", "issued_ms"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    issued_ms: Mapped[int] = mapped_column(BigInteger)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    step_ms: Mapped[int] = mapped_column(Integer)
    horizon: Mapped[int] = mapped_column(Integer)
    seasonality: Mapped[list[str]] = mapped_column(JSON, default=list)
    regressors: Mapped[list[str]] = mapped_column(JSON, default=list)
    calibration_errors: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
