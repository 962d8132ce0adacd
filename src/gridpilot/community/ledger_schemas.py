"""Bodies and answers of ledger status changes and yearly settlements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1, max_length=100)]


class StatusChangeIn(BaseModel):
    """A ledger line's next status (``PATCH /api/economic/transactions/{id}``). Allowed:
    PENDING -> PROCESSED or FAILED; FAILED -> PENDING (retry) or PROCESSED. PROCESSED is final:
    a correction is a new ADJUSTMENT line. The amount never changes."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["PENDING", "PROCESSED", "FAILED"]
    payment_method: Annotated[str, Field(min_length=1, max_length=50)] | None = Field(
        default=None, description="e.g. SEPA transfer; kept on the line when given"
    )
    payment_reference: Text | None = Field(
        default=None, description="The payment's reference (bank or GSE); kept on the line"
    )
    note: Annotated[str, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="Why (e.g. the reason of a failure); kept in the history"
    )


class TransactionEventOut(BaseModel):
    """One status change of a ledger line."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    transaction_id: int
    from_status: str
    to_status: str
    payment_method: str | None
    payment_reference: str | None
    note: str | None
    actor: str | None = Field(description="Who changed it (shown to the community's admins)")
    actor_name: str | None
    at: datetime


class YearMonth(BaseModel):
    month: int
    settlement_id: int
    status: str = Field(description="closed: counted in the year's totals; draft: not")
    gse_estimate_eur: Decimal


class YearMember(BaseModel):
    """A member's totals over the year's closed months."""

    member_id: int
    member_name: str
    months: int = Field(description="Closed months with a line of this member")
    consumption_kwh: float
    produced_shared_kwh: float
    producer_eur: Decimal
    consumer_eur: Decimal
    excess_eur: Decimal
    total_eur: Decimal


class YearOut(BaseModel):
    """A community's year: sums of its closed monthly settlements, as stored (a closed month is
    never recomputed). Drafts are listed but not counted."""

    community_id: int
    year: int
    complete: bool = Field(description="All twelve months closed")
    closed_months: list[int]
    months: list[YearMonth]
    incentive_eur: Decimal
    valorisation_eur: Decimal
    gse_estimate_eur: Decimal
    fees_eur: dict[str, Decimal]
    reserve_eur: Decimal
    social_fund_eur: Decimal
    shared_kwh: float
    members: list[YearMember]
