"""Request and response bodies of flexible resources (one params model per kind).

Powers in kW at the site's connection point, energies in kWh, states of charge in percent of
the usable capacity, money in EUR. Every params model refuses unknown fields and NaN/Infinity;
the figures are also checked against what the optimiser's resources need
(``analytics.flex.resources``) before anything is stored. The schedule's bodies are in
``schedule_schemas.py``.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from gridpilot.assets.schemas import DbId, Name
from gridpilot.core.bodies import Strict

ResourceKind = Literal[
    "battery", "ev_charger", "deferrable_load", "curtailable_load", "hvac", "pv_curtailment"
]
RESOURCE_KINDS: tuple[str, ...] = ResourceKind.__args__  # type: ignore[attr-defined]


class StrictBody(Strict):
    """No type coercion either: ``"5"`` is not a number, ``0`` is not a boolean (the OpenAPI
    types hold as written); timestamps stay ISO-8601 strings."""

    model_config = ConfigDict(**Strict.model_config, strict=True)


Kw = Annotated[float, Field(ge=0, le=1e6, description="kW")]
Kwh = Annotated[float, Field(ge=0, le=1e7, description="kWh")]
Pct = Annotated[float, Field(ge=0, le=100, description="percent")]
Efficiency = Annotated[float, Field(gt=0, le=1, description="fraction, 0 < x <= 1")]
EurPerKwh = Annotated[float, Field(ge=0, le=1e4, description="EUR/kWh")]
#: Local wall-clock time of the site, "HH:MM" (24:00 allowed as an end).
Clock = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["08:00"])]


class BatteryParams(StrictBody):
    """A stationary battery. The plan starts from the linked asset's latest ``soc_pct`` reading
    when there is a recent one, else from ``soc_start_pct``."""

    capacity_kwh: float = Field(gt=0, le=1e7, description="Usable capacity [kWh]")
    soc_min_pct: Pct = Field(default=10.0, description="Lowest state of charge allowed [%]")
    soc_max_pct: Pct = Field(default=90.0, description="Highest state of charge allowed [%]")
    soc_start_pct: Pct = Field(
        default=50.0, description="State of charge to plan from when no SOC is measured [%]"
    )
    soc_end_pct: Pct | None = Field(
        default=None,
        description="State of charge the plan must end at, at least [%]; none: where it started",
    )
    charge_max_kw: Kw = Field(description="Largest charging power [kW]")
    discharge_max_kw: Kw = Field(description="Largest discharging power [kW]")
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    cycle_cost_eur_per_kwh: EurPerKwh = Field(
        default=0.0,
        description="Wear cost per kWh cycled (charged and discharged once) [EUR/kWh]; the "
        "optimiser charges half of it on each kWh of throughput",
    )

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.soc_min_pct > self.soc_max_pct:
            raise ValueError("soc_min_pct must not exceed soc_max_pct")
        end = self.soc_end_pct
        if end is not None and not self.soc_min_pct <= end <= self.soc_max_pct:
            raise ValueError("soc_end_pct must lie between soc_min_pct and soc_max_pct")
        return self


class EVSessionIn(StrictBody):
    """One plugged-in car: ``energy_kwh`` must be delivered between arrival and departure."""

    label: str = Field(default="", max_length=100, description="Free text (car, driver)")
    arrival: AwareDatetime = Field(strict=False, description="When plugged in (ISO-8601)")
    departure: AwareDatetime = Field(strict=False, description="When it leaves (ISO-8601)")
    energy_kwh: float = Field(gt=0, le=1000, description="Energy needed by departure [kWh]")

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.departure <= self.arrival:
            raise ValueError("departure must be after arrival")
        return self


def overlapping_sessions(spans: list[tuple[datetime, datetime]]) -> str | None:
    """Why two of one charger's sessions (arrival, departure) cannot both be, numbered as
    given: a charger charges one car at a time (the schedule gives each session up to the
    charger's power, so two at once could draw twice that)."""
    ordered = sorted((a, d, i + 1) for i, (a, d) in enumerate(spans))
    for (_, end, first), (start, _, second) in pairwise(ordered):
        if start < end:
            a, b = sorted((first, second))
            return f"sessions {a} and {b} overlap: a charger charges one car at a time"
    return None


class EVChargerParams(StrictBody):
    """An EV charger and its sessions. While charging, the power lies in [min, max] (a positive
    minimum: an IEC 61851 charger cannot go below 6 A). Sessions may not overlap (checked on
    input: ``resources.check_with_core``)."""

    power_min_kw: Kw = Field(default=0.0, description="Smallest power while charging [kW]")
    power_max_kw: float = Field(gt=0, le=1e4, description="Largest charging power [kW]")
    sessions: list[EVSessionIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _powers(self) -> Self:
        if self.power_min_kw > self.power_max_kw:
            raise ValueError("power_min_kw must not exceed power_max_kw")
        return self


class DeferrableLoadParams(StrictBody):
    """A load that must take ``energy_kwh`` inside a daily window of the site's local time
    (``window_end`` before ``window_start`` wraps past midnight; equal: the whole day)."""

    energy_kwh: Kwh = Field(description="Energy per window [kWh]")
    power_min_kw: Kw = Field(default=0.0, description="Smallest power while running [kW]")
    power_max_kw: float = Field(gt=0, le=1e6, description="Largest power [kW]")
    window_start: Clock = "00:00"
    window_end: Clock = "24:00"
    interruptible: bool = Field(default=True, description="False: it runs in one block")
    min_run_min: int = Field(default=0, ge=0, le=24 * 60, description="Shortest run [min]")

    @model_validator(mode="after")
    def _powers(self) -> Self:
        if self.power_min_kw > self.power_max_kw:
            raise ValueError("power_min_kw must not exceed power_max_kw")
        return self


class CurtailableLoadParams(StrictBody):
    """A load that may be shed (demand response; in a schedule only without a duration cap)."""

    shed_kw: Kw = Field(description="Power that may be shed [kW]")
    max_duration_min: int | None = Field(
        default=None, ge=1, le=7 * 24 * 60, description="Longest shed [min]; none: no limit"
    )
    rebound_pct: Pct = Field(
        default=0.0, description="Share of the shed energy consumed again afterwards [%]"
    )
    cost_eur_per_kwh: EurPerKwh = Field(
        default=1.0, description="Value of the energy not served [EUR/kWh]"
    )


class HvacParams(StrictBody):
    """An HVAC setpoint offset: each degree of offset changes the load by ``kw_per_degc``."""

    kw_per_degc: float = Field(gt=0, le=1e5, description="Load change per degC of offset [kW]")
    max_offset_degc: float = Field(gt=0, le=10, description="Largest setpoint offset [degC]")
    max_duration_min: int | None = Field(
        default=None, ge=1, le=24 * 60, description="Longest offset [min]; none: no limit"
    )


class PvCurtailmentParams(StrictBody):
    """The site's PV output may be curtailed, e.g. to respect an export limit."""

    export_limit_kw: Kw | None = Field(
        default=None, description="Largest export at the connection point [kW]; none: no limit"
    )


ResourceParams = (
    BatteryParams
    | EVChargerParams
    | DeferrableLoadParams
    | CurtailableLoadParams
    | HvacParams
    | PvCurtailmentParams
)
PARAMS_OF: dict[str, type[ResourceParams]] = {
    "battery": BatteryParams,
    "ev_charger": EVChargerParams,
    "deferrable_load": DeferrableLoadParams,
    "curtailable_load": CurtailableLoadParams,
    "hvac": HvacParams,
    "pv_curtailment": PvCurtailmentParams,
}


class _ResourceFields(StrictBody):
    name: Name = Field(description="Unique on the site")
    asset_id: DbId | None = Field(default=None, description="The site's asset that carries it")
    enabled: bool = Field(default=True, description="False: kept, but left out of schedules")
    auto_dispatch: bool = Field(
        default=False, description="Re-planned every 15 min and dispatched as commands (MPC)"
    )


class BatteryCreate(_ResourceFields):
    kind: Literal["battery"]
    params: BatteryParams


class EVChargerCreate(_ResourceFields):
    kind: Literal["ev_charger"]
    params: EVChargerParams


class DeferrableLoadCreate(_ResourceFields):
    kind: Literal["deferrable_load"]
    params: DeferrableLoadParams


class CurtailableLoadCreate(_ResourceFields):
    kind: Literal["curtailable_load"]
    params: CurtailableLoadParams


class HvacCreate(_ResourceFields):
    kind: Literal["hvac"]
    params: HvacParams


class PvCurtailmentCreate(_ResourceFields):
    kind: Literal["pv_curtailment"]
    params: PvCurtailmentParams


ResourceCreate = Annotated[
    BatteryCreate
    | EVChargerCreate
    | DeferrableLoadCreate
    | CurtailableLoadCreate
    | HvacCreate
    | PvCurtailmentCreate,
    Field(discriminator="kind"),
]


class ResourceUpdate(StrictBody):
    """A partial change; ``params`` fields are merged into the stored ones and the whole is
    checked again against the resource's kind (the kind itself cannot change)."""

    name: Name | None = None
    asset_id: DbId | None = Field(default=None, description="null: remove the asset link")
    enabled: bool | None = None
    auto_dispatch: bool | None = None
    params: dict[str, Any] | None = Field(
        default=None, description="Fields of the kind's params to change"
    )


class ResourceOut(Strict):
    """A stored flexible resource, with every default of its params filled in."""

    id: int
    site_id: int
    kind: ResourceKind
    name: str
    asset_id: int | None
    enabled: bool
    auto_dispatch: bool
    params: ResourceParams
    created_at: datetime
    updated_at: datetime
