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


class TermTotals(BaseModel):
    """One figure per term [kWh] (null: nothing to sum, see ``BalanceTotals``)."""

    import_kwh: float | None
    export_kwh: float | None
    generation_kwh: float | None
    discharge_kwh: float | None
    charge_kwh: float | None
    consumption_kwh: float | None


class BalanceTotals(TermTotals):
    """Sums over the complete intervals (every term known) [kWh], flagged ones included; null
    when no interval is complete (coverage 0: unknown, not 0)."""

    flagged_intervals: int = Field(description="Complete intervals in the sums that are flagged")
    flagged_kwh: TermTotals = Field(
        description="The part of each sum from flagged intervals (the doubtful share)"
    )


class SubMeterRemainder(BaseModel):
    """A parent meter's energy beyond its direct sub-meters, in the parent's direction."""

    parent_asset_id: int
    role: str
    children: list[int] = Field(description="Asset ids of the direct sub-meters")
    remainder_kwh: list[float | None] = Field(
        description="Per interval (as `intervals`); null where the parent or a child is unknown; "
        "negative: the sub-meters claim more than the parent"
    )
    total_kwh: float = Field(description="Sum over the intervals where the remainder is known")
    coverage: float = Field(description="Share of intervals where the remainder is known (0-1)")


class SiteBalanceOut(BaseModel):
    site_id: int
    start: str
    end: str
    interval: str = Field(
        description="The interval the identity was solved on: 15m, 1h or 1d (days of the "
        "site's time zone, from local midnight to local midnight: 23 h or 25 h at DST changes)"
    )
    connection_points: int = Field(description="Prosumers plus the rest of the site")
    coverage: float = Field(
        description="Share of intervals with every term known (0-1), over the connection points "
        "with data"
    )
    point_coverage: float = Field(
        description="Share of the connection points with assets that have data in the period "
        "(0-1); the others are left out of every figure and listed in `points_without_data`"
    )
    points_without_data: list[int] = Field(
        description="Connection points with assets but no reading in the period: the prosumer's "
        "asset id, 0 for the rest of the site"
    )
    flagged_intervals: int
    self_consumption: float | None = Field(description="1 - export / generation (0-1)")
    self_sufficiency: float | None = Field(description="1 - import / consumption (0-1)")
    totals: BalanceTotals
    sources: dict[str, TermSources]
    sub_meters: list[SubMeterRemainder] = Field(
        description="The unmetered remainder of every parent meter of the site"
    )
    intervals: list[BalanceInterval]
