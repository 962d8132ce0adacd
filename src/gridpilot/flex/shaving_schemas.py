"""Bodies of a site's real-time peak shaving: its settings and the log of its actions.

Powers in kW at the site's connection point (import positive), states of charge in percent.
A battery's power in the log is positive when it discharges (as the controller sees it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import Field, model_validator

from gridpilot.assets.schemas import DbId
from gridpilot.core.bodies import Strict
from gridpilot.flex.schemas import StrictBody

Kw = Annotated[float, Field(ge=-1e6, le=1e6, description="kW")]


class PeakShavingIn(StrictBody):
    """The settings of a site's peak shaving (PUT replaces them whole)."""

    enabled: bool = Field(default=True, description="Run the controller (false: keep, idle)")
    threshold_kw: float = Field(
        gt=0, le=1e6, description="Grid import to stay at or under [kW] (e.g. contract demand)"
    )
    recharge_below_kw: Kw | None = Field(
        default=None,
        description="Recharge only while the site's demand is below this [kW] (default: the "
        "threshold), never lifting the import above it. Used when no schedule drives the "
        "battery.",
    )
    resource_id: DbId | None = Field(
        default=None, description="The battery flexible resource (default: the site's only one)"
    )
    meter_asset_id: DbId | None = Field(
        default=None,
        description="The asset whose reading is the grid import (default: the site's only "
        "`grid_connection` asset)",
    )
    meter_metric: str = Field(
        default="power_kw",
        pattern=r"^[a-z][a-z0-9_]{0,99}$",
        description="The meter's metric giving the import [kW, positive = import]",
    )
    soc_min_pct: float | None = Field(
        default=None, ge=0, lt=100, description="Stop discharging here [%] (default: the battery's)"
    )
    soc_hysteresis_pct: float = Field(
        default=5.0, ge=0, le=50, description="Resume discharging only above min + this [%]"
    )
    deadband_kw: float = Field(
        default=1.0, ge=0, le=1e5, description="A set point this close to the last is not re-sent"
    )

    @model_validator(mode="after")
    def _levels(self) -> Self:
        if self.recharge_below_kw is not None and self.recharge_below_kw > self.threshold_kw:
            raise ValueError("recharge_below_kw must not exceed threshold_kw")
        return self


class PeakShavingOut(Strict):
    """A site's stored peak shaving, with the battery's limits it runs with."""

    site_id: int
    enabled: bool
    threshold_kw: float
    recharge_below_kw: float | None
    resource_id: int
    resource_name: str
    battery_asset_id: int | None
    meter_asset_id: int
    meter_metric: str
    soc_min_pct: float = Field(description="In force: the given one, else the battery's")
    soc_max_pct: float = Field(description="The battery's: charging stops here")
    soc_hysteresis_pct: float
    deadband_kw: float
    discharge_max_kw: float
    charge_max_kw: float
    discharge_blocked: bool = Field(description="SOC hysteresis: discharging is latched off")
    running_in: str | None = Field(description="The process holding the lease, when current")
    updated_by: str
    created_at: datetime
    updated_at: datetime


class PeakShavingActionOut(Strict):
    """One action of the controller: a command sent, or why none was."""

    id: int
    ts: datetime
    ts_ms: int
    grid_import_kw: float | None = Field(description="Measured import [kW]")
    battery_power_kw: float | None = Field(description="Battery power used [kW, + discharge]")
    soc_pct: float | None
    setpoint_kw: float | None = Field(description="Set point chosen [kW, + discharge]")
    base_kw: float | None = Field(description="The schedule's battery power for now [kW]")
    reason: str = Field(
        description="shave, recharge, idle, schedule, limit_charge, soc_low, soc_full, "
        "manual (a manual command in force), refused (control refused the command), "
        "released (settings disabled or deleted)"
    )
    command_id: int | None
    detail: str
