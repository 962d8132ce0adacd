"""The WIA-ENE-004 Phase 1 JSON models, field for field as in ``seeds/wia-ene-004-phase1.md``.

camelCase on the wire. Extensions beyond the seed, all optional: ``id`` (our asset id) and
``siteId`` (the site holding the source) on the Energy Source model. Request bodies forbid
unknown fields and non-finite numbers, so a typo is a 422 and never a silently dropped value.
Bounds are checked on input; the Energy Source as answered (``*Out`` models) checks none, so a
stored source can always be listed whatever was edited since (e.g. through ``/assets``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from gridpilot.assets.schemas import (
    DbId,
    Strict,
    check_capacity,
    check_source_id,
    check_timezone,
)

SourceType = Literal["SOLAR-PV", "WIND-ON", "HYDRO", "GEO", "BIO", "TIDAL"]
SourceIdText = Annotated[str, Field(max_length=40), AfterValidator(check_source_id)]


_DATETIME = TypeAdapter(datetime)


def _date_part(value: object) -> object:
    """An ISO 8601 date-time (the seed's ``installDate`` type) gives the date it names, in its
    own offset (``2021-06-15T23:30:00-05:00`` -> 2021-06-15); a plain date passes."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and len(value.strip()) > 10:
        try:
            return _DATETIME.validate_python(value.strip()).date()
        except ValidationError:
            raise ValueError(
                "installDate must be an ISO 8601 date (2021-06-15) or date-time "
                "(2021-06-15T08:00:00Z)"
            ) from None
    return value


InstallDate = Annotated[
    date,
    BeforeValidator(_date_part),
    Field(description="ISO 8601 date or date-time; the date part is kept"),
]


class WiaModel(Strict):
    """Request models: unknown fields, NaN/Infinity and NUL characters are refused (422)."""


# --- Energy Source model -----------------------------------------------------------------------


class RatedCapacity(WiaModel):
    """At most ``assets.schemas.MAX_CAPACITY_KW`` (1e9 kW), in whichever unit."""

    value: float = Field(ge=0)
    unit: Literal["kW", "MW", "GW"]

    @model_validator(mode="after")
    def _within_bound(self) -> RatedCapacity:
        check_capacity(self.value, self.unit)
        return self


class Location(WiaModel):
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    elevation: float | None = Field(default=None, ge=-500, le=9000, description="metres")
    timezone: Annotated[str, Field(max_length=64), AfterValidator(check_timezone)] | None = Field(
        default=None, description="IANA name; default UTC"
    )


class SourceMetadata(WiaModel):
    manufacturer: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    serialNumber: str | None = Field(default=None, max_length=200)
    certifications: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100
    )


class EnergySourceIn(WiaModel):
    """Body of ``POST /sources`` and ``PUT /sources/{id}`` (PUT replaces the whole source)."""

    sourceId: SourceIdText = Field(description="TYPE-XXX-NNNNN, e.g. SOLAR-PV-ITA-00001")
    sourceType: SourceType
    name: str = Field(min_length=1, max_length=150, pattern=r"\S")
    ratedCapacity: RatedCapacity
    location: Location | None = None
    installDate: InstallDate | None = None
    operator: str | None = Field(default=None, max_length=200)
    metadata: SourceMetadata | None = None
    siteId: DbId | None = Field(
        default=None,
        description="Extension: an existing site to hold the source. Default: a site of its own, "
        "made from location",
    )


class RatedCapacityOut(BaseModel):
    value: float
    unit: Literal["kW", "MW", "GW"]


class LocationOut(BaseModel):
    latitude: float | None = None
    longitude: float | None = None
    elevation: float | None = Field(default=None, description="metres")
    timezone: str | None = Field(default=None, description="IANA name")


class SourceMetadataOut(BaseModel):
    manufacturer: str | None
    model: str | None
    serialNumber: str | None
    certifications: list[str]


class EnergySource(BaseModel):
    """The seed's Energy Source model as answered, plus the extensions ``id`` and ``siteId``."""

    sourceId: str
    sourceType: SourceType
    name: str
    ratedCapacity: RatedCapacityOut | None
    location: LocationOut
    installDate: date | None
    operator: str | None
    metadata: SourceMetadataOut
    id: int
    siteId: int


