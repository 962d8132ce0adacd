"""HTTP routes of the wia domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
