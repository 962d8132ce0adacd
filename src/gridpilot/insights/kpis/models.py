"""Versioned tariffs: each row is valid from ``valid_from_ms`` until the next version's start."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped


class TariffVersion(Timestamped, Base):
    """A site's tariff (``definition``: JSON of ``analytics.tariffs``) from ``valid_from_ms``."""

    __tablename__ = "tariff_versions"
    __table_args__ = (
        UniqueConstraint("site_id", "valid_from_ms", name="uq_tariff_versions_site_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    valid_from_ms: Mapped[int] = mapped_column(BigInteger)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