# --- Production Data model ---------------------------------------------------------------------


class Instantaneous(WiaModel):
    value: float
    unit: str = Field(default="kW", max_length=10, description="W, kW, MW or GW")


class Cumulative(WiaModel):
    today: float | None = Field(default=None, description="Derived; recomputed on read")
    thisMonth: float | None = Field(default=None, description="Derived; recomputed on read")
    lifetime: float | None = Field(default=None, description="Stored as the energy_kwh register")
    unit: str = Field(default="kWh", max_length=10, description="Wh, kWh, MWh or GWh")


class Production(WiaModel):
    instantaneous: Instantaneous | None = None
    cumulative: Cumulative | None = None


class Efficiency(WiaModel):
    current: float | None = Field(default=None, description="percent")
    average24h: float | None = Field(default=None, description="percent; recomputed on read")


class EnvironmentalConditions(WiaModel):
    temperature: float | None = Field(default=None, description="degrees Celsius")
    humidity: float | None = Field(default=None, description="percent")
    windSpeed: float | None = Field(default=None, description="m/s")
    solarIrradiance: float | None = Field(default=None, description="W/m2")


class ProductionData(WiaModel):
    """One Production Data object (the seed's model)."""

    timestamp: datetime | int = Field(description="ISO-8601 (naive = UTC) or epoch ms")
    sourceId: str = Field(max_length=40)
    production: Production | None = None
    efficiency: Efficiency | None = None
    environmentalConditions: EnvironmentalConditions | None = None


#: Figures of a production object recomputed from the stored readings when it is read (the values
#: a device sends in them are not stored).
RECOMPUTED_FIELDS = (
    "production.cumulative.today",
    "production.cumulative.thisMonth",
    "efficiency.average24h",
)


#: Where an answered production object comes from: raw readings or a rollup level.
Resolution = Literal["raw", "1m", "15m", "1h", "1d"]


class ProductionDataOut(ProductionData):
    """A Production Data object as answered, with two extensions saying what it is made of."""

    resolution: Resolution = Field(
        description="raw: stored readings at this time; otherwise the rollup bucket of that step "
        "starting at this time (raw readings past retention): values are the bucket's averages, "
        "cumulative.lifetime its last register value"
    )
    recomputed: list[str] = Field(
        description="Figures recomputed on read from the stored readings (device-sent values of "
        "these fields are not kept)"
    )


class ProductionRejection(BaseModel):
    index: int = Field(description="Position of the production object in the request")
    field: str = Field(description="Which value of the object, e.g. production.instantaneous")
    reason: str


class ProductionResult(BaseModel):
    stored: int = Field(description="Readings stored (one production object gives up to 7)")
    rejected: list[ProductionRejection]


class SourceStatus(BaseModel):
    sourceId: str
    status: Literal["online", "offline", "unknown"]
    lastSeen: datetime | None = Field(description="Newest reading of any metric (UTC)")
    expectedIntervalSeconds: float
    staleAfterSeconds: float = Field(description="Offline when no reading for this long")
    checkedAt: datetime
    statusReason: Literal["lwt", "stale", "data", "birth", "stopped", "error"] | None = Field(
        default=None,
        description=(
            "Why: MQTT Last Will, no data for too long, fresh data, birth message, its "
            "source stopped on purpose (the simulator), or the device reported an error"
        ),
    )
    statusChangedAt: datetime | None = Field(
        default=None, description="When the status last changed (UTC)"
    )


class Alert(BaseModel):
    """An active (or acknowledged, not yet resolved) alert of a source, camelCase like the seed.

    The seed names the endpoint but no alert model; these fields mirror gridpilot's alerts
    (``GET /api/v1/alerts/{id}`` has the full record).
    """

    alertId: str
    sourceId: str
    severity: Literal["info", "warning", "critical"]
    state: Literal["active", "acknowledged"]
    type: str = Field(description="Rule kind: threshold, rate_of_change, stale, anomaly, ...")
    title: str
    message: str
    metric: str | None
    value: float | None
    raisedAt: datetime
    acknowledgedAt: datetime | None
    acknowledgedBy: str | None
    ruleId: int | None
