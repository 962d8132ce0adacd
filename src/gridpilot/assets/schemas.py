"""Request and response bodies of sites, assets, metrics and device keys (snake_case JSON).

Create bodies forbid unknown fields (a typo is a 422, not a silently dropped value). Update
bodies are partial (PATCH): only the fields sent change; ``null`` clears an optional field.
Bounds are checked on input only: a response model never re-checks them, so whatever was stored
can always be answered (a rated capacity has one bound, ``MAX_CAPACITY_KW``, in any unit).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gridpilot.assets.catalogue import (
    ASSET_KINDS,
    ASSET_ROLES,
    INTERVAL_CONVENTION_KEY,
    INTERVAL_CONVENTIONS,
    METRIC_KEY_PATTERN,
    SOURCE_ID_PATTERN,
    interval_convention,
)
from gridpilot.core.bodies import Strict
from gridpilot.core.units import capacity_to_kw

#: Largest rated capacity [kW] (1 TW): the one bound of every capacity input, whatever its unit.
MAX_CAPACITY_KW = 1e9


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (``Europe/Rome``, ``UTC``), else ``ValueError``."""
    zones = _iana_zones()
    if zones and name not in zones:
        raise ValueError(f"unknown IANA time zone {name!r} (e.g. 'Europe/Rome', 'UTC')")
    try:
        ZoneInfo(name)
    except (ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError subclass
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    except KeyError:
        raise ValueError(f"unknown IANA time zone {name!r}") from None
    return name


def check_kind(kind: str) -> str:
    if kind not in ASSET_KINDS:
        raise ValueError(f"unknown asset kind {kind!r}; known kinds: {', '.join(ASSET_KINDS)}")
    return kind


def check_role(role: str) -> str:
    if role not in ASSET_ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ASSET_ROLES)}")
    return role


def check_capacity(value: float, unit: str) -> None:
    """``ValueError`` when ``value`` ``unit`` is more than ``MAX_CAPACITY_KW``."""
    if capacity_to_kw(value, unit) > MAX_CAPACITY_KW:
        raise ValueError(
            f"a rated capacity of {value:g} {unit} is over the limit of {MAX_CAPACITY_KW:g} kW"
        )


def check_source_id(source_id: str) -> str:
    if not re.fullmatch(SOURCE_ID_PATTERN, source_id):
        raise ValueError(
            f"sourceId {source_id!r} does not match TYPE-XXX-NNNNN with TYPE one of SOLAR-PV, "
            "WIND-ON, HYDRO, GEO, BIO, TIDAL (e.g. SOLAR-PV-ITA-00001)"
        )
    return source_id


