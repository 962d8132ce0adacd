"""Tables of the control domain: asset online/offline status, device commands and their history.

Times are epoch milliseconds (``*_ms``), as in telemetry.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base


class AssetStatus(Base):
    """The last known online/offline status of an asset (one row per asset once it was seen).

    ``last_seen_ms``: newest sign of life (reading time capped at reception, or a birth message),
    persisted periodically; ``changed_ms``: when ``status`` last changed.
    """

    __tablename__ = "asset_status"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(10))
    last_seen_ms: Mapped[int | None] = mapped_column(BigInteger)
    changed_ms: Mapped[int] = mapped_column(BigInteger)


class Command(Base):
    """A command to one device; ``state`` moves queued -> sent -> acknowledged -> a terminal state
    (succeeded, failed, expired), each change recorded in ``command_transitions``."""

    __tablename__ = "commands"
    __table_args__ = (
        UniqueConstraint("asset_id", "idempotency_key", name="uq_commands_asset_id"),
        Index("ix_commands_asset_id_created_ms", "asset_id", "created_ms"),
        Index("ix_commands_state_expires_ms", "state", "expires_ms"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    expires_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger)
    acknowledged_ms: Mapped[int | None] = mapped_column(BigInteger)
    completed_ms: Mapped[int | None] = mapped_column(BigInteger)


class CommandTransition(Base):
    """Audit trail: one row per state change of a command (the first has ``previous`` None)."""

    __tablename__ = "command_transitions"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command_id: Mapped[int] = mapped_column(
        ForeignKey("commands.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20))
    previous: Mapped[str | None] = mapped_column(String(20))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(String(500))
