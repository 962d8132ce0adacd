"""Bodies of parameters, zonal prices, settlements and the ledger (money: Decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Amount = Annotated[Decimal, Field(ge=0, le=10**6, max_digits=16, decimal_places=6)]
Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(9999, 1, 1))]


class TipBandIn(BaseModel):
    """Plants up to ``max_power_kw`` (null: no limit) get base + the price term, capped."""

    model_config = ConfigDict(extra="forbid")
    max_power_kw: Amount | None
    base_eur_per_mwh: Amount
    cap_eur_per_mwh: Amount


class ParameterIn(BaseModel):
    """A new version of an incentive parameter, valid on ``valid_from <= day < valid_to``."""

    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=60)] = Field(
        description="tip_bands, tip_reference_price_eur_per_mwh, pv_bonus_north_eur_per_mwh, "
        "pv_bonus_centre_eur_per_mwh, grant_share_max, grant_reduction_max, excess_threshold, "
        "excess_threshold_with_grant, arera_valorisation_eur_per_mwh"
    )
    value: Amount | Annotated[list[TipBandIn], Field(min_length=1, max_length=10)]
    valid_from: Day
    valid_to: Day | None = None
    note: Annotated[str, Field(max_length=500)] | None = None


class ParameterOut(BaseModel):
    name: str
    value: Any = Field(description="Decimal text, or the TIP bands")
    valid_from: date
    valid_to: date | None
    recorded_at: datetime
    built_in: bool = Field(description="One of the decree's values (DM 414/2023)")
    note: str | None = None


class ZonalPricesIn(BaseModel):
    """GME hourly zonal prices as CSV text (``Data;Ora;NORD;CNOR;...``, decimal comma)."""

    model_config = ConfigDict(extra="forbid")
    csv: Annotated[str, Field(min_length=1, max_length=150_000)] = Field(
        description="Up to 150,000 characters (about three months of all zones) per import"
    )


class ZonalPricesStored(BaseModel):
    zones: list[str]
    hours: int = Field(description="Hours stored (replacing earlier prices of those hours)")
    first_hour: datetime
    last_hour: datetime


class SettlementRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: Annotated[int, Field(ge=2024, le=2100, strict=True)]
    month: Annotated[int, Field(ge=1, le=12, strict=True)]


class MemberPart(BaseModel):
    member_id: int
    consumption_kwh: float = Field(description="Share of the shared energy as a consumer")
    produced_shared_kwh: float = Field(description="Shared energy allocated to its plants")
    producer_eur: Decimal
    consumer_eur: Decimal
    excess_eur: Decimal
    total_eur: Decimal


class PlantPart(BaseModel):
    pod_code: str
    member_id: int
    substation: str
    injected_kwh: float
    shared_kwh: float
    incentive_eur: Decimal
    excess_eur: Decimal
    ordinary_eur: Decimal


class SubstationPart(BaseModel):
    substation: str
    shared_kwh: float
    coverage: float
    missing_hours: int


class SettlementOut(BaseModel):
    """A month's settlement. Members and viewers see the totals and their own lines."""

    id: int | None = Field(
        description="The stored settlement's id; null in a preview of a month never run"
    )
    community_id: int
    year: int
    month: int
    status: str = Field(description="draft (re-run recomputes it) or closed (immutable)")
    computed_at: datetime
    closed_at: datetime | None
    parameters_as_of: datetime = Field(description="Parameters as recorded up to this moment")
    parameters: dict[str, Any]
    statute: dict[str, Any]
    incentive_eur: Decimal
    valorisation_eur: Decimal
    gse_estimate_eur: Decimal = Field(description="incentive + ARERA valorisation")
    fees_eur: dict[str, Decimal]
    fees_unpaid_eur: dict[str, Decimal]
    reserve_eur: Decimal
    social_fund_eur: Decimal
    substations: list[SubstationPart]
    plants: list[PlantPart]
    members: list[MemberPart]


class TransactionOut(BaseModel):
    """The seed's economic transaction (append-only ledger line)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    community_id: int
    settlement_id: int | None
    member_id: int | None
    plant_id: int | None
    transaction_type: str = Field(description="BENEFIT_DISTRIBUTION, GSE_PAYMENT or FEE")
    amount_eur: Decimal
    currency: str
    description: str | None
    period_start: date | None
    period_end: date | None
    status: str = Field(description="PENDING, PROCESSED or FAILED")
    payment_method: str | None = None
    payment_reference: str | None = None
    created_at: datetime
    processed_at: datetime | None


class GseStatementIn(BaseModel):
    """The GSE's statement as CSV text: a month column (``mese``: YYYY-MM, MM/YYYY or YYYYMM)
    and an amount column (``importo``, decimal comma or point)."""

    model_config = ConfigDict(extra="forbid")
    csv: Annotated[str, Field(min_length=1, max_length=150_000)]


class MonthReconciliation(BaseModel):
    month: str = Field(description="YYYY-MM")
    estimated_eur: Decimal | None = Field(description="The settlement's GSE estimate")
    settlement_status: str | None = Field(description="draft or closed; null: no settlement")
    paid_eur: Decimal | None = Field(description="What the GSE statement says was paid")
    difference_eur: Decimal | None = Field(description="paid - estimated")
    difference_pct: Decimal | None = Field(description="Of the estimate, to 0.01 %")


class AdjustmentIn(BaseModel):
    """A manual ledger line (``POST /api/economic/transactions``): an ``ADJUSTMENT`` appended to
    the ledger; existing lines, and the closed months they come from, never change. The other
    types are written only by closing a settlement."""

    model_config = ConfigDict(extra="forbid")
    community_id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    transaction_type: Literal["ADJUSTMENT"] = "ADJUSTMENT"
    member_id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        default=None, description="The member concerned; null for a community line"
    )
    amount_eur: Annotated[Decimal, Field(ge=-(10**9), le=10**9, max_digits=12, decimal_places=2)]
    description: Annotated[str, Field(min_length=1, max_length=500)]
    period_start: Day | None = None
    period_end: Day | None = None

    @model_validator(mode="after")
    def _period(self) -> AdjustmentIn:
        if (self.period_start is None) != (self.period_end is None):
            raise ValueError("give both period_start and period_end, or neither")
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class DistributeIn(SettlementRun):
    """The month to settle and close (``POST /api/economic/distribute``)."""

    community_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


class StatementLinks(BaseModel):
    """A member's statement of a settled month, as links (``GET /api/economic/reports``)."""

    member_id: int
    member_name: str
    total_eur: Decimal
    csv_url: str
    pdf_url: str


class Report(BaseModel):
    settlement_id: int
    year: int
    month: int
    status: str
    statements: list[StatementLinks]
