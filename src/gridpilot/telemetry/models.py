"""Time-series tables: raw readings, rollups, pending rollup ranges and ingest rejects.

Times are epoch milliseconds (BIGINT) on every back end. On PostgreSQL ``readings`` is
range-partitioned by day on ``ts`` (see the initial migration) so retention drops partitions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, UtcDateTime, utcnow


class Reading(Base):
    __tablename__ = "readings"

    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class Rollup(Base):
    """Aggregate of one (asset, metric) over one bucket of ``step_ms`` milliseconds.

    ``energy_delta`` is the sum of positive steps of the series attributed to the bucket of the
    later reading (meaningful for cumulative registers).
    """

    __tablename__ = "rollups"

    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_ms: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    sum: Mapped[float] = mapped_column(Float)
    first: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    energy_delta: Mapped[float] = mapped_column(Float)


class RollupPending(Base):
    """Time range of one series touched by writes since its rollups were last recomputed."""

    __tablename__ = "rollup_pending"

    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    #: Bumped by every write that widens the row; a refresh deletes the row only if unchanged.
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class SeriesEnergy(Base):
    """Energy [kWh] of one series in one rollup bucket (15 min or 1 h), as the site balance
    counts it from the rollups' segments (``telemetry/series_energy.py``): register steps or
    integrated power (which one: the metric, ``series_energy.REGISTER_KEYS``), spread pro rata
    over the buckets a segment covers. Written by the rollup refresh."""

    __tablename__ = "balance_energy"

    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_ms: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kwh: Mapped[float] = mapped_column(Float)


class SeriesEnergyState(Base):
    """A series whose ``balance_energy`` rows are complete, and the power hold limit ``cap_ms``
    [ms] they were computed with (the balance uses them only while its own cap is the same)."""

    __tablename__ = "balance_energy_series"

    asset_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cap_ms: Mapped[int] = mapped_column(BigInteger)


class IngestReject(Base):
    """A message or reading that could not be stored, with the reason (dead-letter list)."""

    __tablename__ = "ingest_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str | None] = mapped_column(String(500))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    #: Site of the resolved asset (migration 0002): site-scoped users see only their sites' rejects.
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sites.id", ondelete="SET NULL"), index=True
    )
    payload_excerpt: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(1000))
