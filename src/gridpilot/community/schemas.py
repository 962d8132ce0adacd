"""Request and response bodies of the community domain, and the CER seed's envelope.

Money, power and percentages are ``Decimal`` (JSON strings out; numbers or strings in).
Create bodies forbid unknown fields. The seed's paths answer ``Envelope``:
``{success, data, meta: {page, per_page, total}, errors}``; errors keep gridpilot's error body.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from gridpilot.analytics.community.allocation import RULES
from gridpilot.analytics.community.zonal_prices import ZONES

T = TypeVar("T")

#: The 404 of routes naming their community in the query (``community=``), in gridpilot's
#: error body (``Error``, a component of every OpenAPI document of the API).
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such community, or not one the caller may see.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
}

UserType = Literal["PRIVATE", "BUSINESS", "ADMIN"]
Category = Literal["public_body", "third_sector", "religious", "sme", "none"]
MembershipRole = Literal["ADMIN", "MEMBER", "VIEWER"]
PlantType = Literal["CONSUMER", "PRODUCER", "PROSUMER"]
MarketZone = Literal["NORD", "CNOR", "CSUD", "SUD", "CALA", "SICI", "SARD"]
AllocationRuleName = Literal["commissioning_date", "pro_rata_injection"]
assert set(MarketZone.__args__) == set(ZONES)  # type: ignore[attr-defined]
assert set(AllocationRuleName.__args__) == set(RULES)  # type: ignore[attr-defined]

#: Italian POD: "IT", the distributor's 3 digits, "E", 8 digits, optionally one check character
#: (ARERA; e.g. IT001E12345678). Spaces are dropped and letters upper-cased before the check.
POD_PATTERN = re.compile(r"IT\d{3}E\d{8}[A-Z0-9]?")


def normalise_pod(code: str) -> str:
    """The POD code without spaces, upper case; ``ValueError`` if it is not a POD code."""
    cleaned = re.sub(r"\s+", "", code).upper()
    if not POD_PATTERN.fullmatch(cleaned):
        raise ValueError(
            f"{code!r} is not a POD code: IT + 3 digits + E + 8 digits (e.g. IT001E12345678)"
        )
    return cleaned


PodCode = Annotated[str, Field(min_length=1, max_length=30), AfterValidator(normalise_pod)]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Pct = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]
Money = Annotated[Decimal, Field(ge=0, le=10**9, max_digits=12, decimal_places=2)]
Substation = Annotated[str, Field(min_length=1, max_length=100)]
Day = Annotated[date, Field(ge=date(1970, 1, 1), le=date(9999, 1, 1))]
Id = Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]  # "1" is not an id


class Meta(BaseModel):
    page: int = Field(description="Page number, from 1")
    per_page: int = Field(description="Items per page")
    total: int = Field(description="Items in all pages")


class Envelope(BaseModel, Generic[T]):
    """The CER seed's answer: ``data`` and, for lists, ``meta``; ``errors`` empty on success."""

    success: bool = True
    data: T
    meta: Meta | None = None
    errors: list[str] = Field(default_factory=list)


class DistributionRule(BaseModel):
    """The statute's distribution (``analytics.community.distribution.Statute``): fixed fees
    [EUR per month], then ``reserve_share`` of the rest, ``producer_share`` of what is left to
    plant owners by their allocated shared energy, the rest by ``consumer_key`` (memberships'
    ``share_pct`` for ``share_pct``); the excess part to non-business members unless
    ``excess_to_social_fund``."""

    model_config = ConfigDict(extra="forbid")
    fees_eur: dict[Annotated[str, Field(min_length=1, max_length=60)], Money] = Field(
        default_factory=dict, max_length=20
    )
    reserve_share: Share = Decimal(0)
    producer_share: Share = Decimal(0)
    consumer_key: Literal["consumption", "equal", "share_pct"] = "consumption"
    excess_to_social_fund: StrictBool = False


class CommunityIn(BaseModel):
    """A CER configuration (create or full update)."""

    model_config = ConfigDict(extra="forbid")
    name: Name
    code: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: Annotated[str, Field(max_length=2000)] | None = None
    primary_substations: list[Substation] = Field(
        min_length=1, max_length=50, description="Codes of the primary substations (cabine)"
    )
    market_zone: MarketZone = Field(description="GME market zone of the PODs")
    region: Annotated[str, Field(min_length=1, max_length=60)] = Field(
        description="Italian region (sets the PV bonus area: north, centre, other)"
    )
    distribution: DistributionRule = Field(default_factory=DistributionRule)
    allocation_rule: AllocationRuleName = "commissioning_date"
    is_active: StrictBool = True


