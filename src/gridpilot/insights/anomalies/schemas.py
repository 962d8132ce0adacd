"""Response bodies of the anomaly endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AnomalyOut(BaseModel):
    id: int
    asset_id: int
    site_id: int
    metric: str
    ts: str
    method: str
    score: float
    severity: str
    detail: dict[str, Any]


class ScanOut(BaseModel):
    asset_id: int
    start: str
    end: str
    step_s: int
    found: int
    stored: list[AnomalyOut]
    skipped: dict[str, str]
