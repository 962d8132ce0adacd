"""Tables of the flex domain: a site's flexible resources and its stored schedules.

Migration: ``db/migrations/versions/0013_flex.py``. A resource's kind-specific figures live in
``params`` (JSON, validated by the kind's schema in ``schemas.py`` before they are stored). A
schedule keeps its per-step series columnar in ``series`` (one list per quantity, one value per
step) and its money as Decimal strings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gridpilot.db.base import Base, Timestamped


class FlexResource(Timestamped, Base):
    """A flexible resource of a site: battery, EV charger, deferrable or curtailable load, HVAC
    setpoint offset or PV curtailment, optionally the site's asset that carries it out."""

    __tablename__ = "flex_resources"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_flex_resources_site_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(200))
    #: Planned at all (a disabled resource is kept but left out of schedules).
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Re-planned every 15 minutes and dispatched as commands (MPC), not only planned on request.
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FlexSchedule(Base):
    """A site's plan from ``start_ms`` over ``horizon`` steps of ``step_s`` seconds.

    ``status``: ``optimal`` (solved; ``solver_status`` ``optimal`` or ``feasible``) or
    ``fallback`` (infeasible or failed: ``conflicts`` says why, the series are the safe
    fallback). ``series``: ``{"import_kw": [...], "batteries": {name: {...}}, ...}`` (see
    ``schedules.series_of``). ``cost`` and ``savings``: EUR as Decimal strings.
    """

    __tablename__ = "flex_schedules"
    __table_args__ = (
        Index("ix_flex_schedules_site_created", "site_id", "created_ms"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    step_s: Mapped[int] = mapped_column(Integer)
    horizon: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    solver_status: Mapped[str] = mapped_column(String(20))
    objective_eur: Mapped[str] = mapped_column(String(40))
    cost: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    savings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    conflicts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(String(4000), default="")
    #: What the plan was made from: tariff, contract, incumbent peak, forecasts, SOC sources.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    series: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    solve_time_ms: Mapped[int] = mapped_column(Integer, default=0)
