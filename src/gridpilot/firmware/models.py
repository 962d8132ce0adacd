"""Tables of firmware images, roll-outs and each device's progress in a roll-out (migration 0025).

One row per (roll-out, asset) in ``firmware_rollout_devices`` (unique), so a device is offered
an image once per roll-out; ``wave`` 0 is the canary.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped, UtcDateTime


class FirmwareImage(Timestamped, Base):
    """A firmware build: its version, the asset kinds (and models) it fits, its SHA-256."""

    __tablename__ = "firmware_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Device models it fits; empty: every model of its kinds.
    models: Mapped[list[str]] = mapped_column(JSON, default=list)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    notes: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(String(200))


class FirmwareRollout(Timestamped, Base):
    """An image offered to devices wave by wave: running -> paused <-> running -> completed."""

    __tablename__ = "firmware_rollouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("firmware_images.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), index=True)
    canary_pct: Mapped[float] = mapped_column(Float)
    wave_size: Mapped[int] = mapped_column(Integer)
    max_failure_pct: Mapped[float] = mapped_column(Float)
    current_wave: Mapped[int] = mapped_column(Integer, default=0)
    #: Failures of the current wave accepted by a resume: only further ones can pause it again.
    accepted_failures: Mapped[int] = mapped_column(Integer, default=0)
    waves: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(Integer)
    paused_reason: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[str | None] = mapped_column(String(200))


class FirmwareRolloutDevice(Base):
    """One device in a roll-out: pending -> offered -> downloading -> installed -> verified, or
    failed at any step."""

    __tablename__ = "firmware_rollout_devices"
    __table_args__ = (UniqueConstraint("rollout_id", "asset_id", name="uq_firmware_rollout_asset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollout_id: Mapped[int] = mapped_column(
        ForeignKey("firmware_rollouts.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(Integer)
    wave: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    reported_version: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
