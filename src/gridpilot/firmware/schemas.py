"""Request and response bodies of firmware images and roll-outs (docs/firmware.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gridpilot.assets.schemas import DbId, Kind, Name
from gridpilot.core.bodies import Strict

Version = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z][0-9A-Za-z._+-]*$")
]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256, 64 hex digits")]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]


class ImageCreate(Strict):
    version: Version
    kinds: list[Kind] = Field(min_length=1, max_length=20, description="Asset kinds it fits")
    models: list[ModelName] = Field(
        default_factory=list, max_length=100, description="Device models it fits; empty: all"
    )
    sha256: Sha256
    url: str | None = Field(default=None, max_length=2000, description="Where devices fetch it")
    notes: str | None = Field(default=None, max_length=2000)


class ImageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: str
    kinds: list[str]
    models: list[str]
    sha256: str
    url: str | None
    notes: str | None
    created_by: str | None
    created_at: datetime


class RolloutCreate(Strict):
    """Targets: ``asset_ids`` or a device ``group_id`` (its members now), not both."""

    name: Name
    image_id: DbId
    asset_ids: list[DbId] | None = Field(
        default=None,
        min_length=1,
        max_length=5_000,
        description="At most 5,000 (a JSON body holds 10,000 values)",
    )
    group_id: DbId | None = None
    canary_pct: float = Field(default=10.0, gt=0, le=100, description="Canary wave [% of devices]")
    wave_size: int = Field(default=50, ge=1, le=10_000, description="Devices per later wave")
    max_failure_pct: float = Field(
        default=20.0, ge=0, le=100, description="A wave failing above this [%] pauses the roll-out"
    )

    @model_validator(mode="after")
    def _one_target(self) -> RolloutCreate:
        if (self.asset_ids is None) == (self.group_id is None):
            raise ValueError("give asset_ids or group_id (one of them)")
        return self


class DeviceReport(Strict):
    """A device's progress: ``version`` is the version it runs after installing."""

    state: Literal["downloading", "installed", "failed"]
    version: Version | None = None
    error: str | None = Field(default=None, max_length=500)


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    asset_id: int
    site_id: int
    wave: int
    state: str
    reported_version: str | None
    error: str | None
    updated_at: datetime


class WaveOut(BaseModel):
    wave: int
    devices: int
    states: dict[str, int]
    failure_pct: float


class RolloutOut(BaseModel):
    id: int
    name: str
    image_id: int
    version: str
    state: Literal["running", "paused", "completed", "cancelled"]
    canary_pct: float
    wave_size: int
    max_failure_pct: float
    current_wave: int
    waves: list[WaveOut]
    group_id: int | None
    paused_reason: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
