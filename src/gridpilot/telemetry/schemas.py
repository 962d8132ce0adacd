"""Ingest request/response shapes.

The ingest route parses raw bodies itself (orjson, no per-reading pydantic models on the hot
path); the pydantic models here document the JSON body and the answer in OpenAPI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gridpilot.telemetry.validation import Rejection


class ReadingIn(BaseModel):
    """One reading as sent by a client."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "asset": 12,
                "metric": "power_kw",
                "ts": "2026-01-01T12:00:00Z",
                "value": 1.5,
            }
        }
    )

    asset: int | str = Field(description="Asset id, or the WIA sourceId (TYPE-XXX-NNNNN).")
    metric: str = Field(description="Metric key from the catalogue, e.g. power_kw, energy_kwh.")
    ts: str | int = Field(
        description="ISO-8601 timestamp (UTC when no offset is given) or epoch milliseconds."
    )
    value: float = Field(description="Finite number, in `unit` (default: the metric's unit).")
    unit: str | None = Field(
        default=None,
        description="Unit of `value` (e.g. W, kW, MW, Wh, kWh, MWh); converted to the "
        "metric's canonical unit. Default: the metric's unit.",
    )


class TelemetryBatch(BaseModel):
    """``{"readings": [...]}``; a bare JSON array of readings is accepted too."""

    readings: list[ReadingIn]


class RejectionOut(BaseModel):
    index: int = Field(description="0-based position of the reading in the batch.")
    reason: str
    code: str | None = Field(
        default=None,
        description="Stable code of the plausibility checks against the asset (over_capacity, "
        "negative_power); absent for the other reasons.",
    )


class IngestResponse(BaseModel):
    stored: int = Field(description="Readings accepted and durably stored (duplicates included).")
    rejected: list[RejectionOut] = Field(description="Every reading that was not stored, and why.")
    warnings: list[RejectionOut] = Field(
        default_factory=list,
        description="Stored readings that failed a plausibility check of an asset in mode "
        "'flag' (with its code); absent when there are none.",
    )


def _entry(r: Rejection) -> dict[str, Any]:
    if r.code is None:
        return {"index": r.index, "reason": r.reason}
    return {"index": r.index, "reason": r.reason, "code": r.code}


@dataclass(slots=True)
class IngestResult:
    """Outcome of one ingest call: readings stored, rejected, and stored but flagged."""

    stored: int
    rejected: list[Rejection] = field(default_factory=list)
    flagged: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "stored": self.stored,
            "rejected": [_entry(r) for r in self.rejected],
        }
        if self.flagged:
            answer["warnings"] = [_entry(r) for r in self.flagged]
        return answer


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined (for ``openapi_extra`` bodies)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
