"""Request and response bodies of a site's day-ahead schedule.

Powers are kW averaged over each step, SOC is percent of the battery's capacity at the *end*
of the step, prices EUR/kWh, money EUR as decimal strings to the cent. Times ISO-8601 UTC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from gridpilot.flex.schemas import StrictBody

Money = str  # EUR, a decimal string such as "12.34"


class ScheduleRequest(StrictBody):
    """What to plan: the horizon from the quarter hour holding now, the step, and optionally a
    flat export price overriding the tariff's."""

    horizon_h: int = Field(default=24, ge=24, le=48, description="Hours ahead, 24 to 48")
    step_min: Literal[15, 30, 60] = Field(default=15, description="Step length [min]")
    export_price_eur_per_kwh: float | None = Field(
        default=None,
        ge=-10,
        le=10,
        description="A flat price of exported energy [EUR/kWh] overriding the tariff's; "
        "absent or null: each step earns the export price of the tariff version in force "
        "then (`export_periods`, else `export_rate_per_kwh`, else 0)",
    )


class CostOut(BaseModel):
    """EUR over the horizon: energy (imports minus export revenue), demand charge above the
    month's incumbent peak, battery wear, value of load shed, and their total."""

    energy_eur: Money
    demand_charge_eur: Money
    wear_eur: Money
    shed_eur: Money
    total_eur: Money


class SavingsOut(BaseModel):
    """The plan against running the site without the battery or shifting, and against a
    rule-based self-consumption controller (stored energy left over valued at the cheapest
    refill of the horizon)."""

    optimised_eur: Money
    no_battery_eur: Money
    rule_based_eur: Money
    saving_vs_no_battery_eur: Money
    saving_vs_rule_based_eur: Money


class ConflictOut(BaseModel):
    """A constraint group that cannot be met: by how much (kW for a limit: the largest excess
    in any step; kWh for an energy target) and a sentence saying so."""

    group: str = Field(examples=["import_limit", "ev_deadline:Wallbox"])
    shortfall: float | None
    unit: str
    message: str


class BatteryStepOut(BaseModel):
    charge_kw: float
    discharge_kw: float
    soc_pct: float = Field(description="At the end of the step [%]")


class StepOut(BaseModel):
    """One step of the plan; resources are keyed by their name."""

    ts: str = Field(description="Start of the step (ISO-8601 UTC)")
    load_kw: float = Field(description="Forecast inflexible load")
    pv_kw: float = Field(description="Forecast PV (generation) available")
    pv_curtailed_kw: float
    grid_import_kw: float
    grid_export_kw: float
    price_eur_per_kwh: float = Field(description="Import price")
    export_price_eur_per_kwh: float
    batteries: dict[str, BatteryStepOut] = Field(default_factory=dict)
    deferrable_kw: dict[str, float] = Field(default_factory=dict)
    ev_kw: dict[str, float] = Field(default_factory=dict)
    shed_kw: dict[str, float] = Field(default_factory=dict)


class ScheduleOut(BaseModel):
    """A stored schedule. ``status`` ``optimal``: the optimiser's plan (``solver_status``
    ``optimal``, or ``feasible`` when a time limit stopped it with a plan); ``fallback``: no
    plan meets every constraint (``conflicts`` say which and by how much) or the solver failed,
    and the steps are the safe fallback (batteries idle, loads as early as allowed)."""

    id: int
    site_id: int
    created_at: str
    created_by: str
    start: str
    end: str
    step_s: int
    horizon_steps: int
    status: Literal["optimal", "fallback"]
    solver_status: Literal["optimal", "feasible", "infeasible", "failed"]
    objective_eur: Money = Field(description="Total cost of the plan [EUR]")
    cost: CostOut
    savings: SavingsOut
    conflicts: list[ConflictOut]
    message: str
    inputs: dict[str, object] = Field(
        description="What it was planned from: tariff, demand charge, incumbent peak, contract "
        "and export limit, forecast sources, each battery's starting SOC and its source"
    )
    notes: list[str] = Field(description="Resources or parts left out of the plan, and why")
    solve_time_ms: int
    max_balance_residual_w: float = Field(
        description="Largest |import - export - net demand| over the steps [W]"
    )
    steps: list[StepOut]
