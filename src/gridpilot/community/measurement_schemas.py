"""Bodies of a plant's measurements and energy forecasts (the seed's ``/api/plants/{id}/
measurements``, ``/api/energy/measurements``, ``/api/energy/predictions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MetricKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


class MeasurementIn(BaseModel):
    """One measurement of a plant's meter: a timestamp and a value per catalogue metric."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "timestamp": "2026-11-10T10:00:00Z",
                "measurements": {"energy_kwh": 1520.5, "power_kw": 3.1, "voltage_v": 230.5},
            }
        },
    )
    timestamp: (
        Annotated[str, Field(min_length=1, max_length=40)]
        | Annotated[int, Field(ge=0, le=253_402_300_799_999)]
    ) = Field(description="ISO-8601 (UTC when no offset) or epoch milliseconds")
    measurements: Annotated[
        dict[MetricKey, Annotated[float, Field(allow_inf_nan=False)]],
        Field(min_length=1, max_length=50),
    ] = Field(description="Catalogue metric key -> value in the metric's unit")


class PlantMeasurementIn(MeasurementIn):
    """As ``MeasurementIn``, naming the plant (``POST /api/energy/measurements``)."""

    plant_id: Annotated[int, Field(ge=1, le=2**31 - 1)]


class MeasurementOut(BaseModel):
    timestamp: datetime
    metric: str
    value: float | int | None
    unit: str


class Rejected(BaseModel):
    metric: str
    reason: str


class MeasurementStored(BaseModel):
    """Readings stored; ``rejected`` lists the metrics refused (the others are stored)."""

    plant_id: int
    stored: int
    rejected: list[Rejected]