class CommunityOut(BaseModel):
    id: int
    name: str
    code: str
    description: str | None
    primary_substations: list[str]
    market_zone: str
    region: str
    distribution: dict[str, Any]
    allocation_rule: str
    is_active: bool
    members_count: int = Field(description="Active memberships")
    plants_count: int
    total_power_kw: Decimal = Field(description="Sum of the plants' nominal power [kW]")
    my_role: str | None = Field(description="Your membership role; null for administrators")
    created_at: datetime


class MemberIn(BaseModel):
    """Add a member to a community: an existing member by ``member_id``, or a new one."""

    model_config = ConfigDict(extra="forbid")
    member_id: Id | None = Field(default=None, description="An existing member")
    name: Name | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    user_type: UserType = "PRIVATE"
    category: Category = "none"
    user_id: Id | None = Field(default=None, description="The gridpilot user acting as member")
    role: MembershipRole = "MEMBER"
    share_pct: Pct | None = None
    joined_on: Day | None = Field(default=None, description="Default: today")


class MemberOut(BaseModel):
    member_id: int
    name: str
    email: str | None
    user_type: str
    category: str
    user_id: int | None
    role: str
    share_pct: Decimal | None
    joined_on: date
    left_on: date | None


class PlantIn(BaseModel):
    """A point of delivery and its plant (the seed's ``core_plant``)."""

    model_config = ConfigDict(extra="forbid")
    community_id: Id
    member_id: Id = Field(description="The member holding the POD (owner)")
    name: Name
    pod_code: PodCode
    plant_type: PlantType
    nominal_power_kw: Annotated[Decimal, Field(ge=0, le=10**6, max_digits=12, decimal_places=3)]
    connection_voltage: Annotated[str, Field(max_length=50)] | None = None
    commissioning_date: Day | None = None
    technology: Literal["pv", "wind", "hydro", "bio", "other"] | None = None
    capital_grant_pct: Annotated[Decimal, Field(ge=0, le=40, max_digits=5, decimal_places=2)] = (
        Field(default=Decimal(0), description="Capital grant, % of the investment (0-40)")
    )
    primary_substation: Substation
    eligible: StrictBool = True
    incentivised: StrictBool = True
    site_id: Id = Field(description="The gridpilot site metering this POD (one POD per site)")
    asset_id: Id | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    province: Annotated[str, Field(max_length=10)] | None = None
    zip_code: Annotated[str, Field(max_length=10)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90, strict=True)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180, strict=True)] | None = None


class PlantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    community_id: int
    member_id: int
    name: str
    pod_code: str
    plant_type: str
    nominal_power_kw: Decimal
    connection_voltage: str | None
    commissioning_date: date | None
    technology: str | None
    capital_grant_pct: Decimal
    primary_substation: str
    eligible: bool
    incentivised: bool
    site_id: int | None
    asset_id: int | None
    address: str | None
    city: str | None
    province: str | None
    zip_code: str | None
    latitude: float | None
    longitude: float | None


class SharedHour(BaseModel):
    hour: datetime = Field(description="Start of the hour, UTC")
    injected_kwh: float | None = Field(description="Sum over the substation's eligible PODs")
    withdrawn_kwh: float | None
    shared_kwh: float | None = Field(description="min(injected, withdrawn); null: missing hour")


class SubstationEnergy(BaseModel):
    substation: str
    pods: int = Field(description="Eligible PODs under the substation")
    injected_kwh: float = Field(description="Over the complete hours")
    withdrawn_kwh: float = Field(description="Over the complete hours")
    shared_kwh: float = Field(description="Sum of the hourly shared energy (complete hours)")
    coverage: float = Field(description="Complete hours / hours in the period (0-1)")
    missing_hours: list[datetime] = Field(description="Hours without complete data, UTC")
    hours: list[SharedHour]


class Aggregation(BaseModel):
    """Hourly shared energy per primary substation (never from coarser totals)."""

    community_id: int
    start: datetime
    end: datetime
    interval: Literal["1h"] = "1h"
    substations: list[SubstationEnergy]
