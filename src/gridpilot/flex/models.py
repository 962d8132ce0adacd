"""Tables of the flex domain: a site's flexible resources and its stored schedules.

Migrations: ``db/migrations/versions/0013_flex.py``, ``0024_peak_shaving.py`` (real-time peak
shaving: one settings row per site, with the lease of the process that runs it, and the log of
its actions), ``0030_site_prices.py`` (a site's dynamic prices). A resource's kind-specific
figures live in ``params`` (JSON, validated by the kind's schema in ``schemas.py`` before they
are stored). A schedule keeps its per-step series columnar in ``series`` (one list per
quantity, one value per step) and its money as Decimal strings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
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


class PeakShavingConfig(Timestamped, Base):
    """A site's real-time peak shaving: keep the import measured by ``meter_asset_id``'s
    ``meter_metric`` [kW, positive = import] at or under ``threshold_kw`` with the battery
    resource ``resource_id``. ``lease_owner``/``lease_until_ms``: the process that runs it (a
    compare-and-set lease); ``discharge_blocked``: the SOC hysteresis latch, kept across
    processes."""

    __tablename__ = "peak_shaving_configs"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("flex_resources.id", ondelete="CASCADE"), index=True
    )
    meter_asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    meter_metric: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    threshold_kw: Mapped[float] = mapped_column(Float)
    recharge_below_kw: Mapped[float | None] = mapped_column(Float)
    soc_min_pct: Mapped[float | None] = mapped_column(Float)
    soc_hysteresis_pct: Mapped[float] = mapped_column(Float)
    deadband_kw: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(200))
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    discharge_blocked: Mapped[bool] = mapped_column(Boolean, default=False)


class PeakShavingAction(Base):
    """What the peak-shaving controller did at ``ts_ms``: the import and battery power it
    measured [kW], the set point it chose [kW, positive = discharge], the schedule's base (if
    any), why (``reason``), and the command it sent (or why none: ``detail``)."""

    __tablename__ = "peak_shaving_actions"
    __table_args__ = (
        Index("ix_peak_shaving_actions_site_ts", "site_id", "ts_ms"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    grid_import_kw: Mapped[float | None] = mapped_column(Float)
    battery_power_kw: Mapped[float | None] = mapped_column(Float)
    soc_pct: Mapped[float | None] = mapped_column(Float)
    setpoint_kw: Mapped[float | None] = mapped_column(Float)
    base_kw: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(30))
    command_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(500), default="")


class SitePrice(Base):
    """A site's dynamic (market) energy price over ``[start_ms, end_ms)``: import and, when
    agreed, export [EUR/kWh]. Where prices cover a plan's steps they replace the tariff's."""

    __tablename__ = "site_prices"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    start_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    import_eur_per_kwh: Mapped[float] = mapped_column(Float)
    export_eur_per_kwh: Mapped[float | None] = mapped_column(Float)
    recorded_ms: Mapped[int] = mapped_column(BigInteger)