#: Database ids are 32-bit: larger numbers cannot name anything (422, not a database error).
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(check_timezone)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
SiteKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Kind = Annotated[str, AfterValidator(check_kind)]
AssetRole = Annotated[str, AfterValidator(check_role)]
SourceId = Annotated[str, Field(max_length=40), AfterValidator(check_source_id)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Elevation = Annotated[float, Field(ge=-500, le=9000, description="metres above sea level")]
NonNegativeKw = Annotated[float, Field(ge=0, le=1e12, description="kW")]
RatedKw = Annotated[float, Field(ge=0, le=MAX_CAPACITY_KW, description="kW")]
#: ``catalogue.PLAUSIBILITY_MODES``: what an implausible power reading of the asset does.
PlausibilityMode = Literal["reject", "flag", "off"]
IntervalConvention = Literal["ending", "beginning"]
ShortText = Annotated[str, Field(max_length=200)]


# --- sites -------------------------------------------------------------------------------------


class SiteFields(Strict):
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    elevation_m: Elevation | None = None
    contract_demand_kw: NonNegativeKw | None = None
    tariff: dict[str, Any] | None = Field(default=None, description="Tariff definition (JSON)")
    parent_id: DbId | None = Field(default=None, description="Parent site id")
    description: str | None = Field(default=None, max_length=2000)
    country: Country | None = Field(default=None, description="ISO 3166-1 alpha-2, e.g. IT")
    kind: SiteKind | None = Field(
        default=None,
        description="What the site is, for filters: factory, building, solar_park, wind_farm, "
        "storage, community, household, ev_hub or another lowercase word",
    )


class SiteCreate(SiteFields):
    name: Name
    timezone: Timezone
    emission_factor_kg_per_kwh: float = Field(default=0.45, ge=0, le=10, description="kg CO2/kWh")


class SiteUpdate(SiteFields):
    name: Name | None = None
    timezone: Timezone | None = None
    emission_factor_kg_per_kwh: float | None = Field(default=None, ge=0, le=10)

    @model_validator(mode="after")
    def _required_not_cleared(self) -> SiteUpdate:
        for field in ("name", "timezone", "emission_factor_kg_per_kwh"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    timezone: str
    latitude: float | None
    longitude: float | None
    elevation_m: float | None
    contract_demand_kw: float | None
    emission_factor_kg_per_kwh: float
    tariff: dict[str, Any] | None
    parent_id: int | None
    description: str | None
    country: str | None
    kind: str | None
    created_at: datetime
    updated_at: datetime


# --- assets ------------------------------------------------------------------------------------


class Capacity(Strict):
    """A rated capacity in W, kW, MW or GW (stored in kW; at most ``MAX_CAPACITY_KW``)."""

    value: float = Field(ge=0)
    unit: Literal["W", "kW", "MW", "GW"]

    @model_validator(mode="after")
    def _within_bound(self) -> Capacity:
        check_capacity(self.value, self.unit)
        return self


class AssetMetadata(Strict):
    manufacturer: ShortText | None = None
    model: ShortText | None = None
    serial_number: ShortText | None = None
    certifications: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100
    )


class AssetMetadataOut(BaseModel):
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    certifications: list[str]


class AssetFields(Strict):
    rated_capacity_kw: RatedKw | None = None
    rated_capacity: Capacity | None = Field(
        default=None, description="Alternative to rated_capacity_kw: value with unit W/kW/MW/GW"
    )
    source_id: SourceId | None = Field(default=None, description="WIA sourceId TYPE-XXX-NNNNN")
    metadata: AssetMetadata | None = None
    install_date: date | None = None
    operator: ShortText | None = None
    expected_interval_s: float | None = Field(
        default=None, gt=0, le=31 * 86400, description="Expected seconds between readings"
    )
    attributes: dict[str, Any] | None = None
    interval_convention: IntervalConvention | None = Field(
        default=None,
        description="'ending' (default, the utility convention): a reading closes the interval "
        "ending at its time; 'beginning': it opens the interval starting at its time. Kept in "
        "attributes.interval_convention; KPIs (time-of-use cost, peak times) use it",
    )
    parent_asset_id: DbId | None = Field(
        default=None,
        description="The meter this asset is a sub-meter of (same site, same role): the site "
        "balance counts the parent, and the parent's energy beyond its children is unmetered",
    )
    plausibility: PlausibilityMode | None = Field(
        default=None,
        description="What a power reading above rated capacity x GRIDPILOT_PLAUSIBILITY_FACTOR, "
        "or negative on a one-way power metric, does: 'reject' (default: refused with its "
        "code), 'flag' (stored and reported as a warning) or 'off' (not checked)",
    )

    @model_validator(mode="after")
    def _one_capacity(self) -> AssetFields:
        if self.rated_capacity is not None and self.rated_capacity_kw is not None:
            raise ValueError("give rated_capacity_kw or rated_capacity, not both")
        value = (self.attributes or {}).get(INTERVAL_CONVENTION_KEY)
        if value is not None and value not in INTERVAL_CONVENTIONS:
            raise ValueError(
                f"attributes.{INTERVAL_CONVENTION_KEY} must be one of "
                f"{', '.join(INTERVAL_CONVENTIONS)}"
            )
        return self


class AssetCreate(AssetFields):
    site_id: DbId
    name: Name
    kind: Kind
    role: AssetRole | None = Field(default=None, description="Default: the kind's usual role")


class AssetUpdate(AssetFields):
    site_id: DbId | None = None
    name: Name | None = None
    kind: Kind | None = None
    role: AssetRole | None = None

    @model_validator(mode="after")
    def _required_not_cleared(self) -> AssetUpdate:
        for field in ("site_id", "name", "kind", "role", "plausibility"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class AssetOut(BaseModel):
    id: int
    site_id: int
    name: str
    kind: str
    role: str
    rated_capacity_kw: float | None
    source_id: str | None
    metadata: AssetMetadataOut
    install_date: date | None
    operator: str | None
    expected_interval_s: float | None
    attributes: dict[str, Any]
    interval_convention: str = Field(
        default="ending", description="ending (a reading closes its interval) or beginning"
    )
    parent_asset_id: int | None = None
    plausibility: str = Field(
        default="reject", description="What an implausible power reading does: reject, flag, off"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, asset: Any) -> AssetOut:
        return cls(
            id=asset.id,
            site_id=asset.site_id,
            name=asset.name,
            kind=asset.kind,
            role=asset.role,
            rated_capacity_kw=asset.rated_capacity_kw,
            source_id=asset.source_id,
            metadata=AssetMetadataOut(
                manufacturer=asset.manufacturer,
                model=asset.model,
                serial_number=asset.serial_number,
                certifications=list(asset.certifications or []),
            ),
            install_date=asset.install_date,
            operator=asset.operator,
            expected_interval_s=asset.expected_interval_s,
            attributes=dict(asset.attributes or {}),
            interval_convention=interval_convention(asset.attributes),
            parent_asset_id=asset.parent_asset_id,
            plausibility=asset.plausibility,
            created_at=asset.created_at,
            updated_at=asset.updated_at,
        )


# --- metrics -----------------------------------------------------------------------------------


class MetricCreate(Strict):
    key: str = Field(pattern=METRIC_KEY_PATTERN, description="lower_snake_case, 2-64 chars")
    unit: str = Field(min_length=1, max_length=20, description="Canonical unit, e.g. kW, degC")
    kind: Literal["instantaneous", "cumulative", "counter", "state"] = "instantaneous"
    description: str | None = Field(default=None, max_length=500)
    min_value: float | None = Field(
        default=None, strict=True, description="Plausible minimum (a number, never a boolean)"
    )
    max_value: float | None = Field(
        default=None, strict=True, description="Plausible maximum (a number, never a boolean)"
    )

    @model_validator(mode="after")
    def _range_ordered(self) -> MetricCreate:
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError("min_value must not exceed max_value")
        return self


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    unit: str
    kind: str
    description: str | None
    min_value: float | None
    max_value: float | None
    builtin: bool


# --- device keys -------------------------------------------------------------------------------


class DeviceKeyCreate(Strict):
    name: ShortText | None = Field(default=None, description="Default: 'device <asset name>'")
