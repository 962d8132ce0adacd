"""Request and response bodies of ``/api/v1/openadr`` (VEN connections, fleet VENs, VTN events).

Times are ISO-8601 (UTC without offset) or epoch ms in requests, ISO-8601 UTC in answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, model_validator

from gridpilot.assets.schemas import Strict
from gridpilot.core.timestamps import MAX_MS, to_ms
from gridpilot.dr.schemas import Method

Id = Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]
Name = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$")
]
Path = Annotated[str, Field(min_length=1, max_length=1000)]
Fingerprint = Annotated[
    str,
    Field(
        pattern=r"^([0-9A-F]{2}:){9}[0-9A-F]{2}$",
        description="OpenADR fingerprint: last 10 bytes of the "
        "certificate's SHA-256, 'AA:BB:...' (10 pairs)",
    ),
]
Policy = Literal["always_in", "always_out", "flexibility"]
Pct = Annotated[float, Field(gt=0, le=100, strict=False)]


class VenBase(Strict):
    vtn_url: AnyHttpUrl = Field(
        description="The VTN's base URL, e.g. https://vtn.example/OpenADR2/Simple/2.0b"
    )
    ven_name: Name
    ven_id: Name | None = Field(default=None, description="Your VEN id if the VTN gave you one")
    cert_path: Path | None = Field(default=None, description="PEM certificate (signing and TLS)")
    key_path: Path | None = Field(default=None, description="PEM private key of cert_path")
    ca_file: Path | None = Field(
        default=None, description="PEM CA bundle the VTN's TLS certificate is checked against"
    )
    vtn_fingerprint: Fingerprint | None = Field(
        default=None, description="Check the VTN's message signatures against this fingerprint"
    )
    check_hostname: bool = True
    site_ids: list[Id] = Field(min_length=1, max_length=1000)
    opt_policy: Policy = "always_in"
    level_pct: Pct = Field(default=10.0, description="Target [% of baseline] per SIMPLE level")
    price_pct: Pct = Field(default=10.0, description="Target [% of baseline] of a price signal")
    baseline_method: Method = "caiso_10in10"
    report_interval_s: int = Field(
        default=900, ge=10, le=86_400, description="TELEMETRY_USAGE sampling [s]"
    )
    enabled: bool = True

    @model_validator(mode="after")
    def _pair(self) -> VenBase:
        if len(str(self.vtn_url)) > 500:
            raise ValueError("vtn_url is longer than 500 characters")
        if (self.cert_path is None) != (self.key_path is None):
            raise ValueError("cert_path and key_path go together")
        if self.cert_path is not None and self.ca_file is None:
            raise ValueError("with a certificate the VTN is reached over TLS: ca_file is needed")
        return self


class VenCreate(VenBase):
    """A VTN connection."""

    name: Name


class VenOut(BaseModel):
    id: int
    name: str
    vtn_url: str
    ven_name: str
    ven_id: str | None
    registration_id: str | None
    cert_path: str | None
    key_path: str | None
    ca_file: str | None
    vtn_fingerprint: str | None
    check_hostname: bool
    site_ids: list[int]
    opt_policy: str
    level_pct: float
    price_pct: float
    baseline_method: str
    report_interval_s: int
    enabled: bool
    last_poll_ms: int | None
    last_error: str | None


class ReceivedOut(BaseModel):
    """An OpenADR event received on a connection, with the DR events it made."""

    event_id: str
    modification_number: int
    event_status: str
    signal_name: str
    signal_type: str
    intervals: list[dict[str, float]]
    start: datetime
    end: datetime
    opt_type: str
    dr_event_ids: dict[str, int]
    errors: dict[str, str]


class PeerCreate(Strict):
    """A VEN of the fleet that may register with gridpilot's VTN."""

    ven_name: Name
    ven_id: Name
    fingerprint: Fingerprint | None = Field(
        default=None, description="Required when the VTN runs TLS"
    )
    site_ids: list[Id] = Field(min_length=1, max_length=1000)
    enabled: bool = True


class PeerOut(BaseModel):
    id: int
    ven_name: str
    ven_id: str
    fingerprint: str | None
    site_ids: list[int]
    enabled: bool
    registration_id: str | None


class VtnEventCreate(Strict):
    """An event for a group of sites, sent to every enabled VEN serving one of them."""

    site_ids: list[Id] = Field(min_length=1, max_length=1000)
    start: datetime | int
    end: datetime | int
    signal: Literal["level", "price", "kw_target"] = "level"
    value: float = Field(ge=0, le=1e6, description="Level 0-3, price, or reduction [kW]")
    event_id: Name | None = Field(default=None, description="Default: a new id")

    @model_validator(mode="after")
    def _check(self) -> VtnEventCreate:
        start_ms, end_ms = to_ms(self.start), to_ms(self.end)
        if not (0 <= start_ms <= MAX_MS and 0 <= end_ms <= MAX_MS):
            raise ValueError("start and end must lie between 1970 and 9999")
        if end_ms - start_ms > 7 * 86_400_000:
            raise ValueError("an event lasts at most 7 days")
        if end_ms <= start_ms:
            raise ValueError("end must be after start")
        if self.signal == "level" and self.value not in (0, 1, 2, 3):
            raise ValueError("a SIMPLE level is 0, 1, 2 or 3")
        return self


class DeliveryOut(BaseModel):
    ven_id: str
    delivered: datetime | None
    opt_type: str | None
    reports: list[dict[str, float | str]]


class VtnEventOut(BaseModel):
    id: int
    event_id: str
    site_ids: list[int]
    start: datetime
    end: datetime
    signal_name: str
    signal_type: str
    signal_value: float
    status: str
    deliveries: list[DeliveryOut]
