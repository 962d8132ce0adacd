"""Answers of the forecast endpoints (times ISO-8601 UTC, values in the metric's unit)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ForecastPoint(BaseModel):
    ts: str = Field(description="Start of the interval, ISO-8601 UTC")
    yhat: float = Field(description="Expected value (kW for power_kw)")
    lo80: float
    hi80: float
    lo95: float
    hi95: float


class ForecastOut(BaseModel):
    site_id: int
    asset_id: int | None = Field(description="None for a site forecast")
    quantity: Literal["consumption", "generation", "net"] | None = Field(
        description=(
            "What a site forecast is of, from the site energy balance: consumption (>= 0), "
            "generation (>= 0, <= capacity_kw, 0 at night for solar) or net = consumption - "
            "generation (the grid exchange without storage, + import); None for an asset "
            "forecast (the asset's power_kw)"
        )
    )
    metric: str = Field(description="The unit's metric: power_kw (values in kW)")
    issued_at: str = Field(description="When the forecast was made (ISO-8601 UTC)")
    step_s: int = Field(description="Resolution of the points [s]")
    horizon: int = Field(description="Number of points")
    source: str = Field(description="'stored' (scheduled job) or 'computed' (on request)")
    seasonality: list[str] = Field(description="Seasons the model used: daily, weekly")
    regressors: list[str] = Field(description="Weather regressors the model used")
    calibrated: bool = Field(
        description="True when the intervals come from out-of-sample errors (else in-sample)"
    )
    capacity_kw: float | None = Field(
        default=None,
        description=(
            "Installed generation capacity the generation forecast is bounded by [kW] (for "
            "generation and net; None when unknown or for consumption and assets)"
        ),
    )
    method: Literal["statistical", "physical", "schedule", "zero", "derived"] = Field(
        default="statistical",
        description=(
            "How the forecast was made: statistical (regression on the series' history), "
            "physical (PV: clear-sky power x a persisted clear-sky index; wind: a persisted "
            "wind speed through the power curve; bounded by the capacity), schedule (storage: "
            "its plan in the site's flex schedule), zero (nothing feeds the quantity, or storage "
            "without a plan: it is not forecast from its history), derived (net = consumption "
            "- generation)"
        ),
    )
    note: str | None = Field(
        default=None, description="Why the forecast is what it is, when that is not obvious"
    )
    components: dict[str, list[ForecastPoint]] | None = Field(
        default=None,
        description=(
            "For net: its terms on their own, consumption and generation (each >= 0, as "
            "served for quantity=consumption and quantity=generation); None otherwise"
        ),
    )
    component_methods: dict[str, str] | None = Field(
        default=None, description="For net: the method of each of its terms"
    )
    points: list[ForecastPoint]
