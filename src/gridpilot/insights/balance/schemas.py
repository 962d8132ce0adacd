"""Response models of the site energy balance (kWh, shares 0-1, times ISO-8601 UTC)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TermSources(BaseModel):
    """Share of intervals in which a term was measured, derived, absent or unknown (0-1)."""

    measured: float
    derived: float
    absent: float
    unknown: float


class BalanceInterval(BaseModel):
    start: str
    import_kwh: float | None
    export_kwh: float | None
    generation_kwh: float | None
    discharge_kwh: float | None
    charge_kwh: float | None
    consumption_kwh: float | None
    flagged: bool = Field(description="The meters contradict the identity beyond the tolerance")


class BalanceTotals(BaseModel):
    """Sums over the complete intervals (every term known) [kWh]."""

    import_kwh: float
    export_kwh: float
    generation_kwh: float
    discharge_kwh: float
    charge_kwh: float
    consumption_kwh: float


class SiteBalanceOut(BaseModel):
    site_id: int
    start: str
    end: str
    interval: str = Field(description="The interval the identity was solved on: 15m or 1h")
    connection_points: int = Field(description="Prosumers plus the rest of the site")
    coverage: float = Field(description="Share of intervals with every term known (0-1)")
    flagged_intervals: int
    self_consumption: float | None = Field(description="1 - export / generation (0-1)")
    self_sufficiency: float | None = Field(description="1 - import / consumption (0-1)")
    totals: BalanceTotals
    sources: dict[str, TermSources]
    intervals: list[BalanceInterval]
