"""HTTP routes that read telemetry: series, latest values, energy."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
