"""Response models of the fleet summary: kW now, kWh today (the site's local day), shares 0-1,
contract utilisation in percent (as ``/sites/{id}/current``), times ISO-8601."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class PowerNow(BaseModel):
    """The current balance [kW]; None where unknown (no fresh reading and not derivable)."""

    import_kw: float | None
    export_kw: float | None
    generation_kw: float | None
    consumption_kw: float | None
    charge_kw: float | None
    discharge_kw: float | None


class SiteNow(PowerNow):
    timestamp: str | None = Field(description="Newest fresh power reading of the site")
    contract_utilization_pct: float | None = Field(
        description="Grid import / contract demand x 100 (None without a contract or import)"
    )
    flagged: bool = Field(description="The site's meters contradict the balance identity")


class EnergyToday(BaseModel):
    """Energy since local midnight [kWh]; null for a term known in no interval so far (no
    data today: unknown, not 0). Totals sum the sites where the term is known."""

    import_kwh: float | None
    export_kwh: float | None
    generation_kwh: float | None
    consumption_kwh: float | None
    charge_kwh: float | None
    discharge_kwh: float | None


class GridRevenueOut(BaseModel):
    """What exported energy earned: export kWh x the tariff's export price per interval,
    rounded half up to the cent once (docs/kpis.md)."""

    amount: Decimal = Field(description='Decimal string in `currency`, e.g. "1.40"')
    currency: str | None = Field(description="ISO 4217; None when the sites mix currencies")
    export_kwh: Decimal = Field(description="Energy exported with a known value [kWh]")
    unpriced_kwh: Decimal = Field(description="Exported when no export price applied [kWh]")
    priced: bool = Field(description="False: no export price agreed (the amount is 0)")
    notes: list[str]


class SiteToday(EnergyToday):
    start: str = Field(description="The site's local midnight, with its UTC offset")
    coverage: float = Field(description="Share of the day's intervals with every term known")
    flagged_intervals: int
    self_consumption: float | None
    self_sufficiency: float | None
    grid_revenue: GridRevenueOut


class StatusCounts(BaseModel):
    online: int = 0
    offline: int = 0
    unknown: int = 0


class AlertCounts(BaseModel):
    open: int = Field(0, description="Active or acknowledged")
    critical: int = Field(0, description="Open and critical")


class FleetSite(BaseModel):
    id: int
    name: str
    timezone: str
    latitude: float | None
    longitude: float | None
    parent_id: int | None
    country: str | None
    kind: str | None
    contract_demand_kw: float | None
    assets: int
    installed_generation_kw: float = Field(description="Rated kW of producers and prosumers")
    now: SiteNow
    today: SiteToday
    status: StatusCounts
    alerts: AlertCounts


class FleetTotals(BaseModel):
    """Sums over every matching site (not only the page)."""

    sites: int
    assets: int
    installed_generation_kw: float
    now: PowerNow = Field(description="Sums over the sites where the term is known")
    sites_reporting: int = Field(description="Sites with a fresh power reading")
    today: EnergyToday
    grid_revenue_today: GridRevenueOut = Field(description="Summed over the sites")
    self_sufficiency: float | None
    self_consumption: float | None
    status: StatusCounts
    alerts: AlertCounts


class FleetSummaryOut(BaseModel):
    generated_at: str
    total: int = Field(description="Sites matching the filter")
    limit: int
    offset: int
    totals: FleetTotals
    sites: list[FleetSite]
